/** Entry point: `bin/huntbook.js` loads this through tsx. */
import { run } from '../cli/main.ts';

export async function main(argv: string[]): Promise<number> {
  // A reader that stops early (`huntbook sql ... | head -1`) closes the pipe: end quietly.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
  return run(argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
}
