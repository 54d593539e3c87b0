/**
 * One expression language for everything a user writes as a condition: a native rule's `sql:`,
 * a baseline feature's `where:`, the risk hunt's alert logic. (SPL's where/eval keep a tree of
 * their own, src/spl/ast.ts: Splunk's values change kind as they go — text that reads as a number
 * compares as one, a multivalue of one value is that value, `.` joins — which this tree's SQL
 * types do not carry; they share the Chevrotain toolkit, the sql template and the dialect.) Parsed
 * once into this tree (parse.ts), checked against what the place allows (check.ts), then
 * rendered for an engine through its dialect (render.ts) or evaluated in JS (alert logic). Text a
 * user wrote never reaches an engine as text: only this tree, re-rendered, with every string bound.
 */
export type BinaryOp = 'and' | 'or' | '=' | '<>' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '%' | '||';

export type Expr =
  | { kind: 'num'; text: string }
  | { kind: 'str'; value: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' }
  | { kind: 'col'; name: string }
  | { kind: 'call'; fn: string; args: Expr[] }
  | { kind: 'cast'; expr: Expr; type: string; try: boolean }
  | { kind: 'not'; expr: Expr }
  | { kind: 'neg'; expr: Expr }
  | { kind: 'bin'; op: BinaryOp; left: Expr; right: Expr }
  | { kind: 'in'; expr: Expr; list: Expr[]; negated: boolean }
  | { kind: 'isnull'; expr: Expr; negated: boolean }
  | { kind: 'like'; expr: Expr; pattern: Expr; escape?: Expr; negated: boolean; caseInsensitive: boolean }
  | { kind: 'between'; expr: Expr; low: Expr; high: Expr; negated: boolean }
  | { kind: 'case'; whens: { when: Expr; result: Expr }[]; otherwise?: Expr };

/** Every node of the tree, depth first (for checks that look at all of it). */
export function* nodes(e: Expr): Generator<Expr> {
  yield e;
  switch (e.kind) {
    case 'call':
      for (const a of e.args) yield* nodes(a);
      break;
    case 'cast':
    case 'not':
    case 'neg':
      yield* nodes(e.expr);
      break;
    case 'bin':
      yield* nodes(e.left);
      yield* nodes(e.right);
      break;
    case 'in':
      yield* nodes(e.expr);
      for (const x of e.list) yield* nodes(x);
      break;
    case 'isnull':
      yield* nodes(e.expr);
      break;
    case 'like':
      yield* nodes(e.expr);
      yield* nodes(e.pattern);
      if (e.escape) yield* nodes(e.escape);
      break;
    case 'between':
      yield* nodes(e.expr);
      yield* nodes(e.low);
      yield* nodes(e.high);
      break;
    case 'case':
      for (const w of e.whens) {
        yield* nodes(w.when);
        yield* nodes(w.result);
      }
      if (e.otherwise) yield* nodes(e.otherwise);
      break;
    default:
      break;
  }
}
