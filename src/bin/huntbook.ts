/** Entry point: `bin/huntbook.js` loads this through tsx. */
import { run } from '../cli/main.ts';
import { interruptRequested, requestInterrupt } from '../interrupt.ts';
import { markStdoutClosed } from '../cli/io.ts';

export async function main(argv: string[]): Promise<number> {
  // A reader that stops early (`huntbook sql ... | head -1`) closes the pipe: the command goes on
  // to its end (a half-done ingest would be worse than output nobody reads) and writes no more.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      if (stream === process.stdout) markStdoutClosed();
      stream.write = (() => true) as typeof stream.write;
    });
  }
  // First Ctrl-C (or SIGTERM, SIGHUP: timeout, a closed terminal): stop cleanly (roll back,
  // remove temporary files) and exit 128 + the signal; a second Ctrl-C: stop now.
  const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (interruptRequested()) process.exit(SIGNAL_EXIT[signal] ?? 129);
      process.stderr.write(
        `\nhuntbook: stopping${signal === 'SIGINT' ? '' : ` (${signal})`}; rolling back what is half-done${signal === 'SIGINT' ? ' (Ctrl-C again to quit at once)' : ''}\n`,
      );
      requestInterrupt(signal);
    });
  }
  return run(argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
}
