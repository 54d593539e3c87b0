/**
 * Zeek's TSV header blocks. A file may hold several (rotated or concatenated logs), each opened by
 * `#separator` and describing the data lines that follow it.
 */
import { InputError } from '../errors.ts';
import type { HeaderLine } from './prescan.ts';

export interface ZeekBlock {
  separator: string;
  setSeparator: string;
  emptyField: string;
  unsetField: string;
  path: string | undefined;
  fields: string[];
  types: string[];
  /** First line of the block's header; data lines up to the next block belong to it. */
  startLine: number;
}

/** `\x09` → TAB: Zeek writes the separator itself escaped. */
export function unescapeZeek(text: string): string {
  return text.replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

export function parseZeekHeaders(file: string, headers: readonly HeaderLine[]): ZeekBlock[] {
  const blocks: ZeekBlock[] = [];
  let current: ZeekBlock | undefined;
  for (const { line, text } of headers) {
    if (text.startsWith('#separator')) {
      const value = text.slice('#separator'.length).trim();
      current = {
        separator: unescapeZeek(value),
        setSeparator: ',',
        emptyField: '(empty)',
        unsetField: '-',
        path: undefined,
        fields: [],
        types: [],
        startLine: line,
      };
      if (current.separator.length !== 1) {
        throw new InputError(`#separator must be one character, got "${value}"`, { location: { file, line } });
      }
      blocks.push(current);
      continue;
    }
    if (!current) throw new InputError('Zeek header line before #separator', { location: { file, line } });
    const sep = current.separator;
    const at = text.indexOf(sep);
    const key = at === -1 ? text : text.slice(0, at);
    const rest = at === -1 ? '' : text.slice(at + 1);
    switch (key) {
      case '#set_separator':
        current.setSeparator = unescapeZeek(rest);
        break;
      case '#empty_field':
        current.emptyField = unescapeZeek(rest);
        break;
      case '#unset_field':
        current.unsetField = unescapeZeek(rest);
        break;
      case '#path':
        current.path = rest;
        break;
      case '#fields':
        current.fields = rest.split(sep);
        break;
      case '#types':
        current.types = rest.split(sep);
        break;
      default:
        break; // #open, #close and comments carry nothing we load
    }
  }
  for (const block of blocks) {
    const where = { file, line: block.startLine };
    if (block.fields.length === 0) throw new InputError('Zeek header block has no #fields line', { location: where });
    if (block.types.length !== block.fields.length) {
      throw new InputError(`Zeek header has ${block.fields.length} #fields but ${block.types.length} #types`, { location: where });
    }
  }
  return blocks;
}

/** Two blocks that read the same way can be loaded by one scan. */
export function sameLayout(a: ZeekBlock, b: ZeekBlock): boolean {
  return (
    a.separator === b.separator &&
    a.emptyField === b.emptyField &&
    a.unsetField === b.unsetField &&
    a.path === b.path &&
    a.fields.join('\u0000') === b.fields.join('\u0000') &&
    a.types.join('\u0000') === b.types.join('\u0000')
  );
}
