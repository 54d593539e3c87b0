import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, ROOT, tempDir, emptyWorkspaceFile } from './helpers.ts';

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

test('a closed pipe ends quietly: huntbook sql ... | head -1', async (t) => {
  const db = await emptyWorkspaceFile(tempDir(t));
  const bin = join(ROOT, 'bin', 'huntbook.js');
  assert.equal(spawnSync(bin, ['sql', 'CREATE TABLE n AS SELECT range AS i FROM range(200000)', '--db', db, '--write']).status, 0);
  const piped = spawnSync('sh', ['-c', `"${bin}" sql "SELECT * FROM n" --db "${db}" --format csv | head -1`], { encoding: 'utf8' });
  assert.equal(piped.stdout, 'i\n');
  assert.equal(piped.stderr, '', 'no EPIPE stack trace');
});

test('a mistyped --db is an error, not a new empty workspace: only ingest and demo create one', async (t) => {
  const dir = tempDir(t);
  const typo = join(dir, 'csae.duckdb');
  for (const args of [
    ['hunt', 'beacons'],
    ['hunt', 'risk'],
    ['hunt', 'population'],
    ['sql', 'SELECT 1'],
    ['rules', 'run'],
    ['entity', 'alice'],
  ]) {
    const result = await cli(...args, '--db', typo);
    assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, /no workspace at .*csae\.duckdb; check --db/);
    assert.equal(existsSync(typo), false, `${args.join(' ')} created the file`);
  }
});

test('log text never reaches the terminal raw: escape sequences in rejected cells are shown escaped; -q keeps only failures', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'w.duckdb');
  const csv = join(dir, 'proxy.csv');
  writeFileSync(
    csv,
    `_time,src_ip,dest,bytes_out\n2024-03-04T09:00:00Z,10.0.0.1,example.com,100\n2024-03-04T09:01:00Z,10.0.0.1,example.com,100\n2024-03-04T09:02:00Z,10.0.0.1,example.com,100\n\u001b[2Jgone\u0007,10.0.0.2,example.org,200\n`,
  );
  const result = await cli('ingest', csv, '--as', 'http', '--db', db);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.doesNotMatch(result.stdout + result.stderr, /[\u0000-\u0008\u000b-\u001f]/, 'a raw control character reached the terminal');
  assert.match(result.stdout, /proxy\.csv:5 field _time: cannot read "\\x1b\[2Jgone\\x07"/);
  const quiet = await cli('ingest', csv, '--as', 'http', '--db', db, '--force', '-q');
  assert.equal(quiet.code, 0);
  assert.doesNotMatch(quiet.stdout, /proxy\.csv →/, '-q silences the per-file lines');
  assert.match(quiet.stdout, /^1 file\(s\): read 4, loaded 3, rejected 1$/m);
});

test('a command imports only its own module; the table of command modules names exactly what each registers', async () => {
  const { buildProgram, COMMAND_MODULES } = await import('../src/cli/main.ts');
  const io = { stdout: process.stdout, stderr: process.stderr, outcome: { code: 0 } };
  const names = (program: { commands: readonly { name(): string }[] }) => program.commands.map((c) => c.name());
  // Every command, in help order, when the first argument names none (help, a typo, an option).
  assert.deepEqual(
    names(await buildProgram(io, ['--help'])),
    COMMAND_MODULES.flatMap((m) => m.names),
  );
  assert.deepEqual(
    names(await buildProgram(io, ['rulez'])),
    COMMAND_MODULES.flatMap((m) => m.names),
  );
  for (const m of COMMAND_MODULES) {
    for (const name of m.names)
      assert.deepEqual(
        names(await buildProgram(io, [name, '--db', 'x.duckdb'])),
        m.names,
        `huntbook ${name} registers its module's commands only`,
      );
  }
  // A typo still gets the suggestion from the full list.
  const typo = await cli('rulez');
  assert.notEqual(typo.code, 0);
  assert.match(typo.stderr, /unknown command 'rulez'/);
});

