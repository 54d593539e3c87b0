import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { MIGRATIONS } from '../src/store/migrations.ts';
import { CANONICAL_COLUMNS, CANONICAL_TABLES, EXTRA_COLUMN } from '../src/store/schema.ts';
import { Workspace } from '../src/store/workspace.ts';
import { openWorkspace, tempDir } from './helpers.ts';

test('migrations create every canonical table with exactly the columns ingest writes', async (t) => {
  const ws = await openWorkspace(t);
  for (const table of CANONICAL_TABLES) {
    const rows = await ws.query(
      'SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position',
      [table],
    );
    const actual = rows.map((r) => `${r.column_name}:${r.data_type}`);
    const expected = [
      ...CANONICAL_COLUMNS[table].map((c) => `${c.name}:${c.type}`),
      'file_id:INTEGER',
      `${EXTRA_COLUMN[table]}:JSON`,
      'rec:BIGINT',
    ];
    assert.deepEqual(actual.sort(), [...new Set(expected)].sort(), `columns of ${table}`);
  }
  assert.equal(await ws.schemaVersion(), MIGRATIONS.at(-1)?.version);
});

test('reopening a workspace applies no migration twice and keeps data', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'w.duckdb');
  const first = await Workspace.open(path);
  await first.run("INSERT INTO detections VALUES (now()::TIMESTAMP, 'r1', 'rule', 'p', 5, 'user', 'alice', 'events', '1:1', NULL, NULL)");
  first.close();
  const second = await Workspace.open(path);
  t.after(() => second.close());
  assert.equal(await second.scalar('SELECT count(*) FROM schema_migrations'), MIGRATIONS.length);
  assert.equal(await second.scalar('SELECT count(*) FROM detections'), 1);
});

test('a second writer gets a clear "workspace is in use" error, not a crash', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'locked.duckdb');
  const holder = await Workspace.open(path);
  t.after(() => holder.close());
  // The lock is per process; a child process is the real second writer.
  const { spawnSync } = await import('node:child_process');
  const result = spawnSync(
    process.execPath,
    [join(import.meta.dirname, '..', 'bin', 'huntbook.js'), 'sql', 'SELECT 1', '--write', '--db', path],
    { encoding: 'utf8' },
  );
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /workspace .*locked\.duckdb is in use by another process/);
  assert.doesNotMatch(result.stderr, /at .*\.ts:\d+/, 'no stack trace without --debug');
});

test('64-bit integers beyond 2^53 stay exact as strings; timestamps keep microseconds', async (t) => {
  const ws = await openWorkspace(t);
  const [row] = await ws.query("SELECT 9007199254740993::BIGINT AS big, 42::BIGINT AS small, TIMESTAMP '2020-01-01 01:02:03.123456' AS ts");
  assert.deepEqual(row, { big: '9007199254740993', small: 42, ts: '2020-01-01 01:02:03.123456' });
});
