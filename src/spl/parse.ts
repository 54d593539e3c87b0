/**
 * SPL text to a pipeline (ast.ts), with Chevrotain's lexers and parsers:
 *
 *   the command lexer   splits the text into words, quoted strings, operators, parentheses,
 *                       commas, pipes and brackets; the pipeline is the commands between pipes
 *                       at the top level, a `[ … ]` a subsearch (itself a pipeline);
 *   the search parser   a search command's terms: field=value (wildcards, !=, < <= > >=),
 *                       field IN (…), AND / OR / NOT (upper case, as Splunk), parentheses,
 *                       juxtaposition as AND;
 *   the eval parser     eval and where expressions, Splunk's precedence: OR/XOR < AND < NOT <
 *                       comparison and LIKE < + - . < * / % < unary minus; "string",
 *                       'field name', numbers, true/false, name(args).
 *
 * Every message names its place: `spl:LINE:COL: …` (SplSyntaxError).
 */
import type { IToken, TokenType } from 'chevrotain';
import { chevrotain } from '../expr/chevrotain.ts';
import { HuntbookError } from '../errors.ts';
import type { ArgToken, Command, Offset, Pipeline, SearchExpr, SplBinaryOp, SplExpr } from './ast.ts';

const { createToken, EmbeddedActionsParser, Lexer } = chevrotain;

/** A query that does not parse, or asks for what huntbook does not do: one line, its place. */
export class SplError extends HuntbookError {
  constructor(text: string, at: Offset, message: string) {
    super(`spl:${where(text, at)}: ${message}`);
  }
}

/** LINE:COL (1-based) of an offset. */
export function where(text: string, at: Offset): string {
  const before = text.slice(0, Math.max(0, at));
  const line = before.split('\n').length;
  return `${line}:${at - before.lastIndexOf('\n')}`;
}

// ---- The command lexer -------------------------------------------------------------------

