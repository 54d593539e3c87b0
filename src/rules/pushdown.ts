/**
 * `rules run --logs clickhouse://…`: ClickHouse picks, from every row of the log tables, the rows
 * some rule matches (each rule's condition rendered for ClickHouse from the same Sigma IR or
 * expression tree, OR-ed per table, a few dozen rules a statement); only those rows come back,
 * into temporary tables that stand in for the workspace's own (DuckDB reads a temporary table
 * before a main one of the same name). The engine then runs unchanged over them: the same
 * checks, entities, details and record keys (file:rec), so the same detections row for row.
 * ClickHouse is a filter here, never the judge: a row it lets through that no rule matches on
 * DuckDB makes no detection.
 */
import { UsageError } from '../errors.ts';
import { renderExpr } from '../expr/render.ts';
import type { Dialect } from '../store/dialect.ts';
import type { LogStore } from '../store/logs.ts';
import { CANONICAL_COLUMNS, type CanonicalTable, EXTRA_COLUMN, isLogTable, quoteIdent, type SqlType } from '../store/schema.ts';
import { raw, render, type Sql, sql } from '../store/sql-template.ts';
import type { Workspace } from '../store/workspace.ts';
import { type Planned, planRules, refuseBadRegexes } from './engine.ts';
import type { Rule, Skipped } from './model.ts';
import { compileDetection } from './sigma/compile.ts';
import { checkRuleSql } from './sqlcheck.ts';

/** Characters of conditions OR-ed into one statement: well inside any server's max_query_size (256 KiB by default). */
const STATEMENT_CHARS = 160_000;

export const NO_CLICKHOUSE = 'no ClickHouse rendering';

export interface Pushdown {
  /** The rules whose matches can be found from what came back (correlations and the rest as given). */
  rules: Rule[];
  skipped: Skipped[];
  /** Rows of the tables the rules read, in ClickHouse. */
  scanned: number;
  /** Rows that came back: those some rule matched (and the directory, which the red flags read whole). */
  returned: number;
  /** Rows the workspace holds itself in the tables the stand-ins hide (not read by this run), by table. */
  unread: Record<string, number>;
  /** Drops the stand-in tables: the workspace's own are seen again. */
  release: () => Promise<void>;
}

/** The type a column lands as from JSONEachRow, before it is cast back to the workspace's. */
function landingType(type: SqlType): SqlType {
  if (type === 'JSON') return 'VARCHAR';
  if (type === 'BOOLEAN') return 'INTEGER';
  return type;
}

function columnsOf(table: CanonicalTable): [string, SqlType][] {
  const columns: [string, SqlType][] = CANONICAL_COLUMNS[table].map((c) => [c.name, c.type]);
  if (!columns.some(([name]) => name === EXTRA_COLUMN[table])) columns.push([EXTRA_COLUMN[table], 'JSON']);
  return [['file_id', 'INTEGER'], ['rec', 'BIGINT'], ...columns];
}

/**
 * The fields a table's conditions read, each worked out once per row under a short name
 * (hb_f1, …): a Sigma rule names CommandLine a dozen times, and its JSON extraction is long.
 */
class Fields {
  readonly defs = new Map<string, string>();

  constructor(
    private readonly dialect: Dialect,
    private readonly json: string,
  ) {}

  name(expression: string): string {
    let alias = this.defs.get(expression);
    if (alias === undefined) {
      alias = `hb_f${this.defs.size + 1}`;
      this.defs.set(expression, alias);
    }
    return alias;
  }

  jsonKey(key: string): string {
    return this.name(render(this.dialect.jsonField(raw(this.json), key), this.dialect).text);
  }
}

