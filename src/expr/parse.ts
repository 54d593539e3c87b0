/**
 * The expression grammar, with Chevrotain (a maintained parser toolkit: its lexer and its LL(k)
 * parser, no code generation). A subset of SQL's scalar expressions, the same for every place
 * that takes one:
 *
 *   expr       := or
 *   or         := and (OR and)*
 *   and        := not (AND not)*
 *   not        := NOT not | predicate
 *   predicate  := concat [ compare concat | IS [NOT] NULL | [NOT] IN (expr, ...)
 *                        | [NOT] LIKE|ILIKE concat [ESCAPE concat] | [NOT] BETWEEN concat AND concat ]
 *   concat     := sum (|| sum)*          sum := product ((+|-) product)*
 *   product    := unary ((*|/|%) unary)*  unary := - unary | primary
 *   primary    := number | 'string' | TRUE | FALSE | NULL | ( expr ) | CASE WHEN .. THEN .. [ELSE ..] END
 *               | CAST|TRY_CAST ( expr AS type ) | name ( args ) | name | "user"
 *
 * No statements, comments, subqueries or quoted names but "user": they do not lex or parse.
 * (Rule names avoid or/and/many/option/consume/subrule: Chevrotain uses those names itself.)
 */
import type { IParserErrorMessageProvider, TokenType } from 'chevrotain';
import type { BinaryOp, Expr } from './ast.ts';
import { chevrotain } from './chevrotain.ts';

const { createToken, EmbeddedActionsParser, Lexer } = chevrotain;

/** An expression that does not parse: the message says where. */
export class ExpressionSyntaxError extends Error {}

const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: 'a name' });
const keyword = (name: string, label = name.toLowerCase()) =>
  createToken({ name, pattern: new RegExp(`${label}(?![A-Za-z0-9_])`, 'i'), longer_alt: Identifier, label });

const And = keyword('AND');
const Or = keyword('OR');
const Not = keyword('NOT');
const In = keyword('IN');
const Is = keyword('IS');
const Null = keyword('NULL');
const ILike = keyword('ILIKE');
const Like = keyword('LIKE');
const Between = keyword('BETWEEN');
const True = keyword('TRUE');
const False = keyword('FALSE');
const Case = keyword('CASE');
const When = keyword('WHEN');
const Then = keyword('THEN');
const Else = keyword('ELSE');
const End = keyword('END');
const Escape = keyword('ESCAPE');
const TryCast = keyword('TRY_CAST');
const Cast = keyword('CAST');
const As = keyword('AS');
/** Lexed only to be refused by name. */
const Select = keyword('SELECT');
const From = keyword('FROM');
const Statement = createToken({ name: 'Statement', pattern: /;|--|\/\*|\*\//, label: 'a statement or comment' });

const StringLiteral = createToken({ name: 'StringLiteral', pattern: /'(?:[^']|'')*'/, label: 'a string' });
const NumberLiteral = createToken({ name: 'NumberLiteral', pattern: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/, label: 'a number' });
const QuotedUser = createToken({ name: 'QuotedUser', pattern: /"user"/, label: '"user"' });
const op = (name: string, pattern: string) => createToken({ name, pattern: pattern, label: pattern });
/** Every comparison operator is one of these: the parser takes any, the tree keeps which. */
const Comparison = createToken({ name: 'Comparison', pattern: Lexer.NA, label: 'a comparison' });
const compare = (name: string, pattern: RegExp, label: string) => createToken({ name, pattern, label, categories: [Comparison] });
const NotEq = compare('NotEq', /<>|!=/, '<>');
const LessEq = compare('LessEq', /<=/, '<=');
const GreaterEq = compare('GreaterEq', />=/, '>=');
const Eq = compare('Eq', /==?/, '=');
const Less = compare('Less', /</, '<');
const Greater = compare('Greater', />/, '>');
const Concat = op('Concat', '||');
const Plus = op('Plus', '+');
const Minus = op('Minus', '-');
const Star = op('Star', '*');
const Slash = op('Slash', '/');
const Percent = op('Percent', '%');
const LParen = op('LParen', '(');
const RParen = op('RParen', ')');
const Comma = op('Comma', ',');
const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /\s+/, group: Lexer.SKIPPED });

const TOKENS: TokenType[] = [
  WhiteSpace,
  Comparison,
  StringLiteral,
  Statement,
  NumberLiteral,
  QuotedUser,
  NotEq,
  LessEq,
  GreaterEq,
  Eq,
  Less,
  Greater,
  Concat,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  LParen,
  RParen,
  Comma,
  And,
  Or,
  Not,
  In,
  Is,
  Null,
  ILike,
  Like,
  Between,
  True,
  False,
  Case,
  When,
  Then,
  Else,
  End,
  Escape,
  TryCast,
  Cast,
  As,
  Select,
  From,
  Identifier,
];

