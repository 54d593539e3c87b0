/**
 * Timestamps arrive as epoch seconds or milliseconds, ISO 8601 with or without a zone, or in
 * locale formats (CERT's 01/02/2010 07:11:45, Apache's 10/Oct/2000:13:55:36 -0700). We look at a
 * sample once per file and choose one reading, so DuckDB parses every row the same way and
 * refuses (with its line) any row that does not fit.
 */
import { listValue, type Workspace } from '../store/workspace.ts';

export type TimeReading = { kind: 'epoch'; scale: number } | { kind: 'iso' } | { kind: 'format'; format: string };

export const STRPTIME_FORMATS = [
  '%m/%d/%Y %H:%M:%S',
  '%m/%d/%Y %H:%M',
  '%m/%d/%Y %I:%M:%S %p',
  '%m/%d/%Y %I:%M %p',
  '%d/%m/%Y %H:%M:%S',
  '%d/%m/%Y %I:%M:%S %p',
  '%d.%m.%Y %H:%M:%S',
  '%d/%b/%Y:%H:%M:%S %z',
  '%Y/%m/%d %H:%M:%S',
  '%Y-%m-%dT%H:%M:%S.%g%z',
  '%Y-%m-%dT%H:%M:%S%z',
  '%b %d %Y %H:%M:%S',
  '%a %b %d %H:%M:%S %Y',
  // Twitter's API v1.1 (created_at): Wed Oct 10 20:19:24 +0000 2018
  '%a %b %d %H:%M:%S %z %Y',
] as const;

/**
 * ISO 8601 as huntbook reads it: a date, maybe a time, then Z, UTC, GMT or a numeric offset, never
 * a zone name. The same pattern picks a file's reading (here) and admits each value to DuckDB's
 * cast (in SQL, RE2): that cast keeps a zone name it parsed ("… PST", "… Europe/Paris") for the
 * rest of its vector, so one crafted line would move the times of up to 2,047 records after it.
 */
const ISO_PATTERN = String.raw`^\s*\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)? *(Z|UTC|GMT|[+-]\d{2}(:?\d{2})?)?\s*$`;
const ISO = new RegExp(ISO_PATTERN);
const EPOCH = /^\d{9,10}(\.\d+)?$|^\d{1,8}(\.\d+)?$/;
const EPOCH_MS = /^\d{13}(\.\d+)?$/;

/**
 * The reading that fits most of the sample, if it fits more than half of it: a stray bad value
 * must not decide the file's reading (the reader refuses its row, with its line, instead).
 */
export async function chooseTimeReading(ws: Workspace, samples: readonly string[]): Promise<TimeReading | null> {
  const values = samples.map((s) => s.trim()).filter((s) => s !== '');
  if (values.length === 0) return null;
  const count = (pattern: RegExp) => values.filter((v) => pattern.test(v)).length;
  const candidates: { reading: TimeReading; fits: number }[] = [
    { reading: { kind: 'epoch', scale: 1000 }, fits: count(EPOCH_MS) },
    { reading: { kind: 'epoch', scale: 1 }, fits: count(EPOCH) },
    { reading: { kind: 'iso' }, fits: count(ISO) },
  ];
  // strptime wants a constant format: one column per candidate (our own constants, not input).
  const columns = STRPTIME_FORMATS.map((format, i) => `count(try_strptime(v, '${format}')) AS f${i}`);
  const [row] = await ws.query(`SELECT ${columns.join(', ')} FROM unnest($1::VARCHAR[]) AS s(v)`, [listValue(values)]);
  STRPTIME_FORMATS.forEach((format, i) => candidates.push({ reading: { kind: 'format', format }, fits: Number(row?.[`f${i}`] ?? 0) }));
  // The first candidate wins ties: epoch before ISO before the locale formats, in listed order.
  const best = candidates.reduce((a, b) => (b.fits > a.fits ? b : a));
  return best.fits * 2 > values.length ? best.reading : null;
}

/**
 * Epoch seconds no log time can be: beyond ±1e11 (year 5138). Such a value, or nan or inf (which
 * DuckDB reads as numbers), cannot become a TIMESTAMP: the cast would throw and abort the whole
 * file's load, so it comes out NULL and its record is refused with its line.
 */
export const MAX_EPOCH_SECONDS = 1e11;

/** A DOUBLE of epoch units (1: seconds, 1000: milliseconds) → TIMESTAMP; NULL when no time can be that. */
export function epochToTimestamp(number: string, scale = 1): string {
  // (abs(nan) < x is false in DuckDB, as is inf < x)
  return `CASE WHEN abs(${number}) < ${MAX_EPOCH_SECONDS * scale} THEN make_timestamp(CAST(round(${number} * ${1_000_000 / scale}) AS BIGINT)) END`;
}

/** SQL turning text `expr` into a UTC TIMESTAMP by the chosen reading (NULL when it does not fit). */
export function timestampFromText(expr: string, reading: TimeReading): string {
  switch (reading.kind) {
    case 'epoch':
      return epochToTimestamp(`TRY_CAST(${expr} AS DOUBLE)`, reading.scale);
    case 'iso':
      // Through epoch microseconds: a TIMESTAMPTZ → TIMESTAMP CAST goes through ICU's calendar
      // row by row (about 2 s per 10 M rows), and the number is the same in both types.
      // Infinite values come out NULL, so they are refused like any unreadable time; so does
      // anything ISO_PATTERN does not admit (0.4 s per 10 M rows for the pattern).
      return `CASE WHEN regexp_full_match(${expr}, '${ISO_PATTERN}') THEN make_timestamp(epoch_us(TRY_CAST(${expr} AS TIMESTAMPTZ))) END`;
    case 'format':
      return `TRY_CAST(try_strptime(${expr}, '${reading.format.replaceAll("'", "''")}') AS TIMESTAMP)`;
  }
}