/** A rule's condition for ClickHouse, over the table's own columns (a field its JSON keys). */
function conditionOf(p: Planned, dialect: Dialect, fields: Fields, placeholders: Record<string, string[]> | undefined): string {
  const extra = dialect.ident(EXTRA_COLUMN[p.source.table]);
  if (p.rule.sql !== undefined) return render(renderExpr(checkRuleSql(p.rule.sql, p.rule.table), dialect), dialect).text;
  const field = (name: string) => {
    const keys = p.source.fieldKeys(name);
    if (keys.column) return fields.name(`toString(${dialect.ident(keys.column)})`);
    const refs = (keys.jsonKeys ?? []).map((k) => fields.jsonKey(k));
    return refs.length === 1 ? refs[0] : `coalesce(${refs.join(', ')})`;
  };
  return compileDetection(
    p.rule.detection ?? {},
    { field, fullText: () => extra, bind: (v) => dialect.value(v, []), placeholders },
    'clickhouse',
  );
}

interface SourceGroup {
  table: CanonicalTable;
  /** The log source's predicate (fixed text huntbook writes, plain enough for both engines). */
  where: string;
  fields: Fields;
  conditions: string[];
}

/** The rules by log source, each condition rendered for ClickHouse; a rule that cannot be is set aside with the reason. */
function groupBySource(
  planned: readonly Planned[],
  dialect: Dialect,
  placeholders: Record<string, string[]> | undefined,
): { groups: SourceGroup[]; skipped: Skipped[] } {
  const groups = new Map<string, SourceGroup>();
  const skipped: Skipped[] = [];
  for (const p of planned) {
    const table = p.source.table;
    const key = `${table}\u0000${p.source.group}`;
    try {
      let group = groups.get(key);
      if (!group) {
        const where = p.source.where(() => {
          throw new Error('a log source that binds values');
        });
        // 18.16 has no boolean constants.
        group = {
          table,
          where: where === 'true' ? '1' : where,
          fields: new Fields(dialect, dialect.ident(EXTRA_COLUMN[table])),
          conditions: [],
        };
        groups.set(key, group);
      }
      group.conditions.push(`coalesce(${conditionOf(p, dialect, group.fields, placeholders)}, 0)`);
    } catch (error) {
      skipped.push({ rule: p.rule, reason: NO_CLICKHOUSE, detail: error instanceof Error ? error.message : String(error) });
    }
  }
  return { groups: [...groups.values()], skipped };
}

/**
 * A source's statements: its rows only (PREWHERE its predicate: the other columns are read for
 * those alone; a table hiding files is a subquery, which takes a WHERE), the fields its
 * conditions read worked out once in a subquery, the conditions OR-ed, STATEMENT_CHARS at most
 * each; only the table's own columns come back.
 */
function statementsOf({ table, where, fields, conditions }: SourceGroup, dialect: Dialect): Sql[] {
  const source = render(dialect.table(table), dialect).text;
  const filter = `${source.startsWith('(') ? 'WHERE' : 'PREWHERE'} ${where}`;
  const columns = columnsOf(table).map(([n]) => dialect.ident(n));
  const statement = (chunk: string[]) => {
    const used = [...fields.defs].filter(([, alias]) => chunk.some((c) => new RegExp(`\\b${alias}\\b`).test(c)));
    const inner = `SELECT *${used.map(([expression, alias]) => `, ${expression} AS ${alias}`).join('')} FROM ${source} ${filter}`;
    return raw(`SELECT ${columns.join(', ')} FROM (${inner}) WHERE ${chunk.join(' OR ')}`);
  };
  const statements: Sql[] = [];
  let chunk: string[] = [];
  let size = 0;
  for (const condition of conditions) {
    if (chunk.length > 0 && size + condition.length > STATEMENT_CHARS) {
      statements.push(statement(chunk));
      [chunk, size] = [[], 0];
    }
    chunk.push(condition);
    size += condition.length;
  }
  if (chunk.length > 0) statements.push(statement(chunk));
  return statements;
}

/**
 * Lands, for each table the rules read, the rows some rule matches in ClickHouse, as a temporary
 * table of the same name and columns; the directory comes whole. Call release() when done.
 */
