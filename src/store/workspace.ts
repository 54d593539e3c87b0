/**
 * The workspace: one DuckDB file. This is the only module that talks to the DuckDB driver;
 * everything else asks it to run SQL with bound parameters.
 */
import { type DuckDBConnection, DuckDBInstance, DuckDBTypeId, version as duckdbVersion, type DuckDBValue } from '@duckdb/node-api';
import { QueryError, WorkspaceError } from '../errors.ts';
import { checkInterrupted, onInterrupt } from '../interrupt.ts';
import { MIGRATIONS } from './migrations.ts';

/** Binds a JS array as one LIST parameter (e.g. `IN (SELECT unnest($1))`). */
export { listValue } from '@duckdb/node-api';

export const DEFAULT_WORKSPACE = 'huntbook.duckdb';

/** A JSON-safe cell: 64-bit integers beyond 2^53 travel as strings, never as lossy numbers. */
export type Cell = string | number | boolean | null | Cell[] | { [key: string]: Cell };
export type Row = Record<string, Cell>;
export type Params = DuckDBValue[] | Record<string, DuckDBValue>;

export interface OpenOptions {
  readOnly?: boolean;
  /** DuckDB threads; default: all cores. */
  threads?: number;
  /**
   * false: SQL may not read or write any file but the workspace (no COPY TO, read_text, ATTACH,
   * EXPORT, extension installs), and the setting is locked so a statement cannot lift it.
   */
  externalAccess?: boolean;
}

/** The DuckDB library's version (what cached engine verdicts depend on). */
export const DUCKDB_VERSION = duckdbVersion();

export class Workspace {
  /** Open transactions: nested ones join the outer one, so a caller can make several steps one unit. */
  private depth = 0;
  private readonly stopWatching: () => void;

  private constructor(
    readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    readonly readOnly: boolean,
    /** A second connection to another workspace's database: closing it leaves the database open. */
    private readonly borrowed = false,
  ) {
    this.stopWatching = onInterrupt(() => this.connection.interrupt());
  }

