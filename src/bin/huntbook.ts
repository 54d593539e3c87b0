/** Entry point: `bin/huntbook.js` loads this through tsx. */
import { run } from '../cli/main.ts';

export async function main(argv: string[]): Promise<number> {
  return run(argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
}
