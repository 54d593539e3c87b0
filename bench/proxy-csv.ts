/**
 * The peers' generated proxy CSV of `rows` rows (shared/peers/gen_proxy.py, seed 1, Debian's
 * python3), made once under .bench/beacons/ and shared by the benches that read it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function proxyCsv(rows: number, root = process.cwd()): string {
  const dir = join(root, '.bench', 'beacons');
  mkdirSync(dir, { recursive: true });
  const csv = join(dir, `proxy-${rows}.csv`);
  if (!existsSync(csv)) {
    console.log(`generating ${rows} rows with peers/gen_proxy.py ...`);
    execFileSync('/usr/bin/python3', [
      resolve(root, '..', 'shared', 'peers', 'gen_proxy.py'),
      '--rows',
      String(rows),
      '--seed',
      '1',
      '--out',
      csv,
    ]);
  }
  return csv;
}
