/** `huntbook clickhouse init`: the canonical tables in a ClickHouse database (or cluster). */
import type { Command } from 'commander';
import { type Flags, text } from '../model/flags.ts';
import { clickhouseTables } from '../store/clickhouse-ddl.ts';
import { LOG_TABLES } from '../store/schema.ts';
import { type ClickHouseConnection, ClickHouseError, connectClickHouse } from '../store/clickhouse-client.ts';
import { clickhouseLiteral } from '../store/dialect-clickhouse.ts';
import { PASSWORD_VARIABLE, parseLogsUrl } from '../store/logs-url.ts';
import { UsageError } from '../errors.ts';
import { act } from './common.ts';
import type { CommandIO } from './io.ts';

/** ON CLUSTER on a cluster without distributed DDL: say how to make the tables without it. */
function noDistributedDdl(error: Error, cluster: string | undefined, display: string): never {
  if (cluster && /DDL background thread is not initialized|zookeeper|keeper/i.test(error.message))
    throw new ClickHouseError(
      `cluster ${cluster} has no distributed DDL (ON CLUSTER needs ZooKeeper or ClickHouse Keeper): run huntbook clickhouse init --logs … --cluster ${cluster} --this-server against each of its servers (this one is ${display})`,
      { cause: error },
    );
  throw error;
}

/** The cluster must be one the server knows (remote_servers): a Distributed table over an unknown one fails only when read. */
async function checkCluster(connection: ClickHouseConnection, cluster: string): Promise<void> {
  const [row] = await connection.run(`SELECT count() AS shards FROM system.clusters WHERE cluster = ${clickhouseLiteral(cluster)}`);
  if (Number(row?.shards ?? 0) === 0)
    throw new ClickHouseError(`ClickHouse at ${connection.target.display} knows no cluster ${cluster} (its remote_servers configuration)`);
}

export function registerClickHouse(program: Command, io: CommandIO): void {
  const clickhouse = program.command('clickhouse').description('keep the logs in ClickHouse: create the canonical tables there');
  clickhouse
    .command('init')
    .description('create the canonical tables in a ClickHouse database (idempotent: what exists is left alone)')
    .requiredOption('--logs <url>', 'clickhouse://USER@HOST:8123/DATABASE (HTTP port; clickhouses:// for HTTPS)')
    .option('--cluster <name>', "a cluster of the server's remote_servers: a local table on every shard and a Distributed table over them")
    .option(
      '--this-server',
      'with --cluster: make the tables on this server only, not ON CLUSTER (a cluster without ZooKeeper or Keeper: run it against every server)',
    )
    .option('--print', 'print the statements instead of running them (nothing is connected to)')
    .addHelpText(
      'after',
      `
Each log table is a MergeTree partitioned by day and ordered by the entity its hunts group by
(flows, http, tls, dns: src_ip; events: host; activity, directory: user); with --cluster,
TABLE_local on every shard and TABLE as a Distributed table sharded by that entity, so each shard
aggregates its own entities. The people tables (interactions, profiles: notices and follower
exports) stay in the workspace. The password comes from $${PASSWORD_VARIABLE}.

Examples:
  huntbook clickhouse init --logs clickhouse://hunter@ch1:8123/logs --print
  HUNTBOOK_CLICKHOUSE_PASSWORD=... huntbook clickhouse init --logs clickhouse://hunter@ch1:8123/logs --cluster hunting
  # a cluster without ZooKeeper/Keeper: the same on each server
  huntbook clickhouse init --logs clickhouse://hunter@ch2:8123/logs --cluster hunting --this-server`,
    )
    .action(
      act(io, async (raw: Flags) => {
        const target = parseLogsUrl(String(raw.logs));
        const cluster = text(raw, 'cluster');
        if (cluster !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(cluster))
          throw new UsageError(`--cluster: "${cluster}" is not a plain name`);
        if (raw.thisServer && cluster === undefined) throw new UsageError('--this-server goes with --cluster NAME');
        const statements = clickhouseTables({ database: target.database, cluster, thisServer: Boolean(raw.thisServer) });
        if (raw.print) {
          io.stdout.write(`${statements.map((s) => `${s};`).join('\n')}\n`);
          return;
        }
        const connection = await connectClickHouse(target);
        try {
          if (cluster) await checkCluster(connection, cluster);
          for (const statement of statements)
            await connection.exec(statement).catch((error: Error) => noDistributedDdl(error, cluster, target.display));
        } finally {
          await connection.close();
        }
        if (!raw.quiet)
          io.stderr.write(
            `${LOG_TABLES.length} tables ready in ${target.display} (ClickHouse ${connection.version})${cluster ? ` on cluster ${cluster}: each a Distributed table over TABLE_local${raw.thisServer ? ' (this server only: the same on every server)' : ''}` : ''}\n`,
          );
      }),
    );
}
