/**
 * bench/startup: what a hunter waits for before any work starts. Wall time of whole processes,
 * against Node starting and exiting (`node -e 0`) in the same run:
 *   - `huntbook --version` from the build (dist/) and through tsx (the sources);
 *   - `huntbook rules run --sigma <all SigmaHQ>` on one 437-event OTRF capture, cold (no cached
 *     rule plans) and warm (median of the next runs).
 *
 *   npm run bench:startup -- [runs=5]
 *
 * Needs ../shared/data (SigmaHQ rules, OTRF captures) and a current build (`npm run build`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const runs = Number(process.argv[2] ?? 5);
const root = resolve(import.meta.dirname, '..');
const data = resolve(root, '..', 'shared', 'data');
const sigma = join(data, 'sigma', 'sigma-rules.tar.gz');
const capture = join(data, 'windows', 'otrf-atomic', 'windows', 'privilege_escalation', 'host', 'cmd_service_mod_fax.zip');
const dir = join(root, '.bench', 'startup');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const db = join(dir, 'w.duckdb');
const cache = join(dir, 'cache');

function wall(args: string[], env: NodeJS.ProcessEnv = {}): number {
  const started = performance.now();
  const out = spawnSync(process.execPath, args, { cwd: root, env: { ...process.env, HUNTBOOK_CACHE: cache, ...env }, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`${args.join(' ')} failed (${out.status}): ${out.stderr}`);
  return (performance.now() - started) / 1000;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const times = (n: number, f: () => number) => Array.from({ length: n }, f);
const r = (x: number) => Math.round(x * 1000) / 1000;

if (!existsSync(join(root, 'dist', '.built'))) throw new Error('no build: run npm run build first');
const bin = join(root, 'bin', 'huntbook.js');
const node = median(times(runs, () => wall(['-e', '0'])));
const version = median(times(runs, () => wall([bin, '--version'])));
const versionTsx = median(times(Math.min(runs, 3), () => wall(['--import', 'tsx', join(root, 'src', 'bin', 'huntbook.ts'), '--version'])));
wall([bin, 'ingest', capture, '--db', db, '--quiet']);
const rules = [bin, 'rules', 'run', '--sigma', sigma, '--db', db, '--quiet'];
const cold = wall(rules);
const warm = median(times(runs, () => wall(rules)));
console.log(`node -e 0            ${r(node)} s`);
console.log(`--version (build)    ${r(version)} s   (${r(version / node)}× node)`);
console.log(`--version (tsx)      ${r(versionTsx)} s`);
console.log(`rules run, cold      ${r(cold)} s`);
console.log(`rules run, warm      ${r(warm)} s   (${r(warm / node)}× node)`);
console.log(
  JSON.stringify({
    bench: 'startup',
    node_s: r(node),
    version_s: r(version),
    version_tsx_s: r(versionTsx),
    rules_cold_s: r(cold),
    rules_warm_s: r(warm),
  }),
);
