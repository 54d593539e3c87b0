/**
 * Native rules may give a SQL boolean for what Sigma cannot say. It is checked before use: one
 * expression, no statements or comments, and every bare identifier a column of the rule's table
 * (or a function we allow). Rule packs travel between teams; this keeps them to predicates.
 */
import { CANONICAL_COLUMNS, EXTRA_COLUMN, type CanonicalTable } from '../store/schema.ts';
import { UnsupportedError } from './sigma/compile.ts';

const KEYWORDS = new Set([
  'and',
  'or',
  'not',
  'in',
  'is',
  'null',
  'like',
  'ilike',
  'between',
  'true',
  'false',
  'case',
  'when',
  'then',
  'else',
  'end',
  'escape',
  'similar',
  'to',
  'glob',
  'as',
  'interval',
  'hour',
  'minute',
  'day',
  'second',
]);
const FUNCTIONS = new Set([
  'lower',
  'upper',
  'length',
  'contains',
  'starts_with',
  'ends_with',
  'regexp_matches',
  'regexp_full_match',
  'coalesce',
  'nullif',
  'abs',
  'cast',
  'try_cast',
  'hour',
  'dayofweek',
  'date_part',
  'json_extract_string',
  'split_part',
  'strlen',
  'trim',
  'left',
  'right',
  'list_contains',
  'string_split',
  'len',
  'position',
]);
const TYPES = new Set(['varchar', 'bigint', 'integer', 'double', 'boolean', 'timestamp', 'json']);

export function checkRuleSql(sql: string, table: CanonicalTable): void {
  const columns = new Set([...CANONICAL_COLUMNS[table].map((c) => c.name), EXTRA_COLUMN[table]]);
  // Drop string literals' contents before looking at words and separators: a ';' inside a
  // regular expression is text. (An E'...' escape string leaves a bare "E" behind, which is
  // refused below as not a column, so a quote escaped inside one cannot hide anything.)
  const stripped = sql.replace(/'(?:[^']|'')*'/g, "''");
  if (/'/.test(stripped.replace(/''/g, ''))) throw new UnsupportedError('SQL rule', 'a string literal is not closed');
  if (/;|--|\/\*|\*\//.test(stripped))
    throw new UnsupportedError('SQL rule', 'statements and comments are not allowed, only one boolean expression');
  if (/"/.test(stripped.replace(/"(user)"/g, '')))
    throw new UnsupportedError('SQL rule', 'quoted identifiers other than "user" are not allowed');
  const re = /([A-Za-z_][A-Za-z0-9_]*)(\s*\()?/g;
  let match: RegExpExecArray | null;
  while ((match = re.exec(stripped)) !== null) {
    const word = match[1].toLowerCase();
    if (match[2] && !KEYWORDS.has(word)) {
      if (!FUNCTIONS.has(word)) throw new UnsupportedError('SQL rule', `function ${match[1]}() is not allowed`);
      continue;
    }
    if (KEYWORDS.has(word) || TYPES.has(word) || columns.has(word)) continue;
    if (word === 'select' || word === 'from') throw new UnsupportedError('SQL rule', 'subqueries are not allowed');
    throw new UnsupportedError('SQL rule', `"${match[1]}" is not a column of ${table}`);
  }
}
