/**
 * Commands that filter or compute per event: search, where, eval, nomv, bin/bucket, fillnull,
 * rex, mvexpand, makemv.
 */
import { ident, join, raw, type Sql, sql } from '../store/sql-template.ts';
import { parseEval, parseSearch } from './parse.ts';
import { Args, literal, type Rel, spanSeconds, type Translate, type Translator } from './translator.ts';
import { asBool, asList, asNumber, asText, type Kind, type Typed } from './values.ts';

export const search: Translator = (t, rel, command) => {
  const terms = parseSearch(t.text, command.args);
  const condition = t.search(terms, (name) => t.field(rel, name));
  const { columns, fields, carry } = t.select(rel, new Map());
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)} WHERE ${condition}`, fields, carry);
};

export const where: Translator = (t, rel, command) => {
  if (command.args.length === 0) t.fail(command.at, 'where: an expression expected');
  const e = parseEval(t.text, command.text[0], command.text[1]);
  const { columns, fields, carry } = t.select(rel, new Map());
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)} WHERE coalesce(${asBool(t.expr(rel, e))}, false)`, fields, carry);
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
    const { columns, fields, carry } = t.select(
      current,
      new Map([[name, value.kind === 'null' ? { sql: raw('CAST(NULL AS VARCHAR)'), kind: 'str' } : value]]),
    );
    current = t.step(sql`SELECT ${join(columns)} FROM ${ident(current.name)}`, fields, carry);
  }
  return current;
};

