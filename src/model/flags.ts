/**
 * Reading a hunt's flags: what the command line gives (strings, booleans from switches, or
 * nothing) into typed values, each failure a usage error naming the option. Hunts read their
 * parameters with these in one place (Hunt.params), so the CLI, the demo and the library agree.
 */
import { UsageError } from '../errors.ts';

/** Command-line flags as commander hands them over (camelCase keys). */
export type Flags = Readonly<Record<string, string | boolean | undefined>>;

export function requireInteger(name: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}

export function requireNumber(name: string, value: string | undefined, min: number, max = Number.MAX_VALUE): number {
  const parsed = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isFinite(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`${name} must be a number from ${min}${max < Number.MAX_VALUE ? ` to ${max}` : ''}, got "${value}"`);
  }
  return parsed;
}

/** The flag's text, or undefined when not given (a switch given as true has no text). */
export function text(flags: Flags, key: string): string | undefined {
  const v = flags[key];
  return typeof v === 'string' ? v : undefined;
}

/** A whole-number flag with its default. */
export function integer(flags: Flags, key: string, name: string, fallback: number, min: number, max?: number): number {
  const v = text(flags, key);
  return v === undefined ? fallback : requireInteger(name, v, min, max);
}

/** One of a closed list of words, with its default. */
export function choice<T extends string>(flags: Flags, key: string, name: string, choices: readonly T[], fallback: T): T {
  const v = text(flags, key);
  if (v === undefined) return fallback;
  if (!(choices as readonly string[]).includes(v)) throw new UsageError(`${name} must be one of ${choices.join(', ')}, got "${v}"`);
  return v as T;
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

/** --since / --until, checked once: ISO 8601 dates or times, since before until. Kept as text (SQL reads it as TIMESTAMP). */
export interface TimeRange {
  since?: string;
  until?: string;
}

function isoTime(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = ISO_TIME.exec(value.trim());
  const valid =
    m !== null &&
    Number(m[2]) >= 1 &&
    Number(m[2]) <= 12 &&
    Number(m[3]) >= 1 &&
    Number(m[3]) <= new Date(Date.UTC(Number(m[1]), Number(m[2]), 0)).getUTCDate() &&
    (m[4] === undefined || (Number(m[4]) <= 23 && Number(m[5]) <= 59 && Number(m[6] ?? 0) <= 59));
  if (!valid) throw new UsageError(`${name} must be a time like 2024-03-04 or 2024-03-04T09:00:00, got "${value}"`);
  return value.trim();
}

export function timeRange(flags: Flags): TimeRange {
  const since = isoTime('--since', text(flags, 'since'));
  const until = isoTime('--until', text(flags, 'until'));
  if (since !== undefined && until !== undefined && Date.parse(normalised(since)) >= Date.parse(normalised(until))) {
    throw new UsageError('--since must be before --until');
  }
  return { ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) };
}

/** The text as the workspace reads it: DuckDB's TIMESTAMP cast ignores a zone suffix, so the comparison does too. */
function normalised(value: string): string {
  const t = value.replace(' ', 'T').replace(/(?:Z|[+-]\d{2}(?::?\d{2})?)$/, (zone) => (value.length > 10 ? '' : zone));
  return t.includes('T') ? `${t}Z` : `${t}T00:00:00Z`;
}
