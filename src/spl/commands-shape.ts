/**
 * Commands that choose, name and order rows and fields: table, fields, rename, sort, head, tail, dedup.
 */
import { ident, join, raw, type Sql, sql } from '../store/sql-template.ts';
import { Args, type Fields, narrowed, type Translator, wildcard } from './translator.ts';
import { asNumber, asText } from './values.ts';

export const table: Translator = (t, rel, command) => {
  const names = new Args(t, command).fieldList();
  if (names.length === 0) t.fail(command.at, 'table: field names expected');
  const fields: Fields = new Map();
  const columns: Sql[] = [];
  for (const pattern of names) {
    const matched = pattern.includes('*') ? [...rel.fields.keys()].filter((f) => wildcard(pattern).test(f)) : [pattern];
    for (const name of matched) {
      if (fields.has(name)) continue;
      const f = t.field(rel, name);
      if (f.kind === 'null') continue; // Splunk's table leaves out a field that is not there
      columns.push(sql`${f.sql} AS ${ident(name)}`);
      fields.set(name, f.kind);
    }
  }
  // The rows stay keyed and ordered by fields the table keeps.
  const kept = (names: readonly string[] | undefined) => (names?.every((n) => fields.has(n)) ? names : undefined);
  return t.step(sql`SELECT ${join([...columns, raw('__seq'), raw('__tie')])} FROM ${ident(rel.name)}`, fields, {
    unique: kept(rel.carry?.unique),
    sortedBy: kept(rel.carry?.sortedBy),
    lineage: narrowed(rel.carry?.lineage, (n) => fields.has(n)),
  });
};

