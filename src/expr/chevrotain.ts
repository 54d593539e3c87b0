/**
 * Chevrotain (a maintained parser toolkit: its lexer and its LL(k) parser, no code generation),
 * loaded from its own single-file build: its package entry loads lodash-es as hundreds of modules
 * (0.4 s at every start of a command that reads a rule or a config); the bundle loads in ~25 ms.
 */
import type * as Chevrotain from 'chevrotain';

export const chevrotain = (await import(new URL('../chevrotain.min.mjs', import.meta.resolve('chevrotain')).href)) as typeof Chevrotain;
