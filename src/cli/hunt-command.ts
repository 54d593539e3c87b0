import { loadConfig } from '../config.ts';
import { type AnyHunt, runHunt } from '../hunts/contract.ts';
import { type Flags, text } from '../model/flags.ts';
import type { ClickHouseConnection } from '../store/clickhouse-client.ts';
import { parseLogsUrl } from '../store/logs-url.ts';
import { WORKSPACE_LOGS } from '../store/logs.ts';
import { announceConfig, commonOptions, honourTriage, printRows, withProgress, withWorkspace } from './common.ts';
import type { CommandIO } from './io.ts';

/**
 * Every `hunt` subcommand: the configuration in force, the hunt's parameters read from it and
 * the flags (a bad flag stops here, before the workspace opens), where the logs are (--logs: the
 * workspace, or ClickHouse, reached before the workspace opens so a failure leaves nothing), one
 * run through runHunt(), the rows of threads discarded in triage set apart, the rows printed and
 * the notes said.
 */
export async function huntCommand(
  io: CommandIO,
  raw: Flags,
  hunt: AnyHunt,
  title: string,
  options: { config?: boolean } = {},
): Promise<void> {
  const common = commonOptions(raw as Record<string, string>);
  const config = loadConfig(typeof raw.config === 'string' ? raw.config : undefined);
  if (options.config !== false) announceConfig(io, config, common.quiet);
  const params: unknown = hunt.params(config, raw);
  // --logs over the configuration's logs: (the password is the environment's either way)
  const logsUrl = text(raw, 'logs') ?? config.logs;
  const target = logsUrl === undefined ? undefined : parseLogsUrl(logsUrl);
  let connection: ClickHouseConnection | undefined;
  try {
    let logs = WORKSPACE_LOGS;
    if (target) {
      // The client is loaded only when a ClickHouse is named: a hunt on the workspace does without it.
      const { clickhouseStore, connectClickHouse } = await import('../store/clickhouse-client.ts');
      connection = await connectClickHouse(target);
      logs = clickhouseStore(connection);
    }
    if (connection && !common.quiet) io.stderr.write(`logs: ${logs.where}\n`);
    const output = await withWorkspace(common.db, (ws) =>
      withProgress(title, !common.quiet, ws, async () => honourTriage(ws, hunt.name, await runHunt(ws, hunt, params, logs), hunt.thread)),
    );
    printRows(io, common.format, output.columns, output.rows);
    if (!common.quiet) for (const note of output.notes) io.stderr.write(`${note}\n`);
  } finally {
    await connection?.close();
  }
}
