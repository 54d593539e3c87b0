/** Buffered line output for the generator: large synchronous writes, rows sorted by time per day. */
import { closeSync, openSync, writeSync } from 'node:fs';

export class LineSink {
  private readonly fd: number;
  private buffer: string[] = [];
  private size = 0;
  rows = 0;

  constructor(
    readonly path: string,
    header?: string,
  ) {
    this.fd = openSync(path, 'w');
    if (header !== undefined) this.write(header);
  }

  write(line: string): void {
    this.buffer.push(line);
    this.size += line.length + 1;
    if (this.size > 1 << 22) this.flush();
  }

  flush(): void {
    if (this.buffer.length === 0) return;
    writeSync(this.fd, `${this.buffer.join('\n')}\n`);
    this.buffer = [];
    this.size = 0;
  }

  close(footer?: string): void {
    if (footer !== undefined) this.write(footer);
    this.flush();
    closeSync(this.fd);
  }
}

/** Rows of one day, written in time order (logs are time-ordered; generation is per entity). */
export class DayBuffer {
  private times: number[] = [];
  private lines: string[] = [];

  add(ts: number, line: string): void {
    this.times.push(ts);
    this.lines.push(line);
  }

  drainTo(sink: LineSink): void {
    const order = Array.from(this.times.keys()).sort((a, b) => this.times[a] - this.times[b] || a - b);
    for (const i of order) sink.write(this.lines[i]);
    sink.rows += order.length;
    this.times = [];
    this.lines = [];
  }
}
