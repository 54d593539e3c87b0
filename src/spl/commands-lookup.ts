/**
 * Lookups: CSV tables a hunter ingested with `ingest FILE --as lookup:NAME` (the table
 * lookup_NAME, every column text). `lookup NAME field [AS event_field] … [OUTPUT|OUTPUTNEW f [AS g] …]`
 * adds the matching rows' fields to each event (several matches: a multivalue); `| inputlookup
 * NAME` starts a search with the lookup's rows; `| makeresults [count=N]` with N empty events.
 */
import { ident, join, raw, type Sql, sql } from '../store/sql-template.ts';
import type { Command } from './ast.ts';
import { Args, type Fields, type Rel, type Translate, type Translator } from './translator.ts';
import { as, asText, type Kind, type Typed } from './values.ts';

const TABLE = (name: string) => `lookup_${name.toLowerCase()}`;

/** A lookup's columns, or a refusal that says how to make it. */
function columnsOf(t: Translate, name: string, at: number): readonly string[] {
  const columns = t.options.lookups?.[name.toLowerCase()];
  if (!columns) return t.fail(at, `lookup "${name}" is not in the workspace: huntbook ingest FILE.csv --as lookup:${name.toLowerCase()}`);
  return columns;
}

export const lookup: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  const nameToken = a.next('a lookup name');
  const columns = columnsOf(t, nameToken.value, nameToken.at);
  const pairs = (stop: boolean): [string, string][] => {
    const out: [string, string][] = [];
    while (!a.done() && !(stop && (a.isWord('output') || a.isWord('outputnew')))) {
      if (a.peek()?.type === 'comma') {
        a.i++;
        continue;
      }
      const from = a.name();
      let to = from;
      if (a.isWord('as')) {
        a.i++;
        to = a.name('a name after AS');
      }
      out.push([from, to]);
    }
    return out;
  };
  const keys = pairs(true);
  if (keys.length === 0) t.fail(command.at, 'lookup: the lookup field to match on is required');
  let outputNew = false;
  let outputs: [string, string][];
  if (a.isWord('output') || a.isWord('outputnew')) {
    outputNew = a.next('OUTPUT').value.toLowerCase() === 'outputnew';
    outputs = pairs(false);
  } else {
    outputs = columns.filter((c) => !keys.some(([k]) => k === c)).map((c) => [c, c]);
  }
  for (const [column] of [...keys, ...outputs]) {
    if (!columns.includes(column))
      t.fail(command.at, `lookup ${nameToken.value}: it has no field "${column}" (it has ${columns.join(', ')})`);
  }
  // Each key's rows, their outputs as lists (in the file's order).
  const grouped = t.step(
    sql`SELECT ${join(keys.map(([k], i) => sql`${ident(k)} AS ${ident(`__k${i}`)}`))},
      ${join(outputs.map(([o], i) => sql`list(${ident(o)} ORDER BY rowid) FILTER (WHERE ${ident(o)} IS NOT NULL) AS ${ident(`__o${i}`)}`))},
      0 AS __seq, 0 AS __tie
      FROM ${ident(TABLE(nameToken.value))} GROUP BY ${join(keys.map((_, i) => raw(String(i + 1))))}`,
    new Map(),
  );
  const replace = new Map<string, Typed>();
  for (const [i, [, target]] of outputs.entries()) {
    const found: Typed = { sql: sql`(CASE WHEN len(l.${ident(`__o${i}`)}) > 0 THEN l.${ident(`__o${i}`)} END)`, kind: 'mv' };
    const existing = rel.fields.get(target);
    if (existing === undefined) {
      replace.set(target, found);
      continue;
    }
    const mine: Typed = { sql: sql`m.${ident(target)}`, kind: existing };
    // OUTPUT overwrites where the lookup matched; OUTPUTNEW only fills a field that is empty.
    const value = outputNew ? sql`coalesce(${as(mine, 'mv')}, ${found.sql})` : sql`coalesce(${found.sql}, ${as(mine, 'mv')})`;
    replace.set(target, { sql: sql`(CASE WHEN len(${value}) > 0 THEN ${value} END)`, kind: 'mv' });
  }
  const columnsOut: Sql[] = [];
  const fields: Fields = new Map();
  for (const [name, kind] of rel.fields) {
    const v = replace.get(name);
    columnsOut.push(v ? sql`${v.sql} AS ${ident(name)}` : sql`m.${ident(name)}`);
    fields.set(name, v ? v.kind : kind);
  }
  for (const [name, v] of replace) {
    if (rel.fields.has(name)) continue;
    columnsOut.push(sql`${v.sql} AS ${ident(name)}`);
    fields.set(name, v.kind);
  }
  const on = keys.map(([, local], i) => sql`${asText(t.field(rel, local, 'm'))} = l.${ident(`__k${i}`)}`);
  return t.step(
    sql`SELECT ${join([...columnsOut, raw('m.__seq AS __seq'), raw('m.__tie AS __tie')])}
      FROM ${ident(rel.name)} m LEFT JOIN ${ident(grouped.name)} l ON ${join(on, ' AND ')}`,
    fields,
  );
};

/** | inputlookup NAME: the lookup's rows, in its file's order. */
export function inputlookup(t: Translate, command: Command): Rel {
  const a = new Args(t, command);
  const nameToken = a.next('a lookup name');
  a.end();
  const columns = columnsOf(t, nameToken.value, nameToken.at);
  const fields: Fields = new Map(columns.map((c) => [c, 'str' as Kind]));
  return t.step(
    sql`SELECT ${join(columns.map((c) => sql`${ident(c)}`))}, rowid AS __seq, 0 AS __tie FROM ${ident(TABLE(nameToken.value))}`,
    fields,
  );
}

/** | makeresults [count=N]: N events with only _time (now). */
export function makeresults(t: Translate, command: Command): Rel {
  const a = new Args(t, command);
  const options = a.options(['count', 'annotate']);
  a.end();
  if (options.has('annotate')) t.fail(options.get('annotate')!.at, 'makeresults: annotate= is not supported');
  const count = options.get('count')?.value ?? '1';
  if (!/^\d+$/.test(count)) t.fail(options.get('count')!.at, `makeresults: count=${count} is not a count`);
  return t.step(
    sql`SELECT floor(${t.options.now.getTime() / 1000}) AS "_time", range AS __seq, 0 AS __tie FROM range(${Number(count)})`,
    new Map([['_time', 'num' as Kind]]),
  );
}
