/**
 * The log tables in ClickHouse (`huntbook clickhouse init`; the people tables stay in the workspace): MergeTree, partitioned by day,
 * ordered by the entity the hunts group by, so a pair's or a user's rows sit together; on a
 * cluster, a local table per shard and a Distributed table sharded by that entity, so each shard
 * aggregates its own entities. Every column but the ingest keys is Nullable, as in the workspace
 * (a missing field stays NULL, not '' or 0). Written for 18.16 and later: DateTime is whole seconds.
 */
import { clickhouseIdent } from './dialect-clickhouse.ts';
import { CANONICAL_COLUMNS, EXTRA_COLUMN, LOG_TABLES, type LogTable, type SqlType } from './schema.ts';

const TYPES: Record<SqlType, string> = {
  // In UTC, as the workspace keeps them: a plain DateTime is read and shown in the server's time
  // zone, so on a server set to Europe/Berlin every time moved an hour and --since cut elsewhere.
  TIMESTAMP: "DateTime('UTC')",
  VARCHAR: 'String',
  INTEGER: 'Int32',
  BIGINT: 'Int64',
  DOUBLE: 'Float64',
  BOOLEAN: 'UInt8',
  JSON: 'String',
  'VARCHAR[]': 'Array(String)',
  'BIGINT[]': 'Array(Int64)',
  'DOUBLE[]': 'Array(Float64)',
};

/** The entity each table's hunts group by: its rows are ordered, and on a cluster sharded, by it. */
export const SHARDING_KEY: Record<LogTable, string> = {
  flows: 'src_ip',
  http: 'src_ip',
  tls: 'src_ip',
  dns: 'src_ip',
  events: 'host',
  activity: 'user',
  directory: 'user',
};

export interface ClickHouseLayout {
  database: string;
  /** A cluster of remote_servers: local tables on every shard and a Distributed table over them. */
  cluster?: string;
  /**
   * Make them on the connected server only, not ON CLUSTER (which needs the cluster's distributed
   * DDL: ZooKeeper or ClickHouse Keeper); then run it against every server of the cluster.
   */
  thisServer?: boolean;
}

function columnsOf(table: LogTable): string {
  const columns = CANONICAL_COLUMNS[table].map((c) => {
    const type = TYPES[c.type];
    return `${clickhouseIdent(c.name)} ${type.startsWith('Array') ? type : `Nullable(${type})`}`;
  });
  // events and activity name their kept-fields column among their own columns (raw, details)
  const extra = CANONICAL_COLUMNS[table].some((c) => c.name === EXTRA_COLUMN[table])
    ? []
    : [`${clickhouseIdent(EXTRA_COLUMN[table])} Nullable(String)`];
  return ['`file_id` Int32', '`rec` Int64', ...columns, ...extra].join(', ');
}

/** The statements that create the database and every log table; each may run again (IF NOT EXISTS). */
export function clickhouseTables(layout: ClickHouseLayout): string[] {
  const db = clickhouseIdent(layout.database);
  const onCluster = layout.cluster && !layout.thisServer ? ` ON CLUSTER ${clickhouseIdent(layout.cluster)}` : '';
  const statements = [`CREATE DATABASE IF NOT EXISTS ${db}${onCluster}`];
  for (const table of LOG_TABLES) {
    const hasTs = CANONICAL_COLUMNS[table].some((c) => c.name === 'ts');
    const key = `ifNull(${clickhouseIdent(SHARDING_KEY[table])}, '')`;
    const partition = hasTs ? 'toYYYYMMDD(ifNull(`ts`, toDateTime(0)))' : 'tuple()';
    const order = [key, ...(hasTs ? ['ifNull(`ts`, toDateTime(0))'] : []), '`file_id`', '`rec`'].join(', ');
    const engine = `ENGINE = MergeTree() PARTITION BY ${partition} ORDER BY (${order})`;
    const name = clickhouseIdent(table);
    if (!layout.cluster) {
      statements.push(`CREATE TABLE IF NOT EXISTS ${db}.${name} (${columnsOf(table)}) ${engine}`);
      continue;
    }
    const local = clickhouseIdent(`${table}_local`);
    statements.push(`CREATE TABLE IF NOT EXISTS ${db}.${local}${onCluster} (${columnsOf(table)}) ${engine}`);
    statements.push(
      `CREATE TABLE IF NOT EXISTS ${db}.${name}${onCluster} AS ${db}.${local} ENGINE = Distributed(${clickhouseIdent(layout.cluster)}, ${db}, ${local}, cityHash64(${key}))`,
    );
  }
  return statements;
}