const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /\s+/, group: Lexer.SKIPPED });
const QuotedString = createToken({ name: 'QuotedString', pattern: /"(?:[^"\\]|\\.)*"/ });
const Pipe = createToken({ name: 'Pipe', pattern: /\|/ });
const LBracket = createToken({ name: 'LBracket', pattern: /\[/ });
const RBracket = createToken({ name: 'RBracket', pattern: /]/ });
const LParen = createToken({ name: 'LParen', pattern: /\(/ });
const RParen = createToken({ name: 'RParen', pattern: /\)/ });
const Comma = createToken({ name: 'Comma', pattern: /,/ });
const Operator = createToken({ name: 'Operator', pattern: /==|!=|<=|>=|=|<|>/ });
const Word = createToken({ name: 'Word', pattern: /(?:[^\s|[\]()=<>,"!]|!(?!=))+/ });

const commandLexer = new Lexer([WhiteSpace, QuotedString, Pipe, LBracket, RBracket, LParen, RParen, Comma, Operator, Word], {
  positionTracking: 'onlyOffset',
});

/** A double-quoted string's value: backslash escapes \" and \\ undone. */
function unquote(image: string): string {
  return image.slice(1, -1).replace(/\\(["\\])/g, '$1');
}

function argToken(token: IToken): ArgToken {
  const kinds: Record<string, ArgToken['type']> = {
    QuotedString: 'string',
    Operator: 'op',
    LParen: 'lparen',
    RParen: 'rparen',
    Comma: 'comma',
  };
  const type = kinds[token.tokenType.name] ?? 'word';
  return { type, image: token.image, value: type === 'string' ? unquote(token.image) : token.image, at: token.startOffset };
}

/** The query as a pipeline: its first command `search` unless it starts with a pipe. */
export function parsePipeline(text: string): Pipeline {
  const lexed = commandLexer.tokenize(text);
  if (lexed.errors.length > 0)
    throw new SplError(text, lexed.errors[0].offset, `cannot read "${text.slice(lexed.errors[0].offset, lexed.errors[0].offset + 1)}"`);
  const tokens = lexed.tokens;
  let i = 0;
  const pipeline = (depth: number, start: Offset): Pipeline => {
    const commands: Command[] = [];
    let first = true;
    while (i < tokens.length) {
      const token = tokens[i];
      if (token.tokenType === RBracket) {
        if (depth === 0) throw new SplError(text, token.startOffset, 'a "]" without its "["');
        break;
      }
      let name: string;
      let at: Offset;
      if (token.tokenType === Pipe) {
        i++;
        const next = tokens[i];
        if (!next || next.tokenType !== Word) throw new SplError(text, next?.startOffset ?? text.length, 'a command name after "|"');
        name = next.image.toLowerCase();
        at = next.startOffset;
        i++;
      } else if (first) {
        // The implicit search: its terms start here.
        name = 'search';
        at = token.startOffset;
        if (token.tokenType === Word && token.image.toLowerCase() === 'search') i++;
      } else {
        throw new SplError(text, token.startOffset, `expected "|" before "${token.image}"`);
      }
      first = false;
      const args: ArgToken[] = [];
      const subsearches: Pipeline[] = [];
      const argStart = tokens[i]?.startOffset ?? text.length;
      let argEnd = argStart;
      while (i < tokens.length && tokens[i].tokenType !== Pipe && tokens[i].tokenType !== RBracket) {
        const t = tokens[i];
        if (t.tokenType === LBracket) {
          i++;
          subsearches.push(pipeline(depth + 1, t.startOffset));
          const close = tokens[i];
          if (!close || close.tokenType !== RBracket) throw new SplError(text, t.startOffset, 'a "[" without its "]"');
          argEnd = close.startOffset + 1;
          i++;
          continue;
        }
        args.push(argToken(t));
        argEnd = t.startOffset + t.image.length;
        i++;
      }
      commands.push({ name, at, args, text: [argStart, argEnd], subsearches });
    }
    if (commands.length === 0) throw new SplError(text, start, 'an empty search');
    return { commands };
  };
  const result = pipeline(0, 0);
  if (i < tokens.length) throw new SplError(text, tokens[i].startOffset, `unexpected "${tokens[i].image}"`);
  return result;
}

// ---- The search command's terms ------------------------------------------------------------

/** Search terms from a command's arguments: the whole list must be read. */
export function parseSearch(text: string, args: readonly ArgToken[]): SearchExpr {
  let i = 0;
  const peek = () => args[i];
  const isWord = (t: ArgToken | undefined, w: string) => t?.type === 'word' && t.image === w;
  const fail = (message: string): never => {
    throw new SplError(text, peek()?.at ?? text.length, message);
  };
  const or = (): SearchExpr => {
    const items = [and()];
    while (isWord(peek(), 'OR')) {
      i++;
      items.push(and());
    }
    return items.length === 1 ? items[0] : { kind: 'or', items };
  };
  const and = (): SearchExpr => {
    const items = [not()];
    for (;;) {
      const t = peek();
      if (!t || t.type === 'rparen' || isWord(t, 'OR')) break;
      if (isWord(t, 'AND')) i++;
      items.push(not());
    }
    return items.length === 1 ? items[0] : { kind: 'and', items };
  };
  const not = (): SearchExpr => {
    if (isWord(peek(), 'NOT')) {
      i++;
      return { kind: 'not', item: not() };
    }
    return atom();
  };
  const atom = (): SearchExpr => {
    const t = peek();
    if (!t) return fail('a search term');
    if (t.type === 'lparen') {
      i++;
      const inner = or();
      if (peek()?.type !== 'rparen') fail('")"');
      i++;
      return inner;
    }
    if (t.type !== 'word' && t.type !== 'string') return fail(`cannot read "${t.image}" here`);
    i++;
    const op = peek();
    if (op?.type === 'op') {
      i++;
      const value = peek();
      if (!value || (value.type !== 'word' && value.type !== 'string')) return fail(`a value after "${t.value}${op.image}"`);
      i++;
      const symbol = op.image === '==' ? '=' : op.image;
      return { kind: 'test', field: t.value, op: symbol as '=', value: value.value, quoted: value.type === 'string', at: t.at };
    }
    if (t.type === 'word' && op?.type === 'word' && op.image.toUpperCase() === 'IN' && args[i + 1]?.type === 'lparen') {
      i += 2;
      const values: string[] = [];
      for (;;) {
        const v = peek();
        if (!v || (v.type !== 'word' && v.type !== 'string')) return fail('a value in IN ( … )');
        values.push(v.value);
        i++;
        if (peek()?.type === 'comma') i++;
        if (peek()?.type === 'rparen') break;
      }
      i++;
      return { kind: 'in', field: t.value, values, at: t.at };
    }
    return { kind: 'term', value: t.value, at: t.at };
  };
  if (args.length === 0) return { kind: 'and', items: [] };
  const expr = or();
  if (i < args.length) fail(`unexpected "${args[i].image}"`);
  return expr;
}

// ---- eval and where expressions ------------------------------------------------------------

const E = {
  ws: createToken({ name: 'EWhiteSpace', pattern: /\s+/, group: Lexer.SKIPPED }),
  string: createToken({ name: 'EString', pattern: /"(?:[^"\\]|\\.)*"/, label: 'a string' }),
  quotedField: createToken({ name: 'EQuotedField', pattern: /'(?:[^'\\]|\\.)*'/, label: "a 'field'" }),
  number: createToken({ name: 'ENumber', pattern: /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/, label: 'a number' }),
  name: createToken({ name: 'EName', pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: 'a name' }),
  compare: createToken({ name: 'ECompare', pattern: /==|!=|<=|>=|=|<|>/, label: 'a comparison' }),
  plus: createToken({ name: 'EPlus', pattern: /\+/, label: '+' }),
  minus: createToken({ name: 'EMinus', pattern: /-/, label: '-' }),
  dot: createToken({ name: 'EDot', pattern: /\./, label: '.' }),
  times: createToken({ name: 'ETimes', pattern: /[*/%]/, label: '*' }),
  lparen: createToken({ name: 'ELParen', pattern: /\(/, label: '(' }),
  rparen: createToken({ name: 'ERParen', pattern: /\)/, label: ')' }),
  comma: createToken({ name: 'EComma', pattern: /,/, label: ',' }),
};
const keyword = (word: string) =>
  createToken({ name: `E${word}`, pattern: new RegExp(`${word}(?![A-Za-z0-9_])`), longer_alt: E.name, label: word });
const K = { OR: keyword('OR'), XOR: keyword('XOR'), AND: keyword('AND'), NOT: keyword('NOT'), LIKE: keyword('LIKE') };
const EXPR_TOKENS: TokenType[] = [
  E.ws,
  E.string,
  E.quotedField,
  E.number,
  K.OR,
  K.XOR,
  K.AND,
  K.NOT,
  K.LIKE,
  E.name,
  E.compare,
  E.plus,
  E.minus,
  E.dot,
  E.times,
  E.lparen,
  E.rparen,
  E.comma,
];
const exprLexer = new Lexer(EXPR_TOKENS, { positionTracking: 'onlyOffset' });

class EvalParser extends EmbeddedActionsParser {
  constructor() {
    super(EXPR_TOKENS, { maxLookahead: 2 });
    this.performSelfAnalysis();
  }
  readonly expr: () => SplExpr = this.RULE('expr', () => {
    let left = this.SUBRULE(this.conjunction);
    this.MANY(() => {
      const op = this.OR([{ ALT: () => this.CONSUME(K.OR) }, { ALT: () => this.CONSUME(K.XOR) }]);
      const right = this.SUBRULE2(this.conjunction);
      left = { kind: 'bin', op: op.image as SplBinaryOp, left, right };
    });
    return left;
  });
  private readonly conjunction: () => SplExpr = this.RULE('conjunction', () => {
    let left = this.SUBRULE(this.negation);
    this.MANY(() => {
      this.CONSUME(K.AND);
      const right = this.SUBRULE2(this.negation);
      left = { kind: 'bin', op: 'AND', left, right };
    });
    return left;
  });
  private readonly negation: () => SplExpr = this.RULE('negation', () =>
    this.OR([
      {
        ALT: () => {
          this.CONSUME(K.NOT);
          return { kind: 'not', expr: this.SUBRULE(this.negation) } as SplExpr;
        },
      },
      { ALT: () => this.SUBRULE(this.comparison) },
    ]),
  );
  private readonly comparison: () => SplExpr = this.RULE('comparison', () => {
    let result = this.SUBRULE(this.sum);
    this.OPTION(() => {
      this.OR([
        {
          ALT: () => {
            const op = this.CONSUME(E.compare).image;
            const right = this.SUBRULE2(this.sum);
            result = { kind: 'bin', op: (op === '==' ? '=' : op) as SplBinaryOp, left: result, right };
          },
        },
        {
          ALT: () => {
            this.CONSUME(K.LIKE);
            const pattern = this.SUBRULE3(this.sum);
            result = { kind: 'like', expr: result, pattern };
          },
        },
      ]);
    });
    return result;
  });
  private readonly sum: () => SplExpr = this.RULE('sum', () => {
    let left = this.SUBRULE(this.product);
    this.MANY(() => {
      const op = this.OR([{ ALT: () => this.CONSUME(E.plus) }, { ALT: () => this.CONSUME(E.minus) }, { ALT: () => this.CONSUME(E.dot) }]);
      const right = this.SUBRULE2(this.product);
      left = { kind: 'bin', op: op.image as SplBinaryOp, left, right };
    });
    return left;
  });
  private readonly product: () => SplExpr = this.RULE('product', () => {
    let left = this.SUBRULE(this.unary);
    this.MANY(() => {
      const op = this.CONSUME(E.times).image;
      const right = this.SUBRULE2(this.unary);
      left = { kind: 'bin', op: op as SplBinaryOp, left, right };
    });
    return left;
  });
  private readonly unary: () => SplExpr = this.RULE('unary', () =>
    this.OR([
      {
        ALT: () => {
          this.CONSUME(E.minus);
          return { kind: 'neg', expr: this.SUBRULE(this.unary) } as SplExpr;
        },
      },
      { ALT: () => this.SUBRULE(this.primary) },
    ]),
  );
  private readonly primary: () => SplExpr = this.RULE('primary', () =>
    this.OR([
      { ALT: () => ({ kind: 'num', value: Number(this.CONSUME(E.number).image) }) as SplExpr },
      { ALT: () => ({ kind: 'str', value: unquote(this.CONSUME(E.string).image) }) as SplExpr },
      {
        ALT: () => {
          const t = this.CONSUME(E.quotedField);
          return { kind: 'field', name: t.image.slice(1, -1).replace(/\\(['\\])/g, '$1'), at: t.startOffset } as SplExpr;
        },
      },
      {
        ALT: () => {
          this.CONSUME(E.lparen);
          const inner = this.SUBRULE(this.expr);
          this.CONSUME(E.rparen);
          return inner;
        },
      },
      {
        ALT: () => {
          const name = this.CONSUME(E.name);
          let call: SplExpr[] | undefined;
          this.OPTION(() => {
            this.CONSUME2(E.lparen);
            call = [];
            this.MANY_SEP({
              SEP: E.comma,
              DEF: () => {
                call?.push(this.SUBRULE2(this.expr));
              },
            });
            this.CONSUME2(E.rparen);
          });
          if (call) return { kind: 'call', fn: name.image.toLowerCase(), args: call, at: name.startOffset } as SplExpr;
          const lower = name.image.toLowerCase();
          if (lower === 'true' || lower === 'false') return { kind: 'bool', value: lower === 'true' } as SplExpr;
          return { kind: 'field', name: name.image, at: name.startOffset } as SplExpr;
        },
      },
    ]),
  );
}

let evalParser: EvalParser | undefined;

/** An eval or where expression from text[start, end): the whole range must be read. */
export function parseEval(text: string, start: Offset, end: Offset): SplExpr {
  const slice = text.slice(start, end);
  const lexed = exprLexer.tokenize(slice);
  if (lexed.errors.length > 0) throw new SplError(text, start + lexed.errors[0].offset, `cannot read "${slice[lexed.errors[0].offset]}"`);
  // Positions in the whole query, for messages from later checks.
  for (const token of lexed.tokens) token.startOffset += start;
  evalParser ??= new EvalParser();
  evalParser.input = lexed.tokens;
  const expr = evalParser.expr();
  const error = evalParser.errors[0];
  if (error) {
    const at = Number.isNaN(error.token.startOffset) ? end : error.token.startOffset;
    throw new SplError(text, at, error.token.image ? `cannot read "${error.token.image}" here` : 'the expression ends too early');
  }
  return expr;
}
