import { loadConfig } from '../config.ts';
import { type AnyHunt, runHunt } from '../hunts/contract.ts';
import type { Flags } from '../model/flags.ts';
import { WORKSPACE_LOGS } from '../store/logs.ts';
import { openLogs } from './logs.ts';
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
  // A hunt over detections needs no connection: a configured logs: is not its concern.
  const logs = await openLogs(raw, hunt.readsLogs === false ? undefined : config);
  try {
    if (logs.store !== WORKSPACE_LOGS && !common.quiet) io.stderr.write(`logs: ${logs.store.where}\n`);
    const output = await withWorkspace(common.db, (ws) =>
      withProgress(title, !common.quiet, ws, async () =>
        honourTriage(ws, hunt.name, await runHunt(ws, hunt, params, logs.store), hunt.thread),
      ),
    );
    printRows(io, common.format, output.columns, output.rows);
    if (!common.quiet) for (const note of output.notes) io.stderr.write(`${note}\n`);
  } finally {
    await logs.close();
  }
}
