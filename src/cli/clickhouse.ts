/** `huntbook clickhouse init`: the canonical tables in a ClickHouse database (or cluster). */
import type { Command } from 'commander';
import { type Flags, text } from '../model/flags.ts';
import { clickhouseTables } from '../store/clickhouse-ddl.ts';
import { connectClickHouse } from '../store/clickhouse-client.ts';
import { PASSWORD_VARIABLE, parseLogsUrl } from '../store/logs-url.ts';
import { UsageError } from '../errors.ts';
import { act } from './common.ts';
import type { CommandIO } from './io.ts';

export function registerClickHouse(program: Command, io: CommandIO): void {
  const clickhouse = program.command('clickhouse').description('keep the logs in ClickHouse: create the canonical tables there');
  clickhouse
    .command('init')
    .description('create the canonical tables in a ClickHouse database (idempotent: what exists is left alone)')
    .requiredOption('--logs <url>', 'clickhouse://USER@HOST:8123/DATABASE (HTTP port; clickhouses:// for HTTPS)')
    .option('--cluster <name>', "a cluster of the server's remote_servers: a local table on every shard and a Distributed table over them")
    .option('--print', 'print the statements instead of running them (nothing is connected to)')
    .addHelpText(
      'after',
      `
Each table is a MergeTree partitioned by day and ordered by the entity its hunts group by
(flows, http, tls, dns: src_ip; events: host; activity, interactions, directory: user); with
--cluster, TABLE_local on every shard and TABLE as a Distributed table sharded by that entity,
so each shard aggregates its own entities. The password comes from $${PASSWORD_VARIABLE}.

Examples:
  huntbook clickhouse init --logs clickhouse://hunter@ch1:8123/logs --print
  HUNTBOOK_CLICKHOUSE_PASSWORD=... huntbook clickhouse init --logs clickhouse://hunter@ch1:8123/logs --cluster hunting`,
    )
    .action(
      act(io, async (raw: Flags) => {
        const target = parseLogsUrl(String(raw.logs));
        const cluster = text(raw, 'cluster');
        if (cluster !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(cluster))
          throw new UsageError(`--cluster: "${cluster}" is not a plain name`);
        const statements = clickhouseTables({ database: target.database, cluster });
        if (raw.print) {
          io.stdout.write(`${statements.map((s) => `${s};`).join('\n')}\n`);
          return;
        }
        const connection = await connectClickHouse(target);
        try {
          for (const statement of statements) await connection.exec(statement);
        } finally {
          await connection.close();
        }
        if (!raw.quiet)
          io.stderr.write(
            `${statements.length - 1} tables ready in ${target.display} (ClickHouse ${connection.version})${cluster ? ` on cluster ${cluster}` : ''}\n`,
          );
      }),
    );
}