const COMPARE: [TokenType, BinaryOp][] = [
  [Eq, '='],
  [NotEq, '<>'],
  [LessEq, '<='],
  [GreaterEq, '>='],
  [Less, '<'],
  [Greater, '>'],
];

const near = (image: string | undefined) => (image ? `before "${image}"` : 'at the end');

const MESSAGES: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual }) => `expected "${expected.LABEL ?? expected.name}" ${near(actual.image)}`,
  buildNotAllInputParsedMessage: ({ firstRedundant }) => `unexpected "${firstRedundant.image}"`,
  buildNoViableAltMessage: ({ actual }) => (actual[0]?.image ? `cannot read "${actual[0].image}" here` : 'ends too early'),
  buildEarlyExitMessage: ({ actual }) => (actual[0]?.image ? `cannot read "${actual[0].image}" here` : 'ends too early'),
};

class ExpressionParser extends EmbeddedActionsParser {
  constructor() {
    super(TOKENS, { errorMessageProvider: MESSAGES, maxLookahead: 3 });
    this.performSelfAnalysis();
  }

  readonly expr: () => Expr = this.RULE('expr', () => this.SUBRULE(this.disjunction));

  private readonly disjunction: () => Expr = this.RULE('disjunction', () => {
    let left = this.SUBRULE(this.conjunction);
    this.MANY(() => {
      this.CONSUME(Or);
      const right = this.SUBRULE2(this.conjunction);
      left = { kind: 'bin', op: 'or', left, right };
    });
    return left;
  });

  private readonly conjunction: () => Expr = this.RULE('conjunction', () => {
    let left = this.SUBRULE(this.negation);
    this.MANY(() => {
      this.CONSUME(And);
      const right = this.SUBRULE2(this.negation);
      left = { kind: 'bin', op: 'and', left, right };
    });
    return left;
  });

  private readonly negation: () => Expr = this.RULE('negation', () =>
    this.OR([
      {
        ALT: () => {
          this.CONSUME(Not);
          return { kind: 'not', expr: this.SUBRULE(this.negation) } as Expr;
        },
      },
      { ALT: () => this.SUBRULE(this.predicate) },
    ]),
  );

