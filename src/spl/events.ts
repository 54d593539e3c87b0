/**
 * The first command: the events of the tables index= and sourcetype= name (sources.ts), where the
 * search's terms hold, within earliest/latest, newest first (Splunk's order).
 */
import { ident, join, raw, type Sql, sql } from '../store/sql-template.ts';
import type { Command, SearchExpr } from './ast.ts';
import { parseSearch } from './parse.ts';
import { type SplSource, type SplTable, sourceOf } from './sources.ts';
import { splTime } from './time.ts';
import { type Fields, type Rel, SQL_TYPE, type Translate } from './translator.ts';
import type { Kind, Typed } from './values.ts';

const KIND_OF_TYPE = (type: string): Kind => {
  if (type.endsWith('[]')) return 'mv';
  if (['INTEGER', 'BIGINT', 'DOUBLE'].includes(type)) return 'num';
  return 'str';
};

/** A table's columns as SPL fields: _time (epoch seconds), each column, the CIM aliases. */
function sourceFields(source: SplSource): Map<string, { sql: Sql; kind: Kind }> {
  const out = new Map<string, { sql: Sql; kind: Kind }>();
  out.set('_time', { sql: raw('epoch(ts)'), kind: 'num' });
  for (const c of source.columns) {
    if (c.name === 'ts') continue;
    const column = sql`${ident(c.name)}`;
    const kind = KIND_OF_TYPE(c.type);
    let value: Sql = column;
    if (c.type === 'TIMESTAMP') value = sql`strftime(${column}, '%Y-%m-%dT%H:%M:%S')`;
    else if (c.type === 'BOOLEAN' || c.type === 'JSON') value = sql`CAST(${column} AS VARCHAR)`;
    else if (kind === 'mv') value = sql`CAST(${column} AS VARCHAR[])`;
    out.set(c.name, { sql: value, kind });
  }
  for (const [alias, column] of Object.entries(source.aliases)) {
    const target = out.get(column);
    if (target && !out.has(alias)) out.set(alias, target);
  }
  return out;
}

/** Which tables index= and sourcetype= name in a search's terms (anywhere in it). */
function tablesOf(t: Translate, e: SearchExpr, found: Set<SplTable>): void {
  if (e.kind === 'and' || e.kind === 'or') for (const i of e.items) tablesOf(t, i, found);
  else if (e.kind === 'not') tablesOf(t, e.item, found);
  else if ((e.kind === 'test' || e.kind === 'in') && ['sourcetype', 'index'].includes(e.field.toLowerCase())) {
    const values = e.kind === 'in' ? e.values : [e.value];
    for (const value of values) {
      const key = value.toLowerCase();
      const table = (e.field.toLowerCase() === 'sourcetype' ? t.options.sourcetypes[key] : t.options.indexes[key]) as SplTable | undefined;
      if (table) found.add(table);
      else if (e.field.toLowerCase() === 'sourcetype')
        t.fail(
          e.at,
          `sourcetype "${value}" maps to no table (config spl.sourcetypes; known: ${Object.keys(t.options.sourcetypes).slice(0, 8).join(', ')}, …)`,
        );
    }
  }
}

/** The search's earliest/latest (top level only), taken out of its terms. */
function timeRange(t: Translate, e: SearchExpr): { rest: SearchExpr; earliest?: number; latest?: number } {
  const items = e.kind === 'and' ? e.items : [e];
  const rest: SearchExpr[] = [];
  let earliest: number | undefined;
  let latest: number | undefined;
  for (const item of items) {
    if (item.kind === 'test' && ['earliest', 'latest'].includes(item.field.toLowerCase()) && item.op === '=') {
      let seconds: number;
      try {
        seconds = splTime(item.value, t.options.now);
      } catch (error) {
        return t.fail(item.at, (error as Error).message);
      }
      if (item.field.toLowerCase() === 'earliest') earliest = seconds;
      else latest = seconds;
    } else rest.push(item);
  }
  return { rest: { kind: 'and', items: rest }, earliest, latest };
}

