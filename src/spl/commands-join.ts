/**
 * Commands that bring in another search (its subsearch in [ ]): join, append.
 */
import { ident, join, raw, type Sql, sql } from '../store/sql-template.ts';
import { Args, type Fields, SQL_TYPE, type Translator } from './translator.ts';
import { as, asText, common } from './values.ts';

export const joinCommand: Translator = (t, rel, command) => {
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
  const sub = t.subsearch(command.subsearches[0]);
  // Each key's first max rows of the subsearch (max=0: all of them).
  const subKeys = keys.map((k) => asText(t.field(sub, k)));
  const ranked = t.step(
    sql`SELECT *, row_number() OVER (PARTITION BY ${join(subKeys)} ORDER BY __seq, __tie) AS __n FROM ${ident(sub.name)}`,
    sub.fields,
  );
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
