/**
 * Sigma condition expressions: `selection and not filter`, `1 of selection_*`, `all of them`,
 * parentheses. Precedence (Sigma spec v2): not binds tightest, then and, then or.
 */
import { HuntbookError } from '../../errors.ts';

export type ConditionNode =
  | { type: 'ref'; name: string }
  | { type: 'not'; operand: ConditionNode }
  | { type: 'and' | 'or'; operands: ConditionNode[] }
  | { type: 'of'; quantifier: 'all' | 'any'; pattern: string };

/** A Sigma condition that cannot be parsed (exit 1 when it reaches the user). */
export class ConditionError extends HuntbookError {}

type Token = { kind: 'word'; text: string } | { kind: 'lparen' } | { kind: 'rparen' };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(\(|\)|[^\s()]+)/gy;
  let match: RegExpExecArray | null;
  let last = 0;
  while ((match = re.exec(text)) !== null) {
    last = re.lastIndex;
    const t = match[1];
    if (t === '(') tokens.push({ kind: 'lparen' });
    else if (t === ')') tokens.push({ kind: 'rparen' });
    else tokens.push({ kind: 'word', text: t });
  }
  if (text.slice(last).trim() !== '') throw new ConditionError(`cannot read condition near "${text.slice(last)}"`);
  return tokens;
}

export function parseCondition(text: string): ConditionNode {
  if (text.includes('|')) throw new ConditionError('aggregation conditions ("| count() by ...") are Sigma v1 correlations, not supported');
  const tokens = tokenize(text);
  let pos = 0;
  const peekWord = (): string | undefined => {
    const t = tokens[pos];
    return t?.kind === 'word' ? t.text.toLowerCase() : undefined;
  };
  const parseOr = (): ConditionNode => {
    const operands = [parseAnd()];
    while (peekWord() === 'or') {
      pos++;
      operands.push(parseAnd());
    }
    return operands.length === 1 ? operands[0] : { type: 'or', operands };
  };
  const parseAnd = (): ConditionNode => {
    const operands = [parseNot()];
    while (peekWord() === 'and') {
      pos++;
      operands.push(parseNot());
    }
    return operands.length === 1 ? operands[0] : { type: 'and', operands };
  };
  const parseNot = (): ConditionNode => {
    if (peekWord() === 'not') {
      pos++;
      return { type: 'not', operand: parseNot() };
    }
    return parseAtom();
  };
  const parseAtom = (): ConditionNode => {
    const token = tokens[pos];
    if (!token) throw new ConditionError('condition ends too early');
    if (token.kind === 'lparen') {
      pos++;
      const inner = parseOr();
      if (tokens[pos]?.kind !== 'rparen') throw new ConditionError('missing ")"');
      pos++;
      return inner;
    }
    if (token.kind === 'rparen') throw new ConditionError('unexpected ")"');
    const word = token.text.toLowerCase();
    if (
      (word === 'all' || /^\d+$/.test(word)) &&
      tokens[pos + 1]?.kind === 'word' &&
      (tokens[pos + 1] as { text: string }).text.toLowerCase() === 'of'
    ) {
      const target = tokens[pos + 2];
      if (target?.kind !== 'word') throw new ConditionError(`"${token.text} of" needs "them" or a name pattern`);
      if (word !== 'all' && word !== '1') throw new ConditionError(`"${word} of" is not supported (only "1 of" and "all of")`);
      pos += 3;
      return { type: 'of', quantifier: word === 'all' ? 'all' : 'any', pattern: target.text };
    }
    if (['and', 'or', 'of'].includes(word)) throw new ConditionError(`unexpected "${token.text}"`);
    pos++;
    return { type: 'ref', name: token.text };
  };
  const node = parseOr();
  if (pos < tokens.length)
    throw new ConditionError(`unexpected "${tokens[pos].kind === 'word' ? (tokens[pos] as { text: string }).text : ')'}"`);
  return node;
}

/** Names a `1 of pattern` / `all of them` covers; identifiers starting with "_" are left out of "them". */
export function expandPattern(pattern: string, names: readonly string[]): string[] {
  if (pattern === 'them') return names.filter((n) => !n.startsWith('_'));
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return names.filter((n) => re.test(n));
}
