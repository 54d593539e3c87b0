/**
 * A two-shard cluster of Debian's clickhouse-server 18.16 (two instances on loopback, a
 * remote_servers configuration, no ZooKeeper): tables made on each server, logs ingested through
 * the Distributed tables, hunts pushed down giving what the workspace gives, each shard holding
 * and aggregating its own sources. Skipped, with the reason, when clickhouse-server is missing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CLUSTER, type ClickHouseUnderTest, startCluster } from './clickhouse-servers.ts';
import { cli, testData } from './helpers.ts';
import { generate } from '../src/generate/generate.ts';
import { FLOW } from '../src/hunts/registry.ts';
import { defaultConfig } from '../src/config.ts';
import { clickhouse, clickhouseIdent } from '../src/store/dialect-clickhouse.ts';
import { render, raw } from '../src/store/sql-template.ts';
import { Workspace } from '../src/store/workspace.ts';

const dir = mkdtempSync(join(tmpdir(), 'huntbook-cluster-'));
let shards: ClickHouseUnderTest[] = [];
let missing = '';

before(async () => {
  const started = await startCluster(dir);
  if (typeof started === 'string') missing = started;
  else shards = started;
});

after(() => {
  for (const s of shards) s.stop();
  rmSync(dir, { recursive: true, force: true });
});

const ZEEK = (name: string) => testData('zeek', 'stratosphere', '008-zeek-mixed', 'data', name);
const url = (shard: ClickHouseUnderTest, database: string) => `clickhouse://default@${shard.http}/${database}`;

async function rows(shard: ClickHouseUnderTest, query: string): Promise<Record<string, string>[]> {
  return (await shard.run(query)) as Record<string, string>[];
}

test('a two-shard cluster (18.16, no ZooKeeper): tables on each server, ingest through the Distributed tables, each shard holds and aggregates its own sources, hunts (risk, flow, scored, timing) give what the workspace gives', async (t) => {
  if (shards.length === 0) return t.skip(missing);
  t.diagnostic(`two shards of clickhouse-server ${shards[0].version} at ${shards.map((s) => s.http).join(' and ')}`);
  const work = mkdtempSync(join(tmpdir(), 'huntbook-cluster-cli-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const logs = url(shards[0], 'hb');

  // ON CLUSTER needs distributed DDL: refused in one line that says what to do instead.
  const onCluster = await cli('clickhouse', 'init', '--logs', logs, '--cluster', CLUSTER);
  assert.equal(onCluster.code, 1, onCluster.stderr);
  assert.match(
    onCluster.stderr,
    /^huntbook: cluster hb_two_shards has no distributed DDL \(ON CLUSTER needs ZooKeeper or ClickHouse Keeper\): run huntbook clickhouse init --logs … --cluster hb_two_shards --this-server against each of its servers/m,
  );
  const unknown = await cli('clickhouse', 'init', '--logs', logs, '--cluster', 'nowhere', '--this-server');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /knows no cluster nowhere \(its remote_servers configuration\)/);
  for (const shard of shards) {
    const made = await cli('clickhouse', 'init', '--logs', url(shard, 'hb'), '--cluster', CLUSTER, '--this-server');
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stderr, /7 tables ready .* on cluster hb_two_shards/);
    const engines = await rows(shard, "SELECT name, engine FROM system.tables WHERE database = 'hb' AND name IN ('flows', 'flows_local')");
    assert.deepEqual(engines.map((r) => `${r.name} ${r.engine}`).sort(), ['flows Distributed', 'flows_local MergeTree']);
  }

  // Ingest through shard 1's Distributed tables; the workspace beside it holds the same files, for comparison.
  const out = join(work, 'gen');
  generate({ seed: 5, users: 60, days: 3, out });
  const [db, plain] = [join(work, 'case.duckdb'), join(work, 'plain.duckdb')];
  const files = [ZEEK('conn.log.labeled'), join(out, 'proxy.csv')];
  const sent = await cli('ingest', ...files, '--db', db, '--logs', logs);
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal((await cli('ingest', ...files, '--db', plain, '-q')).code, 0);
  const proxyRows = Number(/proxy\.csv → http \(csv\): read (\d+)/.exec(sent.stdout)?.[1]);
  assert.ok(proxyRows > 10_000, sent.stdout);

  // Each shard holds its own sources: the rows split between them, no source address on both.
  const perShard: { flows: number; sources: Set<string> }[] = [];
  for (const shard of shards) {
    const [held] = await rows(shard, 'SELECT count() AS flows, uniqExact(src_ip) AS sources FROM hb.flows_local');
    const sources = await rows(shard, 'SELECT DISTINCT src_ip FROM hb.flows_local');
    perShard.push({ flows: Number(held.flows), sources: new Set(sources.map((r) => r.src_ip)) });
  }
  assert.equal(perShard[0].flows + perShard[1].flows, 5663, 'every conn row on exactly one shard');
  assert.ok(
    perShard.every((s) => s.flows > 0),
    `both shards hold rows: ${perShard.map((s) => s.flows).join(' + ')}`,
  );
  assert.equal([...perShard[0].sources].filter((s) => perShard[1].sources.has(s)).length, 0, 'no source on both shards');
  const [both] = await rows(shards[1], 'SELECT count() AS n FROM hb.http');
  assert.equal(Number(both.n), proxyRows, 'the Distributed table reads both shards, from either server');

  // The flow stage's per-pair GROUP BY on each shard's own rows: the shards' pairs add up to the
  // whole, and no pair comes from two shards (grouping by the sharding key keeps a pair on one).
  const pairStage = async (table: string) => {
    const stages = await FLOW.stage(FLOW.params(defaultConfig(), { ports: 'all' }), {
      ...clickhouse,
      table: () => raw(`hb.${clickhouseIdent(table)}`),
    });
    const stage = stages.find((s) => s.table === 'hb_flow_stage');
    assert.ok(stage, 'the flow hunt has a per-pair stage');
    return render(stage.sql, clickhouse).text;
  };
  const local = await pairStage('flows_local');
  const pairs = await Promise.all(shards.map((s) => rows(s, `SELECT src_ip, dest_ip, bytes_out FROM (${local})`)));
  const whole = await rows(shards[0], `SELECT count() AS n FROM (${await pairStage('flows')})`);
  assert.equal(pairs[0].length + pairs[1].length, Number(whole[0].n), 'the shards returned every pair between them');
  const keys = (list: Record<string, string>[]) => new Set(list.map((r) => `${r.src_ip}|${r.dest_ip}|${r.bytes_out}`));
  const [a, b] = [keys(pairs[0]), keys(pairs[1])];
  assert.equal([...a].filter((k) => b.has(k)).length, 0, 'no pair aggregated on two shards');
  t.diagnostic(`flow pairs per shard: ${pairs[0].length} + ${pairs[1].length}`);

  // Rules on the cluster: the rows some rule matches come back from both shards; the detections
  // and the risk hunt over them (in the workspace) are the workspace's own.
  const windows = testData('windows', 'otrf-atomic');
  assert.equal((await cli('ingest', windows, '--db', db, '--logs', logs, '-q')).code, 0);
  assert.equal((await cli('ingest', windows, '--db', plain, '-q')).code, 0);
  const heldEvents = await Promise.all(shards.map((s) => rows(s, 'SELECT count() AS n FROM hb.events_local')));
  assert.ok(
    heldEvents.every(([r]) => Number(r.n) > 0),
    `events on both shards (by host): ${heldEvents.map(([r]) => r.n).join(' + ')}`,
  );
  const sigma = testData('sigma', 'sigma-rules.tar.gz');
  const ruled = await cli('rules', 'run', '--sigma', sigma, '--db', db, '--logs', url(shards[1], 'hb'));
  assert.equal(ruled.code, 0, ruled.stderr);
  assert.equal((await cli('rules', 'run', '--sigma', sigma, '--db', plain, '-q')).code, 0);
  const detections = async (path: string) => {
    const ws = await Workspace.open(path, { readOnly: true });
    try {
      return await ws.query(
        // By content, not record key: two loads of one CSV number its rows in the order DuckDB's parallel reader met them.
        "SELECT strftime(date_trunc('second', ts), '%Y-%m-%d %H:%M:%S') AS ts, rule_id, entity_type, entity, CAST(details AS VARCHAR) AS details FROM detections ORDER BY ALL",
      );
    } finally {
      ws.close();
    }
  };
  const expected = await detections(plain);
  assert.ok(expected.length > 500, `${expected.length} detections`);
  assert.deepEqual(await detections(db), expected, 'the same detections from the cluster');

  // The hunts on the cluster give what the workspace gives, row for row.
  const hunts = [
    ['hunt', 'risk', '--format', 'json'],
    ['hunt', 'beacons', '--mode', 'flow', '--ports', 'all', '--top', '500', '--format', 'json'],
    ['hunt', 'beacons', '--mode', 'scored', '--all', '--format', 'json'],
    // timing: the generated proxy requests grouped per pair on the shard that holds their source
    ['hunt', 'beacons', '--top', '100000', '--format', 'json'],
  ];
  for (const hunt of hunts) {
    const here = await cli(...hunt, '--db', plain);
    const there = await cli(...hunt, '--db', db, ...(hunt[1] === 'risk' ? [] : ['--logs', url(shards[1], 'hb')]));
    assert.equal(there.code, 0, there.stderr);
    assert.ok(JSON.parse(here.stdout).length >= 3, `${hunt.join(' ')}: ${here.stdout.slice(0, 200)}`);
    assert.equal(there.stdout, here.stdout, `${hunt.join(' ')} on the cluster`);
  }
});
