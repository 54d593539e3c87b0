/**
 * Physical lines of a delimited file, where DuckDB's CSV reader only knows records: a quoted
 * value may span lines, so its "line" is a record number. These quote-aware byte scans run only
 * when a file needs them (it has rejects, or a bare carriage return), never on the clean path.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

function open(path: string, gzip: boolean): AsyncIterable<Buffer> {
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  return (gzip ? raw.pipe(createGunzip()) : raw) as AsyncIterable<Buffer>;
}

/**
 * Record line (as DuckDB numbers them: the header is 1, each record one more, however many lines
 * it spans) → the physical line the record starts on.
 */
export async function physicalLines(path: string, gzip: boolean, recordLines: readonly number[]): Promise<Map<number, number>> {
  const wanted = new Set(recordLines);
  const found = new Map<number, number>();
  if (wanted.size === 0) return found;
  let last = 0;
  for (const line of wanted) if (line > last) last = line;
  let physical = 1;
  let record = 1;
  let quoted = false;
  if (wanted.has(1)) found.set(1, 1);
  for await (const chunk of open(path, gzip)) {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === QUOTE)
        quoted = !quoted; // "" inside a quoted value toggles twice
      else if (byte === LF) {
        physical++;
        if (!quoted) {
          record++;
          if (wanted.has(record)) found.set(record, physical);
          if (record > last) return found;
        }
      }
    }
  }
  return found;
}

export interface BareCrRepair {
  /** Records refused, by the physical line they start on: a carriage return outside quotes and not before a newline. */
  dropped: { line: number; text: string }[];
  /** Record line of the repaired copy (DuckDB's numbering, index = line − 1) → physical line of the original. */
  lineMap: Uint32Array;
}

/**
 * DuckDB's reader takes a bare CR for a line end and then fails the whole file (or, lenient, cuts
 * the record in two). Lines holding one outside quotes are left out of a copy that DuckDB reads
 * instead, and refused with their line: the rest of the file loads.
 */
export async function repairBareCr(path: string, gzip: boolean, out: string): Promise<BareCrRepair> {
  const writer = createWriteStream(out);
  const dropped: { line: number; text: string }[] = [];
  const kept: number[] = [];
  let line: Buffer[] = [];
  let physical = 1;
  let recordStart = 1;
  let quoted = false;
  let bare = false;
  let pendingCr = false;
  const flush = async (withNewline: boolean) => {
    const text = Buffer.concat(line);
    if (bare) dropped.push({ line: recordStart, text: text.toString('utf8').slice(0, 300) });
    else {
      kept.push(recordStart);
      if (!writer.write(withNewline ? Buffer.concat([text, Buffer.from('\n')]) : text))
        await new Promise<void>((resolve) => writer.once('drain', () => resolve()));
    }
    line = [];
    bare = false;
    recordStart = physical;
  };
  for await (const chunk of open(path, gzip)) {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (pendingCr && byte !== LF && !quoted) bare = true;
      pendingCr = false;
      if (byte === QUOTE) quoted = !quoted;
      else if (byte === CR) pendingCr = true;
      else if (byte === LF) {
        physical++;
        if (!quoted) {
          line.push(chunk.subarray(start, i));
          start = i + 1;
          await flush(true);
        }
      }
    }
    line.push(chunk.subarray(start));
  }
  if (pendingCr && !quoted) bare = true;
  if (Buffer.concat(line).length > 0) await flush(false);
  writer.end();
  await finished(writer);
  return { dropped, lineMap: Uint32Array.from(kept) };
}
