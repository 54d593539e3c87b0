/**
 * Real ClickHouse for the tests: Debian's clickhouse-server (18.16, the oldest server huntbook
 * supports) started in a temporary folder on a free loopback port, and chdb (ClickHouse 26.x in
 * this process). Each is used when it is installed and said to be missing otherwise (.ci/run
 * installs both: apt-get install clickhouse-server; npm install --no-save chdb).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { type ClickHouseWriter, insertFromInfile } from '../src/store/clickhouse-ship.ts';
import type { ClickHouseInserter } from '../src/store/logs.ts';

/** Runs one statement and returns its rows (JSONEachRow). */
export type RunOnClickHouse = (statement: string) => Promise<Record<string, unknown>[]>;

export interface ClickHouseUnderTest {
  name: string;
  version: string;
  run: RunOnClickHouse;
  /** host:port of its HTTP interface, when it has one (chdb has none). */
  http?: string;
  stop: () => void;
}

function parseRows(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function hasServer(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v clickhouse-server'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const NOT_INSTALLED = 'clickhouse-server is not installed (apt-get install clickhouse-server; .ci/run does)';

/** Debian's clickhouse-server in `dir`, or why not; `extra` is more of its configuration (remote_servers). */
export async function startServer(dir: string, ports?: { http: number; tcp: number }, extra = ''): Promise<ClickHouseUnderTest | string> {
  if (!hasServer()) return NOT_INSTALLED;
  const { http, tcp } = ports ?? { http: await freePort(), tcp: await freePort() };
  for (const sub of ['data', 'tmp', 'log', 'user_files', 'format_schemas']) mkdirSync(join(dir, sub), { recursive: true });
  const config = join(dir, 'config.xml');
  writeFileSync(
    config,
    `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/log/server.log</log><errorlog>${dir}/log/error.log</errorlog><console>0</console></logger>
  <http_port>${http}</http_port><tcp_port>${tcp}</tcp_port><listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path><tmp_path>${dir}/tmp/</tmp_path><user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>/etc/clickhouse-server/users.xml</users_config>
  <default_profile>default</default_profile><default_database>default</default_database>
  <mark_cache_size>5368709</mark_cache_size>${extra}
</yandex>
`,
  );
  const child: ChildProcess = spawn('clickhouse-server', [`--config-file=${config}`], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${http}/`;
  const run: RunOnClickHouse = async (statement) => {
    // Only a query answers in rows (an INSERT's data follows its own FORMAT).
    const body = /^\s*(SELECT|WITH)\b/i.test(statement) ? `${statement} FORMAT JSONEachRow` : statement;
    const response = await fetch(url, { method: 'POST', body });
    const text = await response.text();
    if (!response.ok) throw new Error(text.trim());
    return parseRows(text);
  };
  for (let i = 0; i < 100; i++) {
    try {
      const [row] = await run('SELECT version() AS v');
      return { name: 'clickhouse-server', version: String(row.v), run, http: `127.0.0.1:${http}`, stop: () => child.kill('SIGTERM') };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  child.kill('SIGKILL');
  return `clickhouse-server did not answer on ${url} within 20 s (see ${dir}/log)`;
}

/** chdb in this process, or why not. */
export async function startChdb(): Promise<ClickHouseUnderTest | string> {
  let chdb: { query: (q: string, format: string) => string };
  try {
    chdb = (await import('chdb' as string)) as typeof chdb;
  } catch {
    return "chdb is not installed (npm install --no-save chdb; .ci/run does; about 0.5 GB, so not in a newcomer's npm install)";
  }
  const run: RunOnClickHouse = async (statement) => parseRows(chdb.query(statement, 'JSONEachRow'));
  const [row] = await run('SELECT version() AS v');
  return { name: 'chdb', version: String(row.v), run, stop: () => undefined };
}

/** The cluster the two-shard tests name in huntbook's --cluster. */
export const CLUSTER = 'hb_two_shards';

/**
 * Two clickhouse-server instances on loopback, each its own ports and folder, both knowing the
 * same two-shard cluster (remote_servers, one replica per shard), or why not. No ZooKeeper:
 * tables are made on each server (huntbook clickhouse init --cluster … --each-server).
 */
export async function startCluster(dir: string): Promise<ClickHouseUnderTest[] | string> {
  if (!hasServer()) return NOT_INSTALLED;
  const ports = [
    { http: await freePort(), tcp: await freePort() },
    { http: await freePort(), tcp: await freePort() },
  ];
  const shards = ports.map((p) => `<shard><replica><host>127.0.0.1</host><port>${p.tcp}</port></replica></shard>`).join('');
  const extra = `\n  <remote_servers><${CLUSTER}>${shards}</${CLUSTER}></remote_servers>`;
  const started: ClickHouseUnderTest[] = [];
  for (const [i, p] of ports.entries()) {
    const shardDir = join(dir, `shard${i + 1}`);
    mkdirSync(shardDir, { recursive: true });
    const server = await startServer(shardDir, p, extra);
    if (typeof server === 'string') {
      for (const s of started) s.stop();
      return server;
    }
    started.push({ ...server, name: `shard ${i + 1}` });
  }
  return started;
}

/**
 * The servers of a test file: Debian's server (started in a temporary folder) and chdb, each when
 * installed; `each(t)` says in the test's output which were tested and why any was not, and
 * skips the test when none is there.
 */
export function useServers(): {
  servers: ClickHouseUnderTest[];
  missing: string[];
  each: (t: { skip: (message: string) => void; diagnostic: (message: string) => void }) => ClickHouseUnderTest[];
} {
  const servers: ClickHouseUnderTest[] = [];
  const missing: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'huntbook-ch-'));
  before(async () => {
    for (const started of [await startServer(dir), await startChdb()]) {
      if (typeof started === 'string') missing.push(started);
      else servers.push(started);
    }
  });
  after(() => {
    for (const s of servers) s.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const each = (t: { skip: (message: string) => void; diagnostic: (message: string) => void }) => {
    for (const why of missing) t.diagnostic(`not tested: ${why}`);
    for (const s of servers) t.diagnostic(`tested on ${s.name} ${s.version}`);
    if (servers.length === 0) t.skip(missing.join('; '));
    return servers;
  };
  return { servers, missing, each };
}

/**
 * ingest's writer over a server's plain runner (chdb has no HTTP, so not the client's): the
 * server gets the file's text after its statement (18.16 reads CSV and JSON only), chdb reads
 * the file itself, as Parquet (as the client sends Parquet to servers from 23.3).
 */
export function runnerWriter(server: ClickHouseUnderTest, database: string): ClickHouseWriter {
  const insert: ClickHouseInserter = server.http
    ? async (into, format, file) => void (await server.run(`INSERT INTO ${into} FORMAT ${format}\n${readFileSync(file, 'utf8')}`))
    : insertFromInfile(server.run);
  return {
    key: `${server.name}/${database}`,
    database,
    where: server.name,
    run: server.run,
    exec: async (statement) => void (await server.run(statement)),
    insert,
    parquet: !server.http,
  };
}
