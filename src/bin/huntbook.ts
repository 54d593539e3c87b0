/** Entry point: `bin/huntbook.js` loads this through tsx. */
import { run } from '../cli/main.ts';
import { interruptRequested, requestInterrupt } from '../interrupt.ts';

export async function main(argv: string[]): Promise<number> {
  // A reader that stops early (`huntbook sql ... | head -1`) closes the pipe: end quietly.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
  // First Ctrl-C: stop cleanly (roll back, remove temporary files); second: stop now.
  process.on('SIGINT', () => {
    if (interruptRequested()) process.exit(130);
    process.stderr.write('\nhuntbook: stopping; rolling back what is half-done (Ctrl-C again to quit at once)\n');
    requestInterrupt();
  });
  return run(argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
}
