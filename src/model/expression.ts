/**
 * Alert logic over a row's metrics, e.g. the seed's
 *   (scount > 1 and tweight > 500) or (pcount > 1 and tweight > 300) or tweight > 1000
 * in the one expression language (expr/): numbers, metric names from a whitelist, + - * /,
 * comparisons (> >= < <= = == != <>), and, or, not, parentheses. Parsed once and evaluated in JS
 * on the tree: it never becomes SQL.
 */
import { UsageError } from '../errors.ts';
import type { Expr } from '../expr/ast.ts';
import { alertProblem } from '../expr/check.ts';
import { ExpressionSyntaxError, parseExpr } from '../expr/parse.ts';

export interface Expression {
  text: string;
  evaluate(metrics: Record<string, number>): boolean;
  /** The comparisons that held, for explanations ("tweight 1240 > 1000"). */
  explain(metrics: Record<string, number>): string[];
}

const COMPARISONS = new Set(['>', '>=', '<', '<=', '=', '<>']);

/** The seed writes the total weight both as tweight and as TotalWeight. */
function aliased(e: Expr): Expr {
  switch (e.kind) {
    case 'col':
      return /^totalweight$/i.test(e.name) ? { kind: 'col', name: 'tweight' } : e;
    case 'not':
    case 'neg':
      return { ...e, expr: aliased(e.expr) };
    case 'bin':
      return { ...e, left: aliased(e.left), right: aliased(e.right) };
    default:
      return e;
  }
}

function arithmetic(op: string, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return b === 0 ? 0 : a / b;
    case '>':
      return Number(a > b);
    case '>=':
      return Number(a >= b);
    case '<':
      return Number(a < b);
    case '<=':
      return Number(a <= b);
    case '=':
      return Number(a === b);
    default:
      return Number(a !== b);
  }
}

function value(e: Expr, m: Record<string, number>): number {
  switch (e.kind) {
    case 'num':
      return Number(e.text);
    case 'col':
      return m[e.name] ?? 0;
    case 'not':
      return value(e.expr, m) ? 0 : 1;
    case 'neg':
      return -value(e.expr, m);
    case 'bin': {
      const a = value(e.left, m);
      if (e.op === 'and') return a && value(e.right, m) ? 1 : 0;
      if (e.op === 'or') return a || value(e.right, m) ? 1 : 0;
      const b = value(e.right, m);
      return arithmetic(e.op, a, b);
    }
    default:
      return 0; // alertProblem() admits no other node
  }
}

function show(e: Expr): string {
  switch (e.kind) {
    case 'num':
      return e.text;
    case 'col':
      return e.name;
    case 'not':
      return `not ${show(e.expr)}`;
    case 'neg':
      return `-${show(e.expr)}`;
    case 'bin':
      return `${show(e.left)} ${e.op === '<>' ? '!=' : e.op} ${show(e.right)}`;
    default:
      return '';
  }
}

export function parseExpression(text: string, allowed: readonly string[]): Expression {
  let root: Expr;
  try {
    root = aliased(parseExpr(text));
  } catch (error) {
    if (error instanceof ExpressionSyntaxError) throw new UsageError(`alert expression: ${error.message}`);
    throw error;
  }
  const problem = alertProblem(root, allowed);
  if (problem) throw new UsageError(`alert expression: ${problem}`);
  // Only the branches that made the expression true: a failed "and" explains nothing.
  const explain = (e: Expr, m: Record<string, number>, out: string[]) => {
    if (e.kind === 'bin' && (e.op === 'and' || e.op === 'or')) {
      if (!value(e, m)) return;
      for (const side of [e.left, e.right]) if (e.op === 'and' || value(side, m)) explain(side, m, out);
    } else if (e.kind === 'bin' && COMPARISONS.has(e.op) && value(e, m)) {
      // Twelve significant digits: a sum of weights like 1511.9999999999998 reads 1512.
      out.push(`${show(e.left)} ${Number(value(e.left, m).toPrecision(12))} ${e.op === '<>' ? '!=' : e.op} ${show(e.right)}`);
    }
  };
  return {
    text,
    evaluate: (m) => value(root, m) !== 0,
    explain: (m) => {
      const out: string[] = [];
      explain(root, m, out);
      return out;
    },
  };
}
