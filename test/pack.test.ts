import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, tempDir } from './helpers.ts';

// What `npm pack` ships must be enough to run: installed from the tarball into an empty folder
// (no repository beside it), `huntbook demo` must load its defaults, rules and run every hunt.
test('npm pack ships everything a run needs: the tarball installed into an empty folder runs huntbook demo', { timeout: 300_000 }, (t) => {
  const dir = tempDir(t);
  const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  npm(['pack', '--pack-destination', dir, '--silent'], ROOT);
  const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack wrote no tarball');
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'pack-check', private: true }));
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', join(dir, tarball)], app);
  const installed = join(app, 'node_modules', 'huntbook');
  for (const needed of [
    'config/huntbook.yml',
    'rules/insider.yml',
    'bin/huntbook.js',
    'dist/bin/huntbook.js',
    'dist/workbench/web/app.js',
    'dist/.built',
  ])
    assert.ok(existsSync(join(installed, needed)), `${needed} not in the package`);
  assert.ok(!existsSync(join(installed, 'test')), 'tests and their data are not shipped');
  const out = execFileSync(
    join(app, 'node_modules', '.bin', 'huntbook'),
    ['demo', '--dir', 'demo', '--users', '10', '--days', '2', '--quiet'],
    { cwd: app, encoding: 'utf8' },
  );
  assert.match(out, /== 2\. ingest/);
  assert.match(out, /outlier cluster/);
  assert.match(out, /Next, try:\n.*hunt beacons --db demo\/demo\.duckdb/);
  assert.ok(existsSync(join(app, 'demo', 'demo.duckdb')));
});
