/**
 * `rules run --logs clickhouse://…`: the same detections, row for row, as the rules run over the
 * workspace's own tables, for SigmaHQ's rules over real Windows events (OTRF) and the shipped
 * native packs over CERT-layout activity; on Debian's 18.16 server (the CLI) and on chdb.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runnerWriter, useServers } from './clickhouse-servers.ts';
import { cli, openWorkspace, testData } from './helpers.ts';
import { ingest } from '../src/ingest/ingest.ts';
import { shipTo } from '../src/store/clickhouse-ship.ts';
import { clickhouseTables } from '../src/store/clickhouse-ddl.ts';
import { clickhouseFor } from '../src/store/dialect-clickhouse.ts';
import { clickhouseLogs } from '../src/store/logs.ts';
import { loadRuleSources } from '../src/rules/catalog.ts';
import { runRules } from '../src/rules/engine.ts';
import { landRuleCandidates } from '../src/rules/pushdown.ts';
import { Workspace } from '../src/store/workspace.ts';

const { servers, missing } = useServers();

const WINDOWS = testData('windows', 'otrf-atomic');
const SIGMA = testData('sigma', 'sigma-rules.tar.gz');
const CERT = testData('cert-layout', 'r4.2');

/**
 * Every detection as text, in one order. Times to the second: 18.16 keeps DateTime in whole
 * seconds, so an event's time in ClickHouse has lost its fraction. The record key (file:rec) is
 * compared where the same rows carry the same keys: between workspaces, two loads of one CSV
 * number its rows in the order DuckDB's parallel reader met them, so those are compared by content.
 */
async function detections(ws: Workspace, keys: 'with keys' | 'by content'): Promise<string[]> {
  const rows = await ws.query(
    `SELECT strftime(date_trunc('second', ts), '%Y-%m-%d %H:%M:%S') AS ts, rule_id, phase, weight, entity_type, entity, source_table,
            ${keys === 'with keys' ? 'event_ref' : 'NULL'} AS event_ref, CAST(details AS VARCHAR) AS details
       FROM detections ${keys === 'with keys' ? "WHERE source_table = 'events'" : ''} ORDER BY ALL`,
  );
  return rows.map((r) => JSON.stringify(r));
}

test('rules run --logs on clickhouse-server 18.16: SigmaHQ over OTRF Windows events and the native packs over CERT activity give the detections the workspace gives, row for row', async (t) => {
  const server = servers.find((s) => s.http);
  if (!server) return t.skip(missing.join('; ') || 'needs clickhouse-server');
  const work = mkdtempSync(join(tmpdir(), 'huntbook-chr-cli-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const logs = `clickhouse://default@${server.http}/hb_rules`;
  assert.equal((await cli('clickhouse', 'init', '--logs', logs)).code, 0);
  const [db, plain] = [join(work, 'case.duckdb'), join(work, 'plain.duckdb')];
  for (const path of [WINDOWS, CERT]) {
    assert.equal((await cli('ingest', path, '--db', db, '--logs', logs, '-q')).code, 0);
    assert.equal((await cli('ingest', path, '--db', plain, '-q')).code, 0);
  }
  const run = async (...args: string[]) => {
    const result = await cli('rules', 'run', ...args);
    assert.equal(result.code, 0, result.stderr);
    return result;
  };
  await run('--sigma', SIGMA, '--db', plain, '-q');
  await run('--db', plain, '-q');
  const sigma = await run('--sigma', SIGMA, '--db', db, '--logs', logs);
  assert.match(
    sigma.stderr,
    /ClickHouse 18\.16\.1 at clickhouse:\/\/default@127\.0\.0\.1:\d+\/hb_rules: [\d,]+ rows of the tables the rules read; [\d,]+ came back/,
  );
  const scanned = Number(/: ([\d,]+) rows of the tables/.exec(sigma.stderr)?.[1].replaceAll(',', ''));
  const returned = Number(/; ([\d,]+) came back/.exec(sigma.stderr)?.[1].replaceAll(',', ''));
  assert.ok(returned < scanned / 10, `only the rows some rule matched come back: ${returned} of ${scanned}`);
  assert.doesNotMatch(sigma.stderr, /no ClickHouse rendering/, 'every rule the workspace runs, ClickHouse filters for');
  await run('--db', db, '--logs', logs, '-q');
  const [pushed, local] = [await Workspace.open(db, { readOnly: true }), await Workspace.open(plain, { readOnly: true })];
  try {
    const [there, here] = [await detections(pushed, 'by content'), await detections(local, 'by content')];
    assert.ok(here.length > 500, `${here.length} detections on the workspace`);
    assert.ok(
      here.some((d) => d.includes('"activity"')),
      'native rules found CERT activity',
    );
    assert.deepEqual(there, here, 'the same detections, row for row');
    // NDJSON events keep their order, so their record keys are the same in both: each detection names the same event.
    assert.deepEqual(await detections(pushed, 'with keys'), await detections(local, 'with keys'));
    assert.equal(Number(await pushed.scalar('SELECT count(*) FROM events')), 0, 'no event row stayed in the workspace');
  } finally {
    pushed.close();
    local.close();
  }
  assert.doesNotMatch(sigma.stderr, /not read with --logs/);
  // A workspace holding rows of its own is told they are not read when the rules run on ClickHouse.
  const mixed = await run('--sigma', SIGMA, '--db', plain, '--logs', logs);
  assert.match(mixed.stderr, /note: the workspace itself holds \d+ http rows, \d+ events rows, .*not read with --logs/);
});

test('rules run with the logs in chdb (ClickHouse 26): the same Sigma detections as the workspace', async (t) => {
  const server = servers.find((s) => !s.http);
  if (!server) return t.skip(missing.join('; ') || 'needs chdb');
  t.diagnostic(`tested on ${server.name} ${server.version}`);
  const database = 'hb_rules_chdb';
  for (const statement of clickhouseTables({ database })) await server.run(statement);
  const writer = runnerWriter(server, database);
  const [pushed, local] = [await openWorkspace(t), await openWorkspace(t)];
  await ingest(pushed, [WINDOWS], { destination: shipTo(writer) });
  await ingest(local, [WINDOWS]);
  const { rules } = await loadRuleSources([], [SIGMA]);
  await runRules(local, rules);
  const store = clickhouseLogs(clickhouseFor(database), server.run, 'chdb');
  const candidates = await landRuleCandidates(pushed, rules, store);
  try {
    assert.deepEqual(candidates.skipped, []);
    await runRules(pushed, candidates.rules, { lanes: 1 });
  } finally {
    await candidates.release();
  }
  const here = await detections(local, 'with keys');
  assert.ok(here.length > 500);
  assert.deepEqual(await detections(pushed, 'with keys'), here);
});
