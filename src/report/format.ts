/**
 * Printing rows: terminal tables for people, JSON / NDJSON / CSV for scripts and spreadsheets.
 * Keys are named exactly as the columns, rows stay in the order given (ranked order).
 */
import { UsageError } from '../errors.ts';
import type { Cell, Row } from '../store/workspace.ts';

export const OUTPUT_FORMATS = ['table', 'json', 'csv', 'ndjson'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(value: string): OutputFormat {
  if ((OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  throw new UsageError(`unknown output format "${value}"; use one of ${OUTPUT_FORMATS.join(', ')}`);
}

export interface RenderOptions {
  /** Terminal width for tables; long cells are cut with an ellipsis. */
  maxCellWidth?: number;
}

export function renderRows(format: OutputFormat, columns: readonly string[], rows: readonly Row[], options: RenderOptions = {}): string {
  const render: Record<OutputFormat, () => string> = {
    table: () => renderTable(columns, rows, options.maxCellWidth ?? 48),
    json: () => `${jsonText(rows, 2)}\n`,
    ndjson: () => rows.map((row) => `${jsonText(row)}\n`).join(''),
    csv: () => renderCsv(columns, rows),
  };
  return render[format]();
}

/**
 * Control characters from log text would move the cursor, recolour or clear the terminal: every
 * string that reaches a terminal goes through here and shows them as \xNN. Newlines too, so
 * that one log value cannot fake further output lines.
 */
/**
 * Bidirectional controls (U+202A–202E, U+2066–2069, marks U+200E/200F/061C): invisible, they
 * reorder what is shown around them ("admin\u202Enimda" reads "adminadmin"). Log text shows them.
 */
export const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** JSON with bidirectional controls written as \u escapes: the same data, never reordering a terminal. */
function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(BIDI_CONTROLS, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function escapeControl(text: string): string {
  return text
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(BIDI_CONTROLS, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function cellText(value: Cell): string {
  if (value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  if (typeof value === 'number') return formatNumber(value);
  return String(value);
}

function formatNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(6)));
}

/**
 * A spreadsheet evaluates a cell starting with = + - @ (or a tab / carriage return before them)
 * as a formula; log fields are attacker-controlled, so such cells get a leading apostrophe.
 * Plain negative numbers are left alone: they are data, not formulas.
 */
export function guardCsvCell(text: string): string {
  if (/^[=+\-@\t\r]/.test(text) && !/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(text)) return `'${text}`;
  return text;
}

function csvQuote(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function renderCsv(columns: readonly string[], rows: readonly Row[]): string {
  const lines = [columns.map((name) => csvQuote(guardCsvCell(name))).join(',')];
  for (const row of rows) {
    // Raw numbers, not the rounded table form: CSV is for machines and spreadsheets.
    lines.push(
      columns
        .map((name) => {
          const value = row[name] ?? null;
          const text = typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value ?? '');
          return csvQuote(guardCsvCell(text));
        })
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

function renderTable(columns: readonly string[], rows: readonly Row[], maxWidth: number): string {
  if (columns.length === 0) return '(no columns)\n';
  const clean = escapeControl;
  const cut = (text: string) => (text.length > maxWidth ? `${text.slice(0, maxWidth - 1)}…` : text);
  const body = rows.map((row) => columns.map((name) => cut(clean(cellText(row[name] ?? null)))));
  // A loop, not Math.max(...cells): spreading 125,000 values overflows the call stack.
  const widths = columns.map((name, i) => body.reduce((w, cells) => Math.max(w, cells[i].length), name.length));
  const numeric = columns.map((name) => rows.length > 0 && rows.every((row) => row[name] === null || typeof row[name] === 'number'));
  const pad = (text: string, i: number) => (numeric[i] ? text.padStart(widths[i]) : text.padEnd(widths[i]));
  const lines = [columns.map((name, i) => pad(name, i)).join('  '), widths.map((w) => '─'.repeat(w)).join('  ')];
  for (const cells of body) lines.push(cells.map((text, i) => pad(text, i)).join('  '));
  const footer = `(${rows.length} row${rows.length === 1 ? '' : 's'})`;
  return `${lines.map((line) => line.trimEnd()).join('\n')}\n${footer}\n`;
}
