/**
 * Which reader a file needs, from its content first and its name second. Every format has exactly
 * one reader (see READERS in ingest.ts), so a new format cannot be half-added.
 */
import { basename } from 'node:path';
import { InputError, UsageError } from '../errors.ts';
import { firstLine, guessDelimiter, splitCsvLine } from './csvline.ts';
import { foldName } from './fields.ts';
import type { Head } from './prescan.ts';
import { ZEEK_LOGS, zeekLogName } from './zeek-names.ts';

export const FORMATS = ['zeek', 'zeek-json', 'windows', 'ndjson', 'json', 'csv', 'cert', 'eml', 'mbox'] as const;
export type Format = (typeof FORMATS)[number];

export function parseFormat(value: string | undefined): Format | undefined {
  if (value === undefined || value === 'auto') return undefined;
  if ((FORMATS as readonly string[]).includes(value)) return value as Format;
  throw new UsageError(`unknown input format "${value}"; use one of auto, ${FORMATS.join(', ')}`);
}

export const CERT_KINDS = ['logon', 'device', 'file', 'email', 'http', 'ldap', 'psychometric'] as const;
export type CertKind = (typeof CERT_KINDS)[number];

/** CERT insider-threat files are told apart by their header (and, failing that, their name). */
export function certKind(fileName: string, fields: readonly string[]): CertKind | undefined {
  const names = new Set(fields.map(foldName));
  if (names.has('employee_name') && names.has('user_id')) {
    // psychometric.csv names people too, but holds Big Five scores, not who they are.
    if (['o', 'c', 'e', 'a', 'n'].every((trait) => names.has(trait)) && !names.has('role')) return 'psychometric';
    return 'ldap';
  }
  if (!(names.has('id') && names.has('date') && names.has('user') && names.has('pc'))) return undefined;
  if (names.has('to') && names.has('from')) return 'email';
  if (names.has('url')) return 'http';
  if (names.has('filename')) return 'file';
  if (names.has('file_tree')) return 'device';
  const stem = basename(fileName).toLowerCase().split('.')[0];
  if (stem === 'device') return 'device';
  if (names.has('activity')) return 'logon';
  return undefined;
}

/**
 * Binary when a good share of the sample is NUL or control bytes. One odd cell (a NUL in a user
 * agent) costs its row in the reader, wherever it is, not the whole file.
 */
function looksBinary(scan: Head): boolean {
  const sample = scan.sample.subarray(0, 4096);
  let control = 0;
  for (const byte of sample) if (byte < 0x09 || (byte > 0x0d && byte < 0x20)) control++;
  return sample.length > 0 && control / sample.length > 0.1;
}

function firstJsonLine(text: string): unknown {
  const line = text.split('\n', 1)[0].trim();
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function isWindowsEvent(value: Record<string, unknown>): boolean {
  const keys = Object.keys(value);
  return (
    'Event' in value ||
    'winlog' in value ||
    (keys.includes('EventID') && (keys.includes('Channel') || keys.includes('SourceName') || keys.includes('Hostname')))
  );
}

/**
 * Zeek JSON as Zeek writes it (id.orig_h, uid + ts), as shippers forward it (`_path`, `@stream`,
 * underscore keys), or a log with none of those whose file is named after a Zeek log (files,
 * x509, stats... carry only ts).
 */
function isZeekJson(value: Record<string, unknown>, fileName: string): boolean {
  return (
    '_path' in value ||
    '@stream' in value ||
    'id.orig_h' in value ||
    'id_orig_h' in value ||
    ('uid' in value && 'ts' in value) ||
    ('ts' in value && ZEEK_LOGS.has(zeekLogName(fileName)))
  );
}

/**
 * An e-mail (RFC 5322 headers up to the first blank line, with a From and a Subject or Date) or an
 * mbox (the same after a "From " separator line).
 */
function mailShape(text: string): 'eml' | 'mbox' | undefined {
  const lines = text.split(/\r?\n/);
  const mbox = /^From \S/.test(lines[0] ?? '');
  const headers: string[] = [];
  for (const line of lines.slice(mbox ? 1 : 0)) {
    if (line.trim() === '') break;
    if (/^[ \t]/.test(line)) continue; // a folded header continues
    const name = /^([A-Za-z0-9-]+):/.exec(line)?.[1];
    if (!name) return undefined;
    headers.push(name.toLowerCase());
  }
  if (!headers.includes('from') || !(headers.includes('subject') || headers.includes('date'))) return undefined;
  return mbox ? 'mbox' : 'eml';
}

export function detectFormat(fileName: string, scan: Head): Format {
  if (looksBinary(scan)) {
    throw new InputError(`binary content (NUL or control bytes), not a log this version reads`, {
      location: { file: fileName, line: scan.firstNulLine ?? 1 },
    });
  }
  const text = scan.sample.toString('utf8').replace(/^\uFEFF/, '');
  if (text.startsWith('#separator')) return 'zeek';
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    const first = firstJsonLine(trimmed);
    if (first && typeof first === 'object' && !Array.isArray(first)) {
      const object = first as Record<string, unknown>;
      if (isWindowsEvent(object)) return 'windows';
      if (isZeekJson(object, fileName)) return 'zeek-json';
      return 'ndjson';
    }
    // A pretty-printed object (an evtx dump, for instance) spans lines: a JSON document.
    return /"Event"\s*:\s*\{/.test(trimmed.slice(0, 4096)) ? 'windows' : 'json';
  }
  const mail = mailShape(text);
  if (mail) return mail;
  if (trimmed.startsWith('[')) return /"(Event|EventID|winlog)"\s*:/.test(trimmed.slice(0, 8192)) ? 'windows' : 'json';
  const header = firstLine(scan.sample);
  const fields = splitCsvLine(header, guessDelimiter(header));
  if (fields.length >= 2 && fields.every((f) => f.trim() !== '' && f.length < 200)) {
    return certKind(fileName, fields) ? 'cert' : 'csv';
  }
  throw new InputError('unknown format: not Zeek TSV, JSON, NDJSON or delimited text with a header row; name it with --format', {
    location: { file: fileName, line: 1 },
  });
}
