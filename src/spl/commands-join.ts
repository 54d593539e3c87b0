/**
 * Commands that bring in another search (its subsearch in [ ]): join, append.
 */
import { ident, join, raw, type Sql, sql } from '../store/sql-template.ts';
import type { Command, SearchExpr, SplExpr } from './ast.ts';
import { parseEval, parseSearch } from './parse.ts';
import { Args, type Fields, type Rel, SQL_TYPE, type Translate, type Translator } from './translator.ts';
import { as, asBool, asText, common } from './values.ts';

interface JoinSpec {
  keys: string[];
  type: string;
  max: number;
  overwrite: boolean;
}

function joinSpec(t: Translate, command: Command): JoinSpec {
  const a = new Args(t, command);
  const options = a.options(['type', 'max', 'overwrite', 'usetime', 'earlier']);
  const keys = a.fieldList(['type', 'max', 'overwrite']);
  const more = a.options(['type', 'max', 'overwrite']);
  for (const [k, v] of more) options.set(k, v);
  a.end();
  if (keys.length === 0) t.fail(command.at, 'join: the fields to join on are required (join on all common fields is not supported)');
  if (command.subsearches.length !== 1) t.fail(command.at, 'join: one subsearch in [ ] expected');
  const type = (options.get('type')?.value ?? 'inner').toLowerCase();
  if (!['inner', 'left', 'outer'].includes(type)) t.fail(options.get('type')!.at, `join: type "${type}" is not inner, left or outer`);
  const max = Number(options.get('max')?.value ?? 1);
  const overwrite = (options.get('overwrite')?.value ?? 'true').toLowerCase() !== 'false';
  return { keys, type, max, overwrite };
}

/** A join's subsearch, translated before the search it joins (prepareJoin), and what follows the join. */
interface PreparedJoin {
  command: Command;
  spec: JoinSpec;
  sub: Rel;
  /** The subsearch's rows numbered within each key (__n), in its order. */
  ranked: Rel;
  after: readonly Command[];
}

const prepared = new WeakMap<Translate, Map<Command, PreparedJoin>>();

/**
 * Translates a join's subsearch ahead of the search that joins it, so that the search can read
 * only the events whose keys the subsearch has (join, below). `after`: the commands after the join.
 */
export function prepareJoin(t: Translate, command: Command, after: readonly Command[]): void {
  const spec = joinSpec(t, command);
  const sub = t.subsearch(command.subsearches[0]);
  const ranked = rank(t, sub, spec.keys);
  const map = prepared.get(t) ?? new Map<Command, PreparedJoin>();
  map.set(command, { command, spec, sub, ranked, after });
  prepared.set(t, map);
}

/** Each key's rows of the subsearch, numbered in its order (max=N keeps the first N). */
function rank(t: Translate, sub: Rel, keys: readonly string[]): Rel {
  const subKeys = keys.map((k) => asText(t.field(sub, k)));
  return t.step(
    sql`SELECT *, row_number() OVER (PARTITION BY ${join(subKeys)} ORDER BY ${t.eventOrder(sub)}) AS __n FROM ${ident(sub.name)}`,
    sub.fields,
  );
}

export const joinCommand: Translator = (t, rel, command) => {
  const ready = prepared.get(t)?.get(command);
  const spec = ready?.spec ?? joinSpec(t, command);
  const { keys, type, max, overwrite } = spec;
  const sub = ready?.sub ?? t.subsearch(command.subsearches[0]);
  // Each key's first max rows of the subsearch (max=0: all of them).
  const ranked = ready?.ranked ?? rank(t, sub, keys);
  const on = keys.map((k) => sql`${asText(t.field(rel, k, 'm'))} = ${asText(t.field(sub, k, 's'))}`);
  const columns: Sql[] = [];
  const out: Fields = new Map();
  const overwritten = new Set<string>();
  for (const [name, kind] of rel.fields) {
    const subKind = sub.fields.get(name);
    if (subKind === undefined || keys.includes(name) || !overwrite) {
      columns.push(sql`m.${ident(name)} AS ${ident(name)}`);
      out.set(name, kind);
    } else {
      const both = subKind === kind ? kind : common([subKind, kind, 'str']);
      const mine = { sql: sql`m.${ident(name)}`, kind };
      const theirs = { sql: sql`s.${ident(name)}`, kind: subKind };
      columns.push(sql`(CASE WHEN s.__n IS NOT NULL THEN ${as(theirs, both)} ELSE ${as(mine, both)} END) AS ${ident(name)}`);
      out.set(name, both);
      overwritten.add(name);
    }
  }
  for (const [name, kind] of sub.fields) {
    if (out.has(name)) continue;
    columns.push(sql`s.${ident(name)} AS ${ident(name)}`);
    out.set(name, kind);
  }
  if (ready && type === 'inner') readOnlyMatches(t, rel, ready, out);
  const how = raw(type === 'inner' ? 'JOIN' : 'LEFT JOIN');
  const limit = max > 0 ? sql` AND s.__n <= ${max}` : raw('');
  // A row keeps its place; with max=N its matches follow it in the subsearch's order. (Renumbering
  // every row with a window instead sorts the rows with their lists: 100 s on 1.5 M rows.)
  let tie = raw('m.__tie AS __tie');
  if (max > 1) tie = sql`m.__tie * ${max + 1} + coalesce(s.__n, 0) AS __tie`;
  else if (max === 0) tie = raw('row_number() OVER (ORDER BY m.__seq, m.__tie, s.__seq, s.__tie) AS __tie');
  return t.step(
    sql`SELECT ${join([...columns, raw('m.__seq AS __seq'), tie])}
      FROM ${ident(rel.name)} m ${how} ${ident(ranked.name)} s ON ${join(on, ' AND ')}${limit}`,
    out,
    // With one match at most, each row stays one row in its place: keys and order hold unless overwritten.
    max === 1
      ? {
          unique: rel.carry?.unique?.some((k) => overwritten.has(k)) ? undefined : rel.carry?.unique,
          sortedBy: rel.carry?.sortedBy?.some((k) => overwritten.has(k)) ? undefined : rel.carry?.sortedBy,
        }
      : undefined,
  );
};

