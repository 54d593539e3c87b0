/**
 * Reaching ClickHouse (the address: logs-url.ts), through the official @clickhouse/client; every
 * failure becomes one line that says what to do, whatever the server's age (18.16 gives its
 * errors as text only). Loaded only when a command names a ClickHouse.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { finished, pipeline } from 'node:stream/promises';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { HuntbookError } from '../errors.ts';
import { type ClickHouseTarget, PASSWORD_VARIABLE } from './logs-url.ts';
import { clickhouseFor, clickhouseLiteral } from './dialect-clickhouse.ts';
import { type ClickHouseWriter, hiddenFiles } from './clickhouse-ship.ts';
import { type ClickHouseDownload, type ClickHouseInserter, type ClickHouseRunner, clickhouseLogs, type LogStore } from './logs.ts';

/** The oldest server the stages are written for. */
const OLDEST = [18, 16];
/**
 * The oldest server ingest sends Parquet to (an LTS; Parquet input is older, but its reading of
 * DuckDB's files is tested on 26 through chdb only): older ones get CSV.
 */
const PARQUET = [23, 3];
const atLeast = (version: string, [major, minor]: number[]) => {
  const [a, b] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
};

/** A failure talking to ClickHouse: one line, exit 1. */
export class ClickHouseError extends HuntbookError {}

