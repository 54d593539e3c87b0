/**
 * An SPL search as huntbook reads it (parse.ts): a pipeline of commands, each with its position
 * in the text (for `spl:LINE:COL:` messages), its arguments already parsed into these shapes.
 */

/** Where in the query text a piece starts (0-based offset). */
export type Offset = number;

/** An eval / where expression (Splunk's eval grammar). */
export type SplExpr =
  | { kind: 'num'; value: number }
  | { kind: 'str'; value: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' }
  | { kind: 'field'; name: string; at: Offset }
  | { kind: 'call'; fn: string; args: SplExpr[]; at: Offset }
  | { kind: 'not'; expr: SplExpr }
  | { kind: 'neg'; expr: SplExpr }
  | { kind: 'bin'; op: SplBinaryOp; left: SplExpr; right: SplExpr }
  | { kind: 'like'; expr: SplExpr; pattern: SplExpr };

export type SplBinaryOp = 'OR' | 'XOR' | 'AND' | '=' | '!=' | '<' | '<=' | '>' | '>=' | '+' | '-' | '.' | '*' | '/' | '%';

/** The search command's boolean expression over field tests. */
export type SearchExpr =
  | { kind: 'and' | 'or'; items: SearchExpr[] }
  | { kind: 'not'; item: SearchExpr }
  | { kind: 'test'; field: string; op: '=' | '!=' | '<' | '<=' | '>' | '>='; value: string; quoted: boolean; at: Offset }
  | { kind: 'in'; field: string; values: string[]; at: Offset }
  /** A bare word: free text, which huntbook does not search (there is no _raw); refused with its place. */
  | { kind: 'term'; value: string; at: Offset };

/** A token of a command's arguments (parse.ts's command lexer). */
export interface ArgToken {
  type: 'word' | 'string' | 'op' | 'lparen' | 'rparen' | 'comma';
  image: string;
  /** The text a word or string stands for (a string without its quotes and escapes). */
  value: string;
  at: Offset;
}

export interface Command {
  /** Lower-case name ('search' for the implicit first command). */
  name: string;
  at: Offset;
  /** The arguments as tokens (search, stats, table …), subsearches set apart. */
  args: ArgToken[];
  /** The argument text's offsets [start, end): eval and where parse their expression from it. */
  text: [Offset, Offset];
  /** Subsearches ([ … ]) in the arguments, in order. */
  subsearches: Pipeline[];
}

export interface Pipeline {
  commands: Command[];
}