/**
 * An inner join keeps only the rows whose keys the subsearch has (among each key's first max
 * rows), and of those only the ones the filters right after the join let through, where they test
 * the subsearch's fields alone. So:
 * - the subsearch, when its rows are its groups (stats by fields its events hold), aggregates only
 *   the groups the join can keep: the groups are found first by the subsearch written again (of
 *   which DuckDB computes only what the filters and the order need), and its events read for them;
 * - the search, while its rows keep their events' join keys apart (lineage), reads only the events
 *   of keys the join keeps.
 * The seed's scored search: its subsearch aggregates URLs and hours only for the destinations its
 * `login_count < 3` keeps, and its first stats reads only their events. The join and the filters
 * still run as written: this only leaves out what they would drop.
 */
function readOnlyMatches(t: Translate, rel: Rel, ready: PreparedJoin, out: Fields): void {
  const { keys, max, overwrite } = ready.spec;
  const lineage = rel.carry?.lineage;
  const mainNarrows = lineage !== undefined && keys.every((k) => lineage.fields.includes(k));
  // Fields whose value after the join is the subsearch's, as it was there.
  const theirs = (name: string) =>
    !keys.includes(name) &&
    ready.sub.fields.has(name) &&
    out.get(name) === ready.sub.fields.get(name) &&
    (!rel.fields.has(name) || overwrite);
  const conditions = (ranked: Rel) => [...(max > 0 ? [sql`__n <= ${max}`] : []), ...filtersOn(t, ready, theirs, ranked)];
  const kept = (ranked: Rel) => {
    const all = conditions(ranked);
    return all.length ? sql` WHERE ${join(all, ' AND ')}` : raw('');
  };
  const distinct = (from: Rel, names: readonly string[], prefix: string, where: Sql) =>
    sql`SELECT DISTINCT ${join(names.map((k, i) => sql`${asText(t.field(from, k))} AS ${ident(`${prefix}${i}`)}`))} FROM ${ident(from.name)}${where}`;
  const tuple = (base: Rel, names: readonly string[], prefix: string, from: Rel) => {
    const mine = names.map((k) => asText(t.field(base, k)));
    const theirKeys = names.map((_, i) => sql`${ident(`${prefix}${i}`)}`);
    return names.length === 1
      ? sql`${mine[0]} IN (SELECT ${theirKeys[0]} FROM ${ident(from.name)})`
      : sql`(${join(mine)}) IN (SELECT ${join(theirKeys)} FROM ${ident(from.name)})`;
  };
  let keysFrom: Rel | undefined;
  const groups = ready.sub.carry?.unique;
  const subLineage = ready.sub.carry?.lineage;
  // The subsearch's rows are told apart by fields its events hold: the kept rows are those groups' events.
  const narrowing = conditions(ready.ranked).length > 0;
  if (narrowing && groups && groups.length > 0 && subLineage && groups.every((g) => subLineage.fields.includes(g))) {
    const found = t.before(subLineage.base, () => {
      const again = t.subsearch(ready.command.subsearches[0]);
      const ranked = rank(t, again, keys);
      const chosen = t.step(distinct(ranked, groups, 'g', kept(ranked)), new Map());
      const matchable = keys.every((k) => groups.includes(k))
        ? t.step(
            sql`SELECT DISTINCT ${join(keys.map((k, i) => sql`${ident(`g${groups.indexOf(k)}`)} AS ${ident(`k${i}`)}`))} FROM ${ident(chosen.name)}`,
            new Map(),
          )
        : undefined;
      return { chosen, matchable };
    });
    t.restrict(subLineage.base, tuple(subLineage.base, groups, 'g', found.chosen));
    keysFrom = found.matchable;
  }
  if (!mainNarrows) return;
  keysFrom ??= t.before(lineage.base, () => t.step(distinct(ready.ranked, keys, 'k', kept(ready.ranked)), new Map()));
  t.restrict(lineage.base, tuple(lineage.base, keys, 'k', keysFrom));
}