test('every file a command writes: never the workspace, never a file huntbook did not write without --force, clear errors for a folder or a missing parent', async (t) => {
  const dir = tempDir(t);
  const db = await emptyWorkspaceFile(dir);
  const workspace = readFileSync(db);
  const outputs: [string, string][] = [
    ['report', '--out'],
    ['graph export', '--cypher'],
  ];
  for (const [command, option] of outputs) {
    const run = (...args: string[]) => cli(...command.split(' '), ...args, '--db', db);
    // The workspace itself (and its WAL) is refused, --force or not.
    for (const target of [db, `${db}.wal`]) {
      const refused = await run(option, target, '--force');
      assert.equal(refused.code, 2, `${command} ${option} ${target}: ${refused.stderr}`);
      assert.match(refused.stderr, /is the workspace \(--db .*\): choose another file \(nothing was written\)/);
    }
    assert.deepEqual(readFileSync(db), workspace, `${command} left the workspace as it was`);
    const folder = await run(option, dir);
    assert.equal(folder.code, 2);
    assert.match(folder.stderr, /is a folder: give a file name inside it/);
    const missing = await run(option, join(dir, 'no', 'such', 'out.txt'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /the folder .*no\/such does not exist/);
    // Someone else's file is kept unless --force; huntbook's own output is replaced.
    const notes = join(dir, `${command.replace(' ', '-')}-notes.txt`);
    writeFileSync(notes, 'three weeks of work');
    const foreign = await run(option, notes);
    assert.equal(foreign.code, 2);
    assert.match(foreign.stderr, /exists and huntbook did not write it: choose another name, or --force/);
    assert.equal(readFileSync(notes, 'utf8'), 'three weeks of work');
    const mine = join(dir, `${command.replace(' ', '-')}.out`);
    assert.equal((await run(option, mine)).code, 0);
    const again = await run(option, mine);
    assert.equal(again.code, 0, again.stderr);
    const forced = await run(option, notes, '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(readFileSync(notes, 'utf8'), 'three weeks of work');
  }
});

test('generate --out: logs of the same names that huntbook did not write are kept unless --force; a file is not a folder', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'case');
  mkdirSync(out);
  writeFileSync(join(out, 'proxy.csv'), 'my real proxy log');
  const refused = await cli('generate', '--out', out, '--users', '10', '--days', '1');
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /already holds proxy\.csv, which huntbook did not write/);
  assert.equal(readFileSync(join(out, 'proxy.csv'), 'utf8'), 'my real proxy log');
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  assert.match((await cli('generate', '--out', file, '--users', '10', '--days', '1')).stderr, /is a file, not a folder/);
  // Its own folder is regenerated in place.
  const own = join(dir, 'gen');
  assert.equal((await cli('generate', '--out', own, '--users', '10', '--days', '1')).code, 0);
  assert.equal((await cli('generate', '--out', own, '--users', '10', '--days', '1')).code, 0);
  assert.equal((await cli('generate', '--out', out, '--users', '10', '--days', '1', '--force')).code, 0);
});

test('small refusals are usage errors that teach: --memory-limit lots, entity "", config validate --db', async (t) => {
  const dir = tempDir(t);
  const db = await emptyWorkspaceFile(dir);
  const memory = await cli('rules', 'run', '--memory-limit', 'lots', '--db', db);
  assert.equal(memory.code, 2, memory.stderr);
  assert.match(memory.stderr, /--memory-limit takes a size like 4GB, 512MB, 1\.5GiB or a share of RAM like 80%, got "lots"/);
  assert.equal((await cli('rules', 'run', '--memory-limit', '512MB', '--db', db, '-q')).code, 0);
  const empty = await cli('entity', '', '--db', db);
  assert.equal(empty.code, 2, empty.stderr);
  assert.match(empty.stderr, /which user\? "" names none/);
  assert.ok(!/null/.test(empty.stderr), empty.stderr);
  assert.equal((await cli('config', 'validate', '--db', db)).code, 0);
});

test('--version prints the version and loads no command; --help still lists every command', async () => {
  for (const flag of ['--version', '-V']) {
    const out = await cli(flag);
    assert.equal(out.code, 0);
    assert.equal(out.stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  }
  const help = await cli('--help');
  for (const name of ['demo', 'ingest', 'hunt', 'rules', 'threads', 'serve', 'report'])
    assert.match(help.stdout, new RegExp(`^  ${name}\\b`, 'm'), name);
});
