/**
 * A small, safe expression language for alert logic over a row's metrics, e.g. the seed's
 *   (scount > 1 and tweight > 500) or (pcount > 1 and tweight > 300) or tweight > 1000
 * Numbers, metric names from a whitelist, + - * /, comparisons (> >= < <= = !=), and, or, not,
 * parentheses. It is parsed once and evaluated in JS: it never becomes SQL.
 */
import { UsageError } from '../errors.ts';

type Node =
  | { kind: 'num'; value: number }
  | { kind: 'var'; name: string }
  | { kind: 'not'; operand: Node }
  | { kind: 'bin'; op: string; left: Node; right: Node };

export interface Expression {
  text: string;
  evaluate(metrics: Record<string, number>): boolean;
  /** The comparisons that held, for explanations ("tweight 1240 > 1000"). */
  explain(metrics: Record<string, number>): string[];
}

const TOKEN = /\s*(\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*|>=|<=|!=|==|[()+\-*/<>=])/y;

export function parseExpression(text: string, allowed: readonly string[]): Expression {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  let match: RegExpExecArray | null;
  let end = 0;
  while ((match = TOKEN.exec(text)) !== null) {
    tokens.push(match[1]);
    end = TOKEN.lastIndex;
  }
  if (text.slice(end).trim() !== '') throw new UsageError(`alert expression: cannot read "${text.slice(end).trim()}"`);
  let pos = 0;
  const peek = () => tokens[pos]?.toLowerCase();
  const expect = (t: string) => {
    if (tokens[pos] !== t)
      throw new UsageError(`alert expression: expected "${t}" ${tokens[pos] ? `before "${tokens[pos]}"` : 'at the end'}`);
    pos++;
  };
  const or = (): Node => {
    let left = and();
    while (peek() === 'or') {
      pos++;
      left = { kind: 'bin', op: 'or', left, right: and() };
    }
    return left;
  };
  const and = (): Node => {
    let left = not();
    while (peek() === 'and') {
      pos++;
      left = { kind: 'bin', op: 'and', left, right: not() };
    }
    return left;
  };
  const not = (): Node => {
    if (peek() === 'not') {
      pos++;
      return { kind: 'not', operand: not() };
    }
    return comparison();
  };
  const comparison = (): Node => {
    const left = sum();
    const op = tokens[pos];
    if (op && ['>', '>=', '<', '<=', '=', '==', '!='].includes(op)) {
      pos++;
      return { kind: 'bin', op: op === '==' ? '=' : op, left, right: sum() };
    }
    return left;
  };
  const sum = (): Node => {
    let left = product();
    while (tokens[pos] === '+' || tokens[pos] === '-') left = { kind: 'bin', op: tokens[pos++], left, right: product() };
    return left;
  };
  const product = (): Node => {
    let left = atom();
    while (tokens[pos] === '*' || tokens[pos] === '/') left = { kind: 'bin', op: tokens[pos++], left, right: atom() };
    return left;
  };
  const atom = (): Node => {
    const token = tokens[pos];
    if (token === undefined) throw new UsageError('alert expression ends too early');
    if (token === '(') {
      pos++;
      const inner = or();
      expect(')');
      return inner;
    }
    pos++;
    if (/^\d/.test(token)) return { kind: 'num', value: Number(token) };
    // The seed writes the total weight both as tweight and as TotalWeight.
    const name = /^totalweight$/i.test(token) ? 'tweight' : token;
    if (!allowed.includes(name)) throw new UsageError(`alert expression: unknown metric "${token}"; use ${allowed.join(', ')}`);
    return { kind: 'var', name };
  };
  const root = or();
  if (pos < tokens.length) throw new UsageError(`alert expression: unexpected "${tokens[pos]}"`);

  const value = (node: Node, m: Record<string, number>): number => {
    switch (node.kind) {
      case 'num':
        return node.value;
      case 'var':
        return m[node.name] ?? 0;
      case 'not':
        return value(node.operand, m) ? 0 : 1;
      case 'bin': {
        const a = value(node.left, m);
        if (node.op === 'and') return a && value(node.right, m) ? 1 : 0;
        if (node.op === 'or') return a || value(node.right, m) ? 1 : 0;
        const b = value(node.right, m);
        switch (node.op) {
          case '+':
            return a + b;
          case '-':
            return a - b;
          case '*':
            return a * b;
          case '/':
            return b === 0 ? 0 : a / b;
          case '>':
            return a > b ? 1 : 0;
          case '>=':
            return a >= b ? 1 : 0;
          case '<':
            return a < b ? 1 : 0;
          case '<=':
            return a <= b ? 1 : 0;
          case '=':
            return a === b ? 1 : 0;
          default:
            return a !== b ? 1 : 0;
        }
      }
    }
  };
  const show = (node: Node): string => {
    switch (node.kind) {
      case 'num':
        return String(node.value);
      case 'var':
        return node.name;
      case 'not':
        return `not ${show(node.operand)}`;
      default:
        return `${show(node.left)} ${node.op} ${show(node.right)}`;
    }
  };
  // Only the branches that made the expression true: a failed "and" explains nothing.
  const explain = (node: Node, m: Record<string, number>, out: string[]) => {
    if (node.kind === 'bin' && (node.op === 'and' || node.op === 'or')) {
      if (!value(node, m)) return;
      for (const side of [node.left, node.right]) if (node.op === 'and' || value(side, m)) explain(side, m, out);
    } else if (node.kind === 'bin' && ['>', '>=', '<', '<=', '=', '!='].includes(node.op) && value(node, m)) {
      // Twelve significant digits: a sum of weights like 1511.9999999999998 reads 1512.
      out.push(`${show(node.left)} ${Number(value(node.left, m).toPrecision(12))} ${node.op} ${show(node.right)}`);
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