/** The first command: events of the named tables where the terms hold, in Splunk's order (newest first). */
export function events(t: Translate, command: Command): Rel {
  const terms = parseSearch(t.text, command.args);
  const tables = new Set<SplTable>();
  tablesOf(t, terms, tables);
  if (tables.size === 0) {
    t.fail(
      command.at,
      'the search names no index or sourcetype huntbook maps to a table: add sourcetype=… (e.g. stream:tcp, stream:http, bro:conn:json, xmlwineventlog) or index=a_summary_index',
    );
  }
  const { rest, earliest, latest } = timeRange(t, terms);
  const sources = [...tables].map(sourceOf);
  for (const source of sources) t.sources.set(source.table, source.extra);
  const fields: Fields = new Map();
  const perSource = sources.map((source) => sourceFields(source));
  for (const map of perSource) for (const [name, f] of map) if (!fields.has(name)) fields.set(name, f.kind);
  const selects = sources.map((source, i) => {
    const own = perSource[i];
    const fieldOf = (name: string): Typed => {
      const lower = name.toLowerCase();
      if (lower === 'index' || lower === 'sourcetype') return { sql: raw('NULL'), kind: 'null' };
      const f = own.get(name);
      if (f) return f;
      // A field no column holds: the event's own, in its JSON column (as later commands read it).
      t.fromExtra.add(name);
      return { sql: sql`json_extract_string(${ident(source.extra)}, ${`$.${JSON.stringify(name)}`})`, kind: 'str' };
    };
    const condition = t.search(mapSourceTerms(t, rest, source.table), fieldOf);
    const range = [
      ...(earliest !== undefined ? [sql`ts >= to_timestamp(${earliest})::TIMESTAMP`] : []),
      ...(latest !== undefined ? [sql`ts < to_timestamp(${latest})::TIMESTAMP`] : []),
    ];
    const columns = [...fields].map(([name, kind]) => {
      const f = own.get(name);
      return f ? sql`${f.sql} AS ${ident(name)}` : sql`CAST(NULL AS ${raw(SQL_TYPE[kind])}) AS ${ident(name)}`;
    });
    const tie = source.tie ? sql`${ident(source.tie)}` : raw('0');
    return sql`SELECT ${join(columns)}, ${ident(source.extra)} AS __extra, -epoch_us(ts) AS __seq, ${tie} AS __tie FROM ${ident(source.table)}
      WHERE ts IS NOT NULL AND ${join([condition, ...range], ' AND ')}`;
  });
  const rel = t.step(join(selects, ' UNION ALL BY NAME '), fields, { extra: true });
  // Each row is its event: every column field holds the event's own value.
  rel.carry!.lineage = { base: rel, fields: [...fields.keys()] };
  return rel;
}

/** The terms with index=/sourcetype= decided for one table: true where they name it. */
function mapSourceTerms(t: Translate, e: SearchExpr, table: SplTable): SearchExpr {
  const yes: SearchExpr = { kind: 'and', items: [] };
  const no: SearchExpr = { kind: 'not', item: yes };
  switch (e.kind) {
    case 'and':
    case 'or':
      return { kind: e.kind, items: e.items.map((i) => mapSourceTerms(t, i, table)) };
    case 'not':
      return { kind: 'not', item: mapSourceTerms(t, e.item, table) };
    case 'test':
    case 'in': {
      const field = e.field.toLowerCase();
      if (field !== 'index' && field !== 'sourcetype') return e;
      const values = e.kind === 'in' ? e.values : [e.value];
      const names = values.some((v) => (field === 'sourcetype' ? t.options.sourcetypes : t.options.indexes)[v.toLowerCase()] === table);
      // An index that maps to no one table holds every table (the sourcetype decides).
      const any = field === 'index' && values.some((v) => t.options.indexes[v.toLowerCase()] === undefined);
      const holds = names || any;
      if (e.kind === 'test' && e.op === '!=') return holds ? no : yes;
      return holds ? yes : no;
    }
    default:
      return e;
  }
}