export const nomv: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  const name = a.name();
  a.end();
  const f = t.field(rel, name);
  if (f.kind !== 'mv') return rel;
  const {
    columns,
    fields: out,
    carry,
  } = t.select(rel, new Map([[name, { sql: sql`array_to_string(${f.sql}, ${'\n'})`, kind: 'str' as Kind }]]));
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)}`, out, carry);
};

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
  const width = spanSeconds(t, span.value, span.at, command.name);
  const f = t.field(rel, name);
  const value = { sql: sql`floor(${asNumber(f)} / ${width}) * ${width}`, kind: 'num' as Kind };
  const { columns, fields: out, carry } = t.select(rel, new Map([[target, value]]));
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)}`, out, carry);
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
  const { columns, fields: out, carry } = t.select(rel, replace);
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)}`, out, carry);
};

/** join [type=inner|left|outer] [max=N] [overwrite=bool] fields [subsearch]: rows matched on the fields' values. */

/**
 * The capture groups of a regular expression, in order: a name for a named group ((?<n>…) or
 * (?P<n>…)), null for an unnamed one. Escapes and character classes are skipped.
 */
export function captureGroups(pattern: string): (string | null)[] {
  const groups: (string | null)[] = [];
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      continue;
    }
    if (ch === '[') {
      inClass = true;
      continue;
    }
    if (ch !== '(') continue;
    if (pattern[i + 1] !== '?') {
      groups.push(null);
      continue;
    }
    const named = /^\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(pattern.slice(i + 1));
    if (named) groups.push(named[1]);
  }
  return groups;
}

/**
 * rex field=F "(?<name>…)": each named group a field, from the first match (a field keeps its
 * value where the expression does not match); rex field=F mode=sed "s/re/replacement/[g]".
 */
export const rex: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  const known = ['field', 'mode', 'max_match', 'offset_field'];
  let options = a.options(known);
  const patternToken = a.next('a regular expression in quotes');
  if (patternToken.type !== 'string') t.fail(patternToken.at, 'rex: the regular expression in double quotes');
  options = new Map([...options, ...a.options(known)]);
  a.end();
  for (const [name, token] of options) if (name === 'offset_field') t.fail(token.at, 'rex: offset_field= is not supported');
  const fieldName = options.get('field')?.value;
  if (!fieldName) return t.fail(command.at, 'rex: field= is required (huntbook keeps no _raw to extract from)');
  const source = t.field(rel, fieldName);
  const text = asText(source);
  const maxMatch = options.get('max_match')?.value ?? '1';
  if (maxMatch !== '1') t.fail(options.get('max_match')!.at, 'rex: max_match other than 1 is not supported');
  if (options.get('mode')?.value.toLowerCase() === 'sed') {
    const sed = /^s\/((?:[^/\\]|\\.)*)\/((?:[^/\\]|\\.)*)\/(g?)$/.exec(patternToken.value);
    if (!sed)
      return t.fail(
        patternToken.at,
        'rex mode=sed: "s/regex/replacement/" or "s/regex/replacement/g" (y/// and other flags are not supported)',
      );
    const [, re, replacement, global] = sed;
    const value: Typed = {
      sql: sql`regexp_replace(${text}, ${re}, ${replacement.replaceAll('\\/', '/')}${global ? sql`, 'g'` : raw('')})`,
      kind: 'str',
    };
    const { columns, fields: out, carry } = t.select(rel, new Map([[fieldName, value]]));
    return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)}`, out, carry);
  }
  // RE2 reads (?P<name>…); PCRE's (?<name>…) is the same group.
  const re = patternToken.value.replace(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g, '(?P<$1>');
  const groups = captureGroups(re);
  if (!groups.some((g) => g !== null)) t.fail(patternToken.at, 'rex: the expression names no group (?<name>…) to extract');
  const replace = new Map<string, Typed>();
  for (const [i, name] of groups.entries()) {
    if (name === null) continue;
    const old = rel.fields.has(name) ? asText(t.field(rel, name)) : raw('CAST(NULL AS VARCHAR)');
    replace.set(name, {
      sql: sql`(CASE WHEN regexp_matches(${text}, ${re}) THEN nullif(regexp_extract(${text}, ${re}, ${i + 1}), '') ELSE ${old} END)`,
      kind: 'str',
    });
  }
  const { columns, fields: out, carry } = t.select(rel, replace);
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)}`, out, carry);
};

/** One row per value of a field, in place of the row (rows without a value dropped); at most `limit` values each. */
export function expandValues(t: Translate, rel: Rel, name: string, limit?: number): Rel {
  const list = asList(t.field(rel, name));
  const values = limit !== undefined ? sql`${list}[1:${limit}]` : list;
  const { columns, fields: out } = t.select(rel, new Map([[name, { sql: sql`unnest(${values})`, kind: 'str' as Kind }]]));
  const expanded = t.step(
    sql`SELECT ${join(columns.slice(0, -2))}, __seq AS __s, __tie AS __t, unnest(range(len(${values}))) AS __i, 0 AS __seq, 0 AS __tie FROM ${ident(rel.name)}`,
    out,
  );
  return t.step(
    sql`SELECT ${join([...out.keys()].map((n) => sql`${ident(n)}`))}, row_number() OVER (ORDER BY __s, __t, __i) AS __seq, 0 AS __tie FROM ${ident(expanded.name)}`,
    out,
  );
}

/** mvexpand field [limit=N]: one row per value of the field (rows without a value dropped). */
export const mvexpand: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  let options = a.options(['limit']);
  const name = a.name();
  options = new Map([...options, ...a.options(['limit'])]);
  a.end();
  const limit = options.get('limit')?.value;
  return expandValues(t, rel, name, limit && /^\d+$/.test(limit) ? Number(limit) : undefined);
};

/** makemv [delim="x" | tokenizer="re"] [allowempty=bool] field: a text field split into values. */
export const makemv: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  const known = ['delim', 'tokenizer', 'allowempty', 'setsv'];
  let options = a.options(known);
  const name = a.name();
  options = new Map([...options, ...a.options(known)]);
  a.end();
  if (options.has('setsv')) t.fail(options.get('setsv')!.at, 'makemv: setsv= is not supported');
  const text = asText(t.field(rel, name));
  const tokenizer = options.get('tokenizer')?.value;
  const allowEmpty = options.get('allowempty')?.value.toLowerCase() === 'true';
  let list: Sql;
  if (tokenizer !== undefined) list = sql`regexp_extract_all(${text}, ${tokenizer}, 1)`;
  else list = sql`string_split(${text}, ${options.get('delim')?.value ?? ' '})`;
  if (!allowEmpty) list = sql`list_filter(${list}, v -> v <> '')`;
  const value: Typed = { sql: sql`(CASE WHEN len(${list}) > 0 THEN ${list} END)`, kind: 'mv' };
  const { columns, fields: out, carry } = t.select(rel, new Map([[name, value]]));
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)}`, out, carry);
};