  private readonly predicate: () => Expr = this.RULE('predicate', () => {
    const left = this.SUBRULE(this.concat);
    let result: Expr = left;
    this.OPTION(() => {
      result = this.OR([
        {
          ALT: () => {
            const token = this.CONSUME(Comparison);
            const name = COMPARE.find(([t]) => t === token.tokenType)?.[1] ?? '=';
            return { kind: 'bin', op: name, left, right: this.SUBRULE2(this.concat) } as Expr;
          },
        },
        {
          ALT: () => {
            this.CONSUME(Is);
            const negated = this.OPTION2(() => this.CONSUME(Not)) !== undefined;
            this.CONSUME(Null);
            return { kind: 'isnull', expr: left, negated } as Expr;
          },
        },
        {
          ALT: () => {
            const negated = this.OPTION3(() => this.CONSUME2(Not)) !== undefined;
            return this.OR2([
              {
                ALT: () => {
                  this.CONSUME(In);
                  this.CONSUME(LParen);
                  const list: Expr[] = [];
                  this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => list.push(this.SUBRULE(this.expr)) });
                  this.CONSUME(RParen);
                  return { kind: 'in', expr: left, list, negated } as Expr;
                },
              },
              {
                ALT: () => {
                  const caseInsensitive = this.OR3([
                    { ALT: () => this.CONSUME(Like) && false },
                    { ALT: () => this.CONSUME(ILike) && true },
                  ]);
                  const pattern = this.SUBRULE3(this.concat);
                  let escapeWith: Expr | undefined;
                  this.OPTION4(() => {
                    this.CONSUME(Escape);
                    escapeWith = this.SUBRULE4(this.concat);
                  });
                  return { kind: 'like', expr: left, pattern, escape: escapeWith, negated, caseInsensitive } as Expr;
                },
              },
              {
                ALT: () => {
                  this.CONSUME(Between);
                  const low = this.SUBRULE5(this.concat);
                  this.CONSUME(And);
                  const high = this.SUBRULE6(this.concat);
                  return { kind: 'between', expr: left, low, high, negated } as Expr;
                },
              },
            ]);
          },
        },
      ]);
    });
    return result;
  });

  private binaryLevel(name: string, next: () => () => Expr, ops: [TokenType, BinaryOp][]): () => Expr {
    return this.RULE(name, () => {
      let left = this.SUBRULE(next());
      this.MANY(() => {
        const op = this.OR(
          ops.map(([token, o]) => ({
            ALT: () => {
              this.CONSUME(token);
              return o;
            },
          })),
        );
        const right = this.SUBRULE2(next());
        left = { kind: 'bin', op, left, right };
      });
      return left;
    });
  }

  private readonly concat: () => Expr = this.binaryLevel('concat', () => this.sum, [[Concat, '||']]);
  private readonly sum: () => Expr = this.binaryLevel('sum', () => this.product, [
    [Plus, '+'],
    [Minus, '-'],
  ]);
  private readonly product: () => Expr = this.binaryLevel('product', () => this.unary, [
    [Star, '*'],
    [Slash, '/'],
    [Percent, '%'],
  ]);

  private readonly unary: () => Expr = this.RULE('unary', () =>
    this.OR([
      {
        ALT: () => {
          this.CONSUME(Minus);
          return { kind: 'neg', expr: this.SUBRULE(this.unary) } as Expr;
        },
      },
      { ALT: () => this.SUBRULE(this.primary) },
    ]),
  );

  private readonly primary: () => Expr = this.RULE('primary', () =>
    this.OR([
      { ALT: () => ({ kind: 'num', text: this.CONSUME(NumberLiteral).image }) as Expr },
      { ALT: () => ({ kind: 'str', value: this.CONSUME(StringLiteral).image.slice(1, -1).replaceAll("''", "'") }) as Expr },
      {
        ALT: () => {
          this.CONSUME(True);
          return { kind: 'bool', value: true } as Expr;
        },
      },
      {
        ALT: () => {
          this.CONSUME(False);
          return { kind: 'bool', value: false } as Expr;
        },
      },
      {
        ALT: () => {
          this.CONSUME(Null);
          return { kind: 'null' } as Expr;
        },
      },
      {
        ALT: () => {
          this.CONSUME(QuotedUser);
          return { kind: 'col', name: 'user' } as Expr;
        },
      },
      {
        ALT: () => {
          this.CONSUME(LParen);
          const inner = this.SUBRULE(this.expr);
          this.CONSUME(RParen);
          return inner;
        },
      },
      { ALT: () => this.SUBRULE(this.caseExpr) },
      { ALT: () => this.SUBRULE(this.castExpr) },
      {
        ALT: () => {
          const name = this.CONSUME(Identifier).image;
          let args: Expr[] | undefined;
          this.OPTION(() => {
            this.CONSUME2(LParen);
            args = [];
            this.MANY_SEP({ SEP: Comma, DEF: () => args?.push(this.SUBRULE2(this.expr)) });
            this.CONSUME2(RParen);
          });
          return (args ? { kind: 'call', fn: name.toLowerCase(), args } : { kind: 'col', name }) as Expr;
        },
      },
    ]),
  );

  private readonly caseExpr: () => Expr = this.RULE('caseExpr', () => {
    this.CONSUME(Case);
    const whens: { when: Expr; result: Expr }[] = [];
    this.AT_LEAST_ONE(() => {
      this.CONSUME(When);
      const when = this.SUBRULE(this.expr);
      this.CONSUME(Then);
      whens.push({ when, result: this.SUBRULE2(this.expr) });
    });
    let otherwise: Expr | undefined;
    this.OPTION(() => {
      this.CONSUME(Else);
      otherwise = this.SUBRULE3(this.expr);
    });
    this.CONSUME(End);
    return { kind: 'case', whens, otherwise } as Expr;
  });

  private readonly castExpr: () => Expr = this.RULE('castExpr', () => {
    const isTry = this.OR([{ ALT: () => this.CONSUME(Cast) && false }, { ALT: () => this.CONSUME(TryCast) && true }]);
    this.CONSUME(LParen);
    const expr = this.SUBRULE(this.expr);
    this.CONSUME(As);
    const type = this.CONSUME(Identifier).image.toUpperCase();
    this.CONSUME(RParen);
    return { kind: 'cast', expr, type, try: isTry } as Expr;
  });
}

const lexer = new Lexer(TOKENS, { ensureOptimizations: false, positionTracking: 'onlyOffset' });
let parser: ExpressionParser | undefined;

/** The tree of one expression; an ExpressionSyntaxError names what cannot be read and where. */
export function parseExpr(text: string): Expr {
  const lexed = lexer.tokenize(text);
  if (lexed.errors.length > 0) throw new ExpressionSyntaxError(`cannot read "${text.slice(lexed.errors[0].offset).trim()}"`);
  if (lexed.tokens.some((t) => t.tokenType === Statement))
    throw new ExpressionSyntaxError('statements and comments are not allowed, only one expression');
  if (lexed.tokens.some((t) => t.tokenType === Select || t.tokenType === From))
    throw new ExpressionSyntaxError('subqueries are not allowed');
  if (lexed.tokens.length === 0) throw new ExpressionSyntaxError('the expression is empty');
  parser ??= new ExpressionParser();
  parser.input = lexed.tokens;
  const tree = parser.expr();
  if (parser.errors.length > 0) throw new ExpressionSyntaxError(parser.errors[0].message);
  return tree;
}