  static async open(path: string, options: OpenOptions = {}): Promise<Workspace> {
    const readOnly = options.readOnly ?? false;
    const config: Record<string, string> = { access_mode: readOnly ? 'READ_ONLY' : 'READ_WRITE' };
    if (options.threads) config.threads = String(options.threads);
    if (options.externalAccess === false) config.enable_external_access = 'false';
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, config);
    } catch (error) {
      throw translateOpenError(path, error);
    }
    const connection = await instance.connect();
    const workspace = new Workspace(path, instance, connection, readOnly);
    // Pinned so that timestamps print and bucket the same on every machine.
    await connection.run("SET TimeZone = 'UTC'");
    await workspace.migrate();
    // Locked last, so that no statement can turn external access back on.
    if (options.externalAccess === false) await connection.run('SET lock_configuration = true');
    return workspace;
  }

  /**
   * Refuses SQL text from a user unless it is exactly one statement on its own: text that closes
   * a parenthesis it did not open, or adds "; DROP …", never reaches a statement huntbook builds.
   */
  async singleStatement(sql: string, what = 'the query'): Promise<void> {
    let count: number;
    try {
      count = (await this.connection.extractStatements(sql)).count;
    } catch (error) {
      throw new QueryError(
        `${what}: ${error instanceof Error ? error.message.replace(/^Failed to extract statements: /, '').split('\n')[0] : String(error)}`,
        { cause: error },
      );
    }
    if (count !== 1) throw new QueryError(`${what}: one statement at a time (this text holds ${count})`);
  }

  async run(sql: string, params?: Params): Promise<void> {
    checkInterrupted();
    try {
      const started = performance.now();
      await this.connection.run(sql, params);
      trace(sql, started);
    } catch (error) {
      checkInterrupted();
      throw error;
    }
  }

  /** Rows as JSON-safe objects, keys named exactly as the result columns. */
  async query(sql: string, params?: Params): Promise<Row[]> {
    return (await this.queryWithColumns(sql, params)).rows;
  }

  /** Result columns as well as rows, for printers that must show headers of empty results. */
  async queryWithColumns(sql: string, params?: Params): Promise<{ columns: string[]; rows: Row[] }> {
    const reader = await this.read(sql, params);
    const columns = reader.columnNames();
    // JSON conversion keeps timestamps at full precision; integer columns come back as numbers
    // where they fit in 2^53 and stay strings where they do not.
    const numeric = reader.columnTypes().map((type) => NUMERIC_TYPE_IDS.has(type.typeId));
    const rows = reader.getRowObjectsJson().map((row) => {
      const out: Row = {};
      columns.forEach((name, index) => {
        const value = row[name] as Cell;
        out[name] = numeric[index] && typeof value === 'string' ? toSafeNumber(value) : value;
      });
      return out;
    });
    return { columns, rows };
  }

  /** Numeric result columns as typed arrays (NULL → NaN), for the learners. */
  async columns(sql: string, params?: Params): Promise<Float64Array[]> {
    const reader = await this.read(sql, params);
    return reader.getColumnsJS().map((values) => Float64Array.from(values as (number | null)[], (v) => (v === null ? NaN : Number(v))));
  }

  /** Every statement goes through here or run(): a Ctrl-C turns DuckDB's interrupt into InterruptedError. */
  private async read(sql: string, params?: Params) {
    checkInterrupted();
    try {
      const started = performance.now();
      const reader = await this.connection.runAndReadAll(sql, params);
      trace(sql, started);
      return reader;
    } catch (error) {
      checkInterrupted();
      throw error;
    }
  }

  async scalar(sql: string, params?: Params): Promise<Cell> {
    const rows = await this.query(sql, params);
    const first = rows[0];
    return first === undefined ? null : (Object.values(first)[0] ?? null);
  }

  /** Runs fn inside one transaction: all of it lands, or (on any error or crash) none of it. */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.depth > 0) {
      this.depth++;
      try {
        return await fn();
      } finally {
        this.depth--;
      }
    }
    await this.connection.run('BEGIN TRANSACTION');
    this.depth = 1;
    try {
      const result = await fn();
      checkInterrupted();
      const committing = performance.now();
      await this.connection.run('COMMIT');
      trace('COMMIT', committing);
      return result;
    } catch (error) {
      await this.connection.run('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      this.depth = 0;
    }
  }

  /**
   * Appends rows of text/number/null cells to a table through DuckDB's appender (far faster than
   * one INSERT a row). Cells are values, never SQL. A number goes in as the column's declared
   * type: a fraction into a whole-number column is refused, never truncated.
   */
  async append(table: string, rows: readonly (string | number | null)[][]): Promise<void> {
    if (rows.length === 0) return;
    const appender = await this.connection.createAppender(table);
    try {
      const types = Array.from({ length: appender.columnCount }, (_, i) => appender.columnType(i).typeId);
      for (const row of rows) {
        row.forEach((cell, i) => {
          if (cell === null) appender.appendNull();
          else if (typeof cell === 'string') appender.appendVarchar(cell);
          else if (FRACTIONAL_TYPE_IDS.has(types[i])) appender.appendDouble(cell);
          else if (WHOLE_TYPE_IDS.has(types[i])) {
            if (!Number.isSafeInteger(cell))
              throw new WorkspaceError(`${table}: column ${i + 1} holds whole numbers; ${cell} cannot be stored exactly`);
            appender.appendBigInt(BigInt(cell));
          } else appender.appendVarchar(String(cell));
        });
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  /** Percent done of the running statement, or undefined when DuckDB cannot tell. */
  progress(): number | undefined {
    const percentage = this.connection.progress.percentage;
    return percentage >= 0 ? percentage : undefined;
  }

  /** Asks DuckDB to stop the running statement (Ctrl-C). */
  interrupt(): void {
    this.connection.interrupt();
  }

  close(): void {
    this.stopWatching();
    this.connection.closeSync();
    if (!this.borrowed) this.instance.closeSync();
  }

  /**
   * Another connection to the same database, for work that runs beside this connection's (DuckDB
   * plans one statement per connection at a time: two connections plan on two cores). It sees
   * what is committed, not this connection's open transaction, and has its own temp tables.
   * Close it before this workspace.
   */
  async companion(): Promise<Workspace> {
    const connection = await this.instance.connect();
    await connection.run("SET TimeZone = 'UTC'");
    return new Workspace(this.path, this.instance, connection, this.readOnly, true);
  }

  async schemaVersion(): Promise<number> {
    const exists = await this.scalar(
      "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations' AND table_schema = 'main'",
    );
    if (Number(exists) === 0) return 0;
    return Number((await this.scalar('SELECT coalesce(max(version), 0) FROM schema_migrations')) ?? 0);
  }

  private async migrate(): Promise<void> {
    const current = await this.schemaVersion();
    const latest = MIGRATIONS.at(-1)?.version ?? 0;
    if (current > latest) {
      throw new WorkspaceError(
        `workspace ${this.path} has schema version ${current}, newer than this huntbook understands (${latest}); upgrade huntbook`,
      );
    }
    if (current === latest) return;
    if (this.readOnly) {
      throw new WorkspaceError(
        `workspace ${this.path} needs schema upgrade ${current} -> ${latest}; run a writing command (e.g. huntbook ingest) first`,
      );
    }
    await this.transaction(async () => {
      await this.run('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)');
      for (const migration of MIGRATIONS.filter((m) => m.version > current)) {
        await this.run(migration.sql);
        await this.run('INSERT INTO schema_migrations VALUES ($1, $2, now()::TIMESTAMP)', [migration.version, migration.name]);
      }
    });
  }
}

function translateOpenError(path: string, error: unknown): WorkspaceError {
  const message = error instanceof Error ? error.message : String(error);
  if (/Could not set lock|Conflicting lock/i.test(message)) {
    const pid = /PID (\d+)/.exec(message)?.[1];
    return new WorkspaceError(
      `workspace ${path} is in use by another process${pid ? ` (PID ${pid})` : ''}; wait for it to finish, or use --db to choose another workspace`,
      { cause: error },
    );
  }
  return new WorkspaceError(`cannot open workspace ${path}: ${message}`, { cause: error });
}

const FRACTIONAL_TYPE_IDS = new Set<DuckDBTypeId>([DuckDBTypeId.DOUBLE, DuckDBTypeId.FLOAT, DuckDBTypeId.DECIMAL]);
const WHOLE_TYPE_IDS = new Set<DuckDBTypeId>([
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
]);

const NUMERIC_TYPE_IDS = new Set<DuckDBTypeId>([
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.DECIMAL,
]);

function toSafeNumber(text: string): number | string {
  const value = Number(text);
  if (!Number.isFinite(value)) return text;
  return Number.isInteger(value) && !Number.isSafeInteger(value) ? text : value;
}

/** HUNTBOOK_TRACE=1: every statement's time on stderr, to see where a slow hunt spends it. */
const TRACING = process.env.HUNTBOOK_TRACE === '1';
function trace(sql: string, started: number): void {
  if (TRACING)
    process.stderr.write(
      `[trace] ${(performance.now() - started).toFixed(0).padStart(6)} ms  ${sql
        .replace(/\s+/g, ' ')
        .trim()
        .slice(0, Number(process.env.HUNTBOOK_TRACE_WIDTH ?? 110))}\n`,
    );
}