export async function landRuleCandidates(
  ws: Workspace,
  rules: readonly Rule[],
  logs: LogStore,
  placeholders?: Record<string, string[]>,
): Promise<Pushdown> {
  if (logs.dialect.name !== 'clickhouse') throw new UsageError('rules run --logs needs a ClickHouse address');
  const dialect = logs.dialectFor ? await logs.dialectFor(ws) : logs.dialect;
  const plan = planRules(rules.filter((r) => !r.correlation));
  const { groups, skipped } = groupBySource((await refuseBadRegexes(plan.planned)).planned, dialect, placeholders);
  const made: string[] = [];
  let [scanned, returned] = [0, 0];
  const unread: Record<string, number> = {};
  const release = async () => {
    for (const table of made) await ws.run(`DROP TABLE IF EXISTS temp.${quoteIdent(table)}`);
  };
  /** The stand-in for `table`: the workspace table's columns, the rows the statements brought back, once each. */
  const stand = async (table: CanonicalTable, statements: Sql[]) => {
    const columns = columnsOf(table);
    const parts: string[] = [];
    for (const [i, statement] of statements.entries()) {
      const part = `hb_rows_${table}_${i}`;
      parts.push(part);
      made.push(part);
      returned += await logs.land(ws, { table: part, sql: statement, columns: columns.map(([n, t]) => [n, landingType(t)] as const) });
    }
    await ws.run(`DROP TABLE IF EXISTS temp.${quoteIdent(table)}`);
    const own = Number(await ws.scalar(`SELECT count(*) FROM ${quoteIdent(table)}`));
    if (own > 0) unread[table] = own;
    await ws.run(`CREATE TEMP TABLE ${quoteIdent(table)} AS SELECT * FROM ${quoteIdent(table)} LIMIT 0`);
    made.push(table);
    if (parts.length === 0) return;
    const cast = columns.map(([n, t]) =>
      t === 'JSON' || t === 'BOOLEAN' ? `CAST(${quoteIdent(n)} AS ${t}) AS ${quoteIdent(n)}` : quoteIdent(n),
    );
    await ws.run(
      `INSERT INTO temp.${quoteIdent(table)} BY NAME SELECT DISTINCT ON (file_id, rec) ${cast.join(', ')} FROM (${parts.map((p) => `SELECT * FROM ${quoteIdent(p)}`).join(' UNION ALL ')}) ORDER BY file_id, rec`,
    );
    for (const part of parts) await ws.run(`DROP TABLE ${quoteIdent(part)}`);
  };
  try {
    const byTable = new Map<CanonicalTable, Sql[]>();
    // Rules over the people tables read the workspace's own: those rows never go to ClickHouse.
    for (const group of groups.filter((g) => isLogTable(g.table)))
      byTable.set(group.table, [...(byTable.get(group.table) ?? []), ...statementsOf(group, dialect)]);
    for (const [table, statements] of byTable) {
      scanned += await countRows(ws, logs, dialect, table);
      await stand(table, statements);
    }
    // The directory's red flags (leavers, role changes) read it whole; it is small (people × months).
    const directory = columnsOf('directory').map(([n]) => dialect.ident(n));
    await stand('directory', [raw(`SELECT ${directory.join(', ')} FROM ${render(dialect.table('directory'), dialect).text}`)]);
  } catch (error) {
    await release();
    throw error;
  }
  const refused = new Set(skipped.map((s) => s.rule));
  return { rules: rules.filter((r) => !refused.has(r)), skipped, scanned, returned, unread, release };
}

/** Rows of a table in ClickHouse (the files hidden from hunts left out). */
async function countRows(ws: Workspace, logs: LogStore, dialect: Dialect, table: CanonicalTable): Promise<number> {
  const name = `hb_rows_count_${table}`;
  await logs.land(ws, { table: name, sql: sql`SELECT count() AS n FROM ${dialect.table(table)}`, columns: [['n', 'BIGINT']] });
  const n = Number(await ws.scalar(`SELECT n FROM ${quoteIdent(name)}`));
  await ws.run(`DROP TABLE ${quoteIdent(name)}`);
  return n;
}