/** The server's words turned into what to do. */
function explain(error: unknown, target: ClickHouseTarget): ClickHouseError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code ?? /Code: (\d+)/.exec(message)?.[1];
  const at = target.display;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT') {
    return new ClickHouseError(`cannot reach ClickHouse at ${at} (${code}): is the server up, and is that its HTTP port?`, {
      cause: error,
    });
  }
  if (code === '192' || code === '193' || code === '516' || /Authentication failed|Unknown user|Wrong password/i.test(message)) {
    return new ClickHouseError(`ClickHouse at ${at} refused user ${target.username}: wrong user or password ($${PASSWORD_VARIABLE})`, {
      cause: error,
    });
  }
  if (code === '60' || code === '81' || /doesn't exist|does not exist/.test(message)) {
    const what = /(Table|Database) ([\w.`]+) (?:doesn't|does not) exist/.exec(message);
    return new ClickHouseError(
      `ClickHouse at ${at}: ${what ? `${what[1].toLowerCase()} ${what[2]} does not exist` : 'a table does not exist'}; create the tables with: huntbook clickhouse init --logs ${at}`,
      { cause: error },
    );
  }
  return new ClickHouseError(`ClickHouse at ${at}: ${message.split('\n')[0].replace(/, e\.what\(\) = .*$/, '')}`, { cause: error });
}

/**
 * The settings every select runs with. A statement longer than the default max_query_size (256
 * KiB: a Sigma rule of a thousand hashes) asks for room. A subquery over a Distributed table inside
 * a query sent to the shards reads the shard's own table (distributed_product_mode = 'local'):
 * the IN and JOIN subqueries of the hunts match rows of one source address, which the sharding key keeps
 * on one shard, so no shard needs another's rows (the default refuses such a query outright).
 */
function room(query: string): { clickhouse_settings: { max_query_size?: string; distributed_product_mode: 'local' } } {
  return {
    clickhouse_settings: {
      distributed_product_mode: 'local',
      ...(query.length > 200_000 ? { max_query_size: String(query.length * 2) } : {}),
    },
  };
}

export interface ClickHouseConnection {
  target: ClickHouseTarget;
  version: string;
  run: ClickHouseRunner;
  /** A statement's answer streamed into a file (JSONEachRow). */
  download: ClickHouseDownload;
  /** A statement that answers nothing (DDL, INSERT). */
  exec: (statement: string) => Promise<void>;
  /** Rows into a table, synchronously through a Distributed table. */
  insert: ClickHouseInserter;
  close: () => Promise<void>;
}

/** A connection that has answered: the server's version checked (18.16 or later). */
export async function connectClickHouse(target: ClickHouseTarget): Promise<ClickHouseConnection> {
  const client = createClient({
    url: target.url,
    username: target.username,
    password: process.env[PASSWORD_VARIABLE] ?? '',
    database: 'default',
    request_timeout: 600_000,
    log: { level: ClickHouseLogLevel.OFF },
  });
  const run: ClickHouseRunner = async (query) => {
    try {
      const result = await client.query({ query, format: 'JSONEachRow', ...room(query) });
      return (await result.json()) as Record<string, unknown>[];
    } catch (error) {
      throw explain(error, target);
    }
  };
  const exec = async (query: string) => {
    try {
      await client.command({ query });
    } catch (error) {
      throw explain(error, target);
    }
  };
  const insert: ClickHouseInserter = async (into, format, file) => {
    try {
      // The rows travel as the request body, the statement as a parameter.
      const result = await client.exec({
        query: `INSERT INTO ${into} FORMAT ${format}`,
        values: createReadStream(file),
        // A Distributed table otherwise answers before its shards hold the rows (18.16 knows the setting).
        clickhouse_settings: { insert_distributed_sync: 1 },
      });
      result.stream.resume();
      await finished(result.stream);
    } catch (error) {
      throw explain(error, target);
    }
  };
  const download: ClickHouseDownload = async (query, file) => {
    try {
      const result = await client.exec({ query: `${query} FORMAT JSONEachRow`, ...room(query) });
      await pipeline(result.stream, createWriteStream(file));
    } catch (error) {
      throw explain(error, target);
    }
  };
  let version: string;
  try {
    version = String((await run('SELECT version() AS v'))[0]?.v ?? '');
  } catch (error) {
    await client.close();
    throw error;
  }
  if (!atLeast(version, OLDEST)) {
    await client.close();
    throw new ClickHouseError(`ClickHouse at ${target.display} is ${version}; huntbook needs ${OLDEST.join('.')} or later`);
  }
  try {
    await refuseZonedTimes(run, target);
  } catch (error) {
    await client.close();
    throw error;
  }
  return { target, version, run, download, exec, insert, close: () => client.close() };
}

/**
 * Tables made by an earlier `clickhouse init` hold times as a plain DateTime, which a server set to
 * another zone than UTC reads and shows in its own: every time would be an offset away from the
 * workspace's, and --since would cut elsewhere. On such a server they are refused, not used.
 */
async function refuseZonedTimes(run: ClickHouseRunner, target: ClickHouseTarget): Promise<void> {
  const [{ tz }] = (await run('SELECT timezone() AS tz')) as [{ tz: string }];
  if (tz === 'UTC' || tz === 'Etc/UTC' || tz === 'UCT') return;
  const plain = await run(
    `SELECT table FROM system.columns WHERE database = ${clickhouseLiteral(target.database)} AND name = 'ts' AND type IN ('DateTime', 'Nullable(DateTime)') ORDER BY table`,
  );
  if (plain.length === 0) return;
  throw new ClickHouseError(
    `ClickHouse at ${target.display} runs in time zone ${tz} and its tables ${plain.map((r) => String(r.table)).join(', ')} keep times as a plain DateTime (made by an earlier huntbook clickhouse init), which it reads in ${tz}: every time would move; drop those tables, run huntbook clickhouse init again (it makes them DateTime('UTC')) and ingest again`,
  );
}

/**
 * The log store of a connection: stages rendered for its database and run there, leaving out the
 * rows of files this workspace has not finished sending or has replaced (clickhouse-ship.ts).
 */
export function clickhouseStore(connection: ClickHouseConnection): LogStore {
  const { database, key } = connection.target;
  return clickhouseLogs(
    clickhouseFor(database),
    connection.run,
    `ClickHouse ${connection.version} at ${connection.target.display}`,
    async (ws) => clickhouseFor(database, await hiddenFiles(ws, key)),
    connection.download,
  );
}

/** What ingest --logs writes through: this connection's database, named for messages. */
export function writerOf(connection: ClickHouseConnection): ClickHouseWriter {
  const { key, database, display } = connection.target;
  return {
    key,
    database,
    where: `ClickHouse ${display}`,
    run: connection.run,
    insert: connection.insert,
    exec: connection.exec,
    parquet: atLeast(connection.version, PARQUET),
  };
}