/**
 * The parts (ANDed) of the search / where commands right after the join (table and fields between
 * them only drop fields) that test the subsearch's fields alone, as conditions over its rows.
 */
function filtersOn(t: Translate, ready: PreparedJoin, theirs: (name: string) => boolean, ranked: Rel): Sql[] {
  const conditions: Sql[] = [];
  try {
    for (const command of ready.after) {
      if (command.name === 'table' || command.name === 'fields') continue;
      if (command.name === 'search') {
        const parts = andParts(parseSearch(t.text, command.args));
        for (const part of parts) if (searchFields(part)?.every(theirs)) conditions.push(t.search(part, (name) => t.field(ranked, name)));
      } else if (command.name === 'where') {
        const parts = evalAndParts(parseEval(t.text, command.text[0], command.text[1]));
        for (const part of parts)
          if (evalFields(part).every(theirs)) conditions.push(sql`coalesce(${asBool(t.expr(ranked, part))}, false)`);
      } else break;
    }
  } catch {
    // A filter that does not translate is met (and reported) where it stands.
    return [];
  }
  return conditions;
}

function andParts(e: SearchExpr): SearchExpr[] {
  return e.kind === 'and' ? e.items.flatMap(andParts) : [e];
}

/** The fields a search expression tests; undefined when it also holds a free-text term (which tests no field: never pushed). */
function searchFields(e: SearchExpr): string[] | undefined {
  switch (e.kind) {
    case 'and':
    case 'or': {
      const each = e.items.map(searchFields);
      return each.every((f) => f !== undefined) ? each.flat() : undefined;
    }
    case 'not':
      return searchFields(e.item);
    case 'term':
      return undefined;
    default:
      return [e.field];
  }
}

function evalAndParts(e: SplExpr): SplExpr[] {
  return e.kind === 'bin' && e.op === 'AND' ? [...evalAndParts(e.left), ...evalAndParts(e.right)] : [e];
}

function evalFields(e: SplExpr): string[] {
  switch (e.kind) {
    case 'field':
      return [e.name];
    case 'call':
      return e.args.flatMap(evalFields);
    case 'not':
    case 'neg':
      return evalFields(e.expr);
    case 'bin':
      return [...evalFields(e.left), ...evalFields(e.right)];
    case 'like':
      return [...evalFields(e.expr), ...evalFields(e.pattern)];
    default:
      return [];
  }
}

/** top/rare [N] [limit=N] field… [by field…]: the most (least) common values, count and percent. */

/** append [subsearch]: the subsearch's rows after this search's; a field both have, in one kind. */
export const append: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  a.end();
  if (command.subsearches.length !== 1) t.fail(command.at, 'append: one subsearch in [ ] expected');
  const sub = t.subsearch(command.subsearches[0]);
  const out: Fields = new Map(rel.fields);
  for (const [name, kind] of sub.fields) {
    const mine = out.get(name);
    out.set(name, mine === undefined || mine === kind ? kind : common([mine, kind, 'str']));
  }
  const side = (r: typeof rel, part: number) =>
    sql`SELECT ${join(
      [...out].map(([name, kind]) => {
        const have = r.fields.get(name);
        if (have === undefined) return sql`CAST(NULL AS ${raw(SQL_TYPE[kind])}) AS ${ident(name)}`;
        return sql`${as({ sql: sql`${ident(name)}`, kind: have }, kind)} AS ${ident(name)}`;
      }),
    )}, ${part} AS __part, row_number() OVER (ORDER BY __seq, __tie) AS __s, 0 AS __t FROM ${ident(r.name)}`;
  const both = t.step(sql`${side(rel, 0)} UNION ALL ${side(sub, 1)}`, out);
  return t.step(
    sql`SELECT ${join([...out.keys()].map((n) => sql`${ident(n)}`))}, row_number() OVER (ORDER BY __part, __s, __t) AS __seq, 0 AS __tie FROM ${ident(both.name)}`,
    out,
  );
};
