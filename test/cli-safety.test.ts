import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, ROOT, tempDir } from './helpers.ts';

test('demo never deletes what it did not write, and checks every option before touching the disk', async (t) => {
  const dir = tempDir(t);
  const mine = join(dir, 'my-case');
  mkdirSync(mine);
  writeFileSync(join(mine, 'notes.txt'), 'three weeks of work');
  const refused = await cli('demo', '--dir', mine, '--users', '10', '--days', '1', '--quiet');
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /already holds files that huntbook demo did not write/);
  assert.equal(readFileSync(join(mine, 'notes.txt'), 'utf8'), 'three weeks of work');

  const fresh = join(dir, 'fresh');
  const badUsers = await cli('demo', '--dir', fresh, '--users', '5');
  assert.equal(badUsers.code, 2);
  assert.match(badUsers.stderr, /--users must be a whole number from 10/);
  assert.equal(existsSync(fresh), false, 'a refused option leaves the disk alone');

  // A folder an earlier demo wrote is reused: its own outputs replaced, anything else kept.
  assert.equal((await cli('demo', '--dir', fresh, '--users', '10', '--days', '1', '--quiet')).code, 0);
  writeFileSync(join(fresh, 'keep.txt'), 'mine');
  const again = await cli('demo', '--dir', fresh, '--users', '10', '--days', '1', '--quiet');
  assert.equal(again.code, 0, again.stderr);
  assert.equal(readFileSync(join(fresh, 'keep.txt'), 'utf8'), 'mine');
});

test('a closed pipe ends quietly: huntbook sql ... | head -1', (t) => {
  const db = join(tempDir(t), 'w.duckdb');
  const bin = join(ROOT, 'bin', 'huntbook.js');
  assert.equal(spawnSync(bin, ['sql', 'CREATE TABLE n AS SELECT range AS i FROM range(200000)', '--db', db, '--write']).status, 0);
  const piped = spawnSync('sh', ['-c', `"${bin}" sql "SELECT * FROM n" --db "${db}" --format csv | head -1`], { encoding: 'utf8' });
  assert.equal(piped.stdout, 'i\n');
  assert.equal(piped.stderr, '', 'no EPIPE stack trace');
});