export const fields: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  let remove = false;
  if (a.peek()?.type === 'word' && (a.peek()!.value === '-' || a.peek()!.value === '+')) remove = a.next('-').value === '-';
  const names = a.fieldList();
  const match = (f: string) => names.some((p) => wildcard(p).test(f));
  const keep = new Set([...rel.fields.keys()].filter((f) => (remove ? !match(f) : match(f))));
  const drop = new Set([...rel.fields.keys()].filter((f) => !keep.has(f)));
  const { columns, fields: out, carry } = t.select(rel, new Map(), drop);
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)}`, out, carry);
};

export const rename: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  const pairs: [string, string][] = [];
  while (!a.done()) {
    if (a.peek()?.type === 'comma') {
      a.i++;
      continue;
    }
    const from = a.name();
    if (!a.isWord('as')) t.fail(a.peek()?.at ?? command.text[1], 'rename: old AS new');
    a.i++;
    pairs.push([from, a.name('a new name')]);
  }
  // A wildcard renames every field it matches, the new name taking what * stood for (*_ip AS ip_*).
  const renamed = new Map<string, string>();
  for (const [from, to] of pairs) {
    if (!from.includes('*')) {
      renamed.set(from, to);
      continue;
    }
    const stars = (from.match(/\*/g) ?? []).length;
    if ((to.match(/\*/g) ?? []).length !== stars) t.fail(command.at, `rename: "${from}" and "${to}" need as many * each`);
    const pattern = new RegExp(
      `^${from
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('(.*)')}$`,
    );
    for (const name of rel.fields.keys()) {
      const m = pattern.exec(name);
      if (!m) continue;
      let i = 1;
      renamed.set(
        name,
        to.replace(/\*/g, () => m[i++]),
      );
    }
  }
  const columns: Sql[] = [];
  const out: Fields = new Map();
  for (const [name, kind] of rel.fields) {
    const target = renamed.get(name) ?? name;
    if ([...renamed.values()].includes(name) && !renamed.has(name)) continue; // overwritten by a rename
    columns.push(sql`${ident(name)} AS ${ident(target)}`);
    out.set(target, kind);
  }
  return t.step(sql`SELECT ${join([...columns, raw('__seq'), raw('__tie')])} FROM ${ident(rel.name)}`, out);
};

/** sort [N] [limit=N] [+|-]field … [desc|d]: at most 10,000 rows unless a count says otherwise (0: all). */
export const sort: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  let limit = a.leadingCount(10_000);
  const option = a.options(['limit']).get('limit');
  if (option) limit = Number(option.value);
  const keys: { name: string; desc: boolean; how?: string }[] = [];
  let reverse = false;
  while (!a.done()) {
    const token = a.next('a field');
    if (token.type === 'comma') continue;
    let word = token.value;
    if ((word === 'desc' || word === 'd') && a.done() && keys.length > 0) {
      reverse = true;
      break;
    }
    let desc = false;
    if (word === '-' || word === '+') {
      desc = word === '-';
      word = a.name();
    } else if (word.startsWith('-') || word.startsWith('+')) {
      desc = word.startsWith('-');
      word = word.slice(1);
    }
    let how: string | undefined;
    if (['num', 'str', 'ip', 'auto'].includes(word.toLowerCase()) && a.peek()?.type === 'lparen') {
      how = word.toLowerCase();
      a.i++;
      word = a.name();
      a.next('")"');
    }
    keys.push({ name: word, desc, how });
  }
  if (keys.length === 0) t.fail(command.at, 'sort: a field expected');
  const order = keys.map((k) => {
    const f = t.field(rel, k.name);
    const desc = k.desc !== reverse;
    const dir = raw(desc ? 'DESC NULLS LAST' : 'ASC NULLS LAST');
    // Numbers before texts, each in its own order (Splunk's auto sort).
    if (k.how === 'str') return sql`${asText(f)} ${dir}`;
    return sql`${asNumber(f)} ${dir}, ${asText(f)} ${dir}`;
  });
  const { columns, fields: out } = t.select(rel, new Map());
  const ranked = t.step(
    sql`SELECT ${join(columns.slice(0, -2))}, row_number() OVER (ORDER BY ${join(order)}, __seq, __tie) AS __seq, 0 AS __tie FROM ${ident(rel.name)}`,
    out,
  );
  if (limit === 0) return ranked;
  return t.step(sql`SELECT * FROM ${ident(ranked.name)} WHERE __seq <= ${limit}`, out);
};

export const headOrTail =
  (tail: boolean): Translator =>
  (t, rel, command) => {
    const a = new Args(t, command);
    const options = a.options(['limit']);
    let n = 10;
    const count = options.get('limit') ?? (a.done() ? undefined : a.next('a count'));
    if (count) {
      if (!/^\d+$/.test(count.value)) t.fail(count.at, `${command.name}: a count expected, not "${count.value}"`);
      n = Number(count.value);
    }
    a.end();
    const { columns, fields: out } = t.select(rel, new Map());
    const direction = raw(tail ? 'DESC' : 'ASC');
    // tail gives the last rows, last first (as Splunk).
    const ranked = t.step(
      sql`SELECT ${join(columns.slice(0, -2))}, row_number() OVER (ORDER BY __seq ${direction}, __tie ${direction}) AS __seq, 0 AS __tie FROM ${ident(rel.name)}`,
      out,
    );
    return t.step(sql`SELECT * FROM ${ident(ranked.name)} WHERE __seq <= ${n}`, out);
  };

/** dedup [N] fields [keepempty=bool] [consecutive=…]: the first row of each combination; rows without a field dropped. */
export const dedup: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  const keep = a.leadingCount(1);
  const known = ['keepempty', 'consecutive', 'keepevents'];
  const before = a.options(known);
  const names = a.fieldList([...known, 'sortby']);
  const options = new Map([...before, ...a.options(known)]);
  if (a.isWord('sortby')) t.fail(a.peek()!.at, 'dedup: sortby is not supported (sort first)');
  a.end();
  for (const [name, token] of options) if (name !== 'keepempty') t.fail(token.at, `dedup: option ${name}= is not supported`);
  if (names.length === 0) t.fail(command.at, 'dedup: field names expected');
  const keys = names.map((n) => t.field(rel, n));
  const keepEmpty = options.get('keepempty')?.value.toLowerCase() === 'true';
  const present = keys.map((k) => sql`${k.kind === 'null' ? raw('NULL') : asText(k)} IS NOT NULL`);
  const { columns, fields: out, carry } = t.select(rel, new Map());
  const ranked = t.step(
    sql`SELECT ${join(columns)}, row_number() OVER (PARTITION BY ${join(keys.map((k) => (k.kind === 'null' ? raw('NULL') : asText(k))))} ORDER BY ${t.eventOrder(rel)}) AS __n,
      ${join(present, ' AND ')} AS __all FROM ${ident(rel.name)}`,
    out,
  );
  const kept = keepEmpty ? sql`(__n <= ${keep} OR NOT __all)` : sql`(__all AND __n <= ${keep})`;
  // Which row is first depends on the other rows of its combination: only the dedup fields keep others apart.
  carry.lineage = narrowed(carry.lineage, (n) => names.includes(n));
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(ranked.name)} WHERE ${kept}`, out, carry);
};
