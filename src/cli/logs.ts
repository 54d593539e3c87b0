/**
 * --logs (over the configuration's `logs:`): where a command's log rows are. Nothing named: the
 * workspace. A ClickHouse named: it is reached (and its version checked) before the workspace
 * opens, so an unreachable server leaves nothing half-done; the client is loaded only then.
 */
import type { Config } from '../config.ts';
import type { RowDestination } from '../ingest/ingest.ts';
import { type Flags, text } from '../model/flags.ts';
import type { ClickHouseConnection } from '../store/clickhouse-client.ts';
import { parseLogsUrl } from '../store/logs-url.ts';
import { type LogStore, WORKSPACE_LOGS } from '../store/logs.ts';
import type { Workspace } from '../store/workspace.ts';

/** Where ingest sends rows, and which files a stopped ingest left half-sent there (finished first). */
export interface LogsDestination extends RowDestination {
  unfinished(ws: Workspace): Promise<number[]>;
}

export interface OpenLogs {
  store: LogStore;
  /** For ingest: none when the workspace keeps the rows. */
  destination?: LogsDestination;
  close: () => Promise<void>;
}

export async function openLogs(raw: Flags, config: Pick<Config, 'logs'> | undefined): Promise<OpenLogs> {
  const url = text(raw, 'logs') ?? config?.logs;
  if (url === undefined) return { store: WORKSPACE_LOGS, close: async () => undefined };
  const target = parseLogsUrl(url);
  const { clickhouseStore, connectClickHouse, writerOf } = await import('../store/clickhouse-client.ts');
  const { shipTo } = await import('../store/clickhouse-ship.ts');
  const connection: ClickHouseConnection = await connectClickHouse(target);
  const store = clickhouseStore(connection);
  const destination: LogsDestination = shipTo(writerOf(connection));
  return { store, destination, close: () => connection.close() };
}
