/**
 * Native rules may give a SQL boolean for what Sigma cannot say. It is read by the expression
 * language (expr/): one expression, no statements, comments or subqueries, every name a column
 * of the rule's table, every function and type from a short list. What runs is the tree rendered
 * again for the engine, every string bound: never the text a rule pack carried.
 */
import type { Expr } from '../expr/ast.ts';
import { predicateProblem } from '../expr/check.ts';
import { ExpressionSyntaxError, parseExpr } from '../expr/parse.ts';
import { CANONICAL_COLUMNS, type CanonicalTable, EXTRA_COLUMN } from '../store/schema.ts';
import { UnsupportedError } from './sigma/compile.ts';

const parsed = new Map<string, Expr>();

/** The tree of a rule's (or a feature's) condition over `table`; an UnsupportedError says what is refused. */
export function checkRuleSql(text: string, table: CanonicalTable): Expr {
  const key = `${table}\u0000${text}`;
  const known = parsed.get(key);
  if (known) return known;
  let tree: Expr;
  try {
    tree = parseExpr(text);
  } catch (error) {
    if (error instanceof ExpressionSyntaxError) throw new UnsupportedError('SQL rule', error.message);
    throw error;
  }
  const columns = new Set([...CANONICAL_COLUMNS[table].map((c) => c.name), EXTRA_COLUMN[table]]);
  const problem = predicateProblem(tree, columns, table);
  if (problem) throw new UnsupportedError('SQL rule', problem);
  parsed.set(key, tree);
  return tree;
}
