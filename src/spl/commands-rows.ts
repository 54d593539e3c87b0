/**
 * Commands that filter or compute per event: search, where, eval, nomv, bin/bucket, fillnull.
 */
import { ident, join, raw, sql } from '../store/sql-template.ts';
import { parseEval, parseSearch } from './parse.ts';
import { Args, literal, type Translator } from './translator.ts';
import { asBool, asNumber, asText, type Kind, type Typed } from './values.ts';

export const search: Translator = (t, rel, command) => {
  const terms = parseSearch(t.text, command.args);
  const condition = t.search(terms, (name) => t.field(rel, name));
  const { columns, fields } = t.select(rel, new Map());
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)} WHERE ${condition}`, fields);
};

export const where: Translator = (t, rel, command) => {
  if (command.args.length === 0) t.fail(command.at, 'where: an expression expected');
  const e = parseEval(t.text, command.text[0], command.text[1]);
  const { columns, fields } = t.select(rel, new Map());
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)} WHERE coalesce(${asBool(t.expr(rel, e))}, false)`, fields);
};

/** eval a=…, b=…: each assignment sees the ones before it. */
export const evaluate: Translator = (t, rel, command) => {
  const args = command.args;
  if (args.length === 0) t.fail(command.at, 'eval: field=expression expected');
  // Assignments start at a name followed by "=" at parenthesis depth 0 after a comma (or at the start).
  const starts: number[] = [];
  let depth = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.type === 'lparen') depth++;
    else if (a.type === 'rparen') depth--;
    else if (depth === 0 && (i === 0 || args[i - 1].type === 'comma') && args[i + 1]?.type === 'op' && args[i + 1].image === '=')
      starts.push(i);
  }
  if (starts[0] !== 0) t.fail(args[0].at, 'eval: field=expression expected');
  let current = rel;
  for (const [k, start] of starts.entries()) {
    const name = args[start].value.replace(/^'(.*)'$/, '$1');
    const from = args[start + 2]?.at;
    if (from === undefined) t.fail(args[start + 1].at, `eval: an expression after "${name}="`);
    const next = starts[k + 1];
    const to = next === undefined ? command.text[1] : args[next - 1].at; // up to the comma before the next assignment
    const value = t.expr(current, parseEval(t.text, from, to));
    const { columns, fields } = t.select(
      current,
      new Map([[name, value.kind === 'null' ? { sql: raw('CAST(NULL AS VARCHAR)'), kind: 'str' } : value]]),
    );
    current = t.step(sql`SELECT ${join(columns)} FROM ${ident(current.name)}`, fields);
  }
  return current;
};

export const nomv: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  const name = a.name();
  a.end();
  const f = t.field(rel, name);
  if (f.kind !== 'mv') return rel;
  const { columns, fields: out } = t.select(rel, new Map([[name, { sql: sql`array_to_string(${f.sql}, ${'\n'})`, kind: 'str' as Kind }]]));
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)}`, out);
};

const SPAN_SECONDS: Record<string, number> = { s: 1, sec: 1, m: 60, min: 60, h: 3600, hr: 3600, d: 86400, day: 86400, w: 604800 };

/** bin/bucket field span=N[unit] (times) or span=N (numbers): each value to the start of its bin. */
export const bin: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  let options = a.options(['span', 'bins']);
  const name = a.name();
  let target = name;
  if (a.isWord('as')) {
    a.i++;
    target = a.name('a name after AS');
  }
  options = new Map([...options, ...a.options(['span', 'bins'])]);
  a.end();
  const span = options.get('span');
  if (!span) return t.fail(command.at, `${command.name}: span= is required (bins= is not supported)`);
  const m = /^(\d+(?:\.\d+)?)([a-z]*)$/i.exec(span.value);
  if (!m) return t.fail(span.at, `${command.name}: span "${span.value}" is not a number with an optional unit (1h, 10m, 1d)`);
  const unit = m[2].toLowerCase();
  const width =
    Number(m[1]) *
    (unit === '' ? 1 : (SPAN_SECONDS[unit] ?? t.fail(span.at, `${command.name}: span unit "${m[2]}" is not supported (s, m, h, d, w)`)));
  const f = t.field(rel, name);
  const value = { sql: sql`floor(${asNumber(f)} / ${width}) * ${width}`, kind: 'num' as Kind };
  const { columns, fields: out } = t.select(rel, new Map([[target, value]]));
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)}`, out);
};

/** fillnull [value=X] [fields]: NULL (or no field) becomes X (default 0). */
export const fillnull: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  const value = a.options(['value']).get('value')?.value ?? '0';
  const names = a.fieldList();
  const targets = names.length > 0 ? names : [...rel.fields.keys()];
  const replace = new Map<string, Typed>();
  const v = literal(value);
  for (const name of targets) {
    const f = rel.fields.has(name) ? t.field(rel, name) : ({ sql: raw('NULL'), kind: 'null' } as Typed);
    if (f.kind === 'mv') replace.set(name, { sql: sql`coalesce(${f.sql}, [${asText(v)}])`, kind: 'mv' });
    else if (f.kind === 'num' && v.kind === 'num') replace.set(name, { sql: sql`coalesce(${f.sql}, ${v.sql})`, kind: 'num' });
    else replace.set(name, { sql: sql`coalesce(${asText(f)}, ${asText(v)})`, kind: 'str' });
  }
  const { columns, fields: out } = t.select(rel, replace);
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)}`, out);
};

/** join [type=inner|left|outer] [max=N] [overwrite=bool] fields [subsearch]: rows matched on the fields' values. */
