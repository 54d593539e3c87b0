/**
 * E-mail in: one message (.eml) or many (.mbox, split on its "From " lines as they stream by).
 * Each message is parsed with mailparser (MIME parts, quoted-printable, base64, charsets) and read
 * by notices.ts. Every message is accounted for:
 *   loaded    a notice recorded in mail_notices: genuine ones also become an interaction (and the
 *             profile they describe); lookalikes keep their reasons and become a detection (phase
 *             deception, the recipient's) so they count in risk and the insider's story; the
 *             network's newsletters are recorded as "not an interaction" with the reason
 *   rejected  not an e-mail, or nothing in it claims a known network (with the message's first line)
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { UnknownTableError } from '../errors.ts';
import { checkInterrupted } from '../interrupt.ts';
import type { LoadContext, LoadOutcome, Reject } from './load.ts';
import { loadNotices, readNotice, SHIPPED_TEMPLATES, type MailFacts } from './notices.ts';

/** A message larger than this is refused (notices are a few tens of kB). */
const MAX_MESSAGE_BYTES = 25 * 1024 * 1024;
const BATCH = 500;

export async function loadMail(ctx: LoadContext, shape: 'eml' | 'mbox'): Promise<LoadOutcome> {
  const { networks, lookalike, files } = loadNotices();
  const rejects: Reject[] = [];
  let read = 0;
  let loaded = 0;
  const notices: (string | number | null)[][] = [];
  const interactions: (string | number | null)[][] = [];
  const profiles: (string | number | null)[][] = [];
  const detections: (string | number | null)[][] = [];
  const flush = async () => {
    await ctx.ws.append('mail_notices', notices.splice(0));
    await ctx.ws.append('interactions', interactions.splice(0));
    await ctx.ws.append('profiles', profiles.splice(0));
    await ctx.ws.append('detections', detections.splice(0));
  };
  let only: { verdict: string; reason: string } | undefined;
  for await (const message of shape === 'mbox' ? mboxMessages(ctx.localPath) : emlMessage(ctx.localPath)) {
    checkInterrupted();
    read++;
    const reject = (reason: string) => rejects.push({ line: message.line, field: null, reason, text: message.firstLine });
    if (message.bytes.length > MAX_MESSAGE_BYTES) {
      reject(`message larger than ${MAX_MESSAGE_BYTES / 1024 / 1024} MB`);
      continue;
    }
    const parsed = await simpleParser(message.bytes, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true });
    if (!parsed.headers.has('from') && !parsed.headers.has('subject') && !parsed.headers.has('date')) {
      reject('not an e-mail: no From, Subject or Date header');
      only = { verdict: 'not an e-mail', reason: 'no From, Subject or Date header' };
      continue;
    }
    const facts = factsOf(parsed);
    const notice = readNotice(facts, networks);
    if (notice.verdict === 'unrecognised') {
      reject(notice.reasons.join('; '));
      only = { verdict: 'unrecognised', reason: notice.reasons.join('; ') };
      continue;
    }
    const when = mailTime(facts.headers);
    if ('error' in when) {
      // A notice with no time is refused, and a file of it alone fails with the reason (it is a file huntbook reads).
      reject(when.error);
      continue;
    }
    if (when.note) notice.reasons.push(when.note);
    loaded++;
    const ts = when.date.toISOString();
    notices.push([
      ctx.fileId,
      read,
      facts.messageId ?? null,
      ts,
      facts.from ?? null,
      notice.recipient ?? facts.to[0] ?? null,
      facts.subject,
      notice.network ?? null,
      notice.template ?? null,
      notice.kind ?? null,
      notice.verdict,
      JSON.stringify(notice.reasons),
    ]);
    const recipient = notice.recipient ?? facts.to[0];
    if (notice.verdict === 'lookalike' && recipient && ts) {
      // The message's number in its file is its stable key: --force removes it with the file's rows.
      detections.push([
        ts,
        lookalike.ruleId,
        `${lookalike.rule} (${notice.network})`,
        lookalike.phase,
        lookalike.weight,
        'user',
        recipient.split('@')[0].toLowerCase(),
        'mail_notices',
        `${ctx.fileId}:${read}`,
        JSON.stringify({
          file: ctx.display,
          message: read,
          message_id: facts.messageId ?? null,
          from: facts.from ?? null,
          subject: facts.subject,
          reasons: notice.reasons,
        }),
        null,
      ]);
    }
    const i = notice.interaction;
    if (notice.verdict === 'genuine' && i) {
      const user = i.userEmail.split('@')[0];
      // The last cell is the record key (rec): the message's number in its file, fixed for the row's life.
      interactions.push([
        ts,
        i.profileId,
        i.profileName,
        i.profileUrl,
        i.imageUrl,
        i.headline,
        user,
        i.userEmail,
        i.userTitle,
        notice.kind ?? null,
        ctx.fileId,
        JSON.stringify({ source: 'mail', message_id: facts.messageId ?? null, network: notice.network }),
        read,
      ]);
      if (i.profileId) {
        profiles.push([
          i.profileId,
          notice.network ?? null,
          i.profileName,
          i.headline,
          i.profileUrl,
          i.imageUrl,
          null,
          null,
          null,
          null,
          null,
          null,
          null,
          null,
          null,
          ts,
          ctx.fileId,
          null,
          read,
        ]);
      }
    }
    if (notices.length >= BATCH) await flush();
  }
  await flush();
  // One message that is not a notice: the file is not one huntbook reads (skipped in a folder).
  if (read === 1 && loaded === 0 && only)
    throw new UnknownTableError(`${only.verdict}: ${only.reason}`, { location: { file: ctx.display, line: 1 } });
  // A local overlay changes what counts as genuine: it is said with every file it judged.
  const warnings =
    files.length > 1 ? [`notification templates in force: ${files.map((f) => (f === SHIPPED_TEMPLATES ? 'shipped' : f)).join(' + ')}`] : [];
  return { target: 'interactions,profiles,mail_notices', read, loaded, rejects, warnings };
}

function address(value: AddressObject | AddressObject[] | undefined): { address?: string; name?: string }[] {
  const list = value === undefined ? [] : ([] as AddressObject[]).concat(value);
  return list.flatMap((a) => a.value).map((v) => ({ address: v.address?.toLowerCase(), name: v.name }));
}

function factsOf(parsed: ParsedMail): MailFacts {
  const headers = new Map<string, string[]>();
  for (const line of parsed.headerLines) {
    const value = line.line.slice(line.line.indexOf(':') + 1).trim();
    headers.set(line.key, [...(headers.get(line.key) ?? []), value]);
  }
  const authors = address(parsed.from);
  const from = authors[0];
  const delivered = headers.get('delivered-to')?.[0]?.replace(/^<|>$/g, '').toLowerCase();
  return {
    from: from?.address,
    fromName: from?.name,
    fromAll: authors.map((a) => a.address ?? '').filter(Boolean),
    replyTo: address(parsed.replyTo)[0]?.address,
    to: address(parsed.to)
      .map((a) => a.address)
      .filter((a): a is string => Boolean(a)),
    deliveredTo: delivered,
    subject: parsed.subject ?? '',
    date: readMailDate(headers.get('date')?.[0]),
    messageId: parsed.messageId,
    html: typeof parsed.html === 'string' ? parsed.html : undefined,
    text: parsed.text,
    headers,
  };
}

interface RawMessage {
  bytes: Buffer;
  /** The line the message starts on (its "From " line in an mbox). */
  line: number;
  firstLine: string;
}

async function* emlMessage(path: string): AsyncGenerator<RawMessage> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_MESSAGE_BYTES + 1) chunks.push(chunk);
  }
  const bytes = Buffer.concat(chunks);
  yield { bytes, line: 1, firstLine: bytes.subarray(0, 200).toString('utf8').split(/\r?\n/, 1)[0] };
}

/**
 * An mbox, message by message, without holding the file: a message starts at a line beginning
 * "From " (at the start of the file or after a blank line); ">From " lines inside are unescaped.
 */
async function* mboxMessages(path: string): AsyncGenerator<RawMessage> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let current: string[] | undefined;
  let start = 0;
  let n = 0;
  let previousBlank = true;
  let size = 0;
  const finish = (): RawMessage | undefined => {
    if (!current) return undefined;
    const message = { bytes: Buffer.from(current.join('\n'), 'utf8'), line: start, firstLine: current[0] ?? '' };
    current = undefined;
    return message;
  };
  for await (const line of lines) {
    n++;
    if (line.startsWith('From ') && previousBlank) {
      const done = finish();
      if (done) yield done;
      current = [];
      start = n;
      size = 0;
    } else if (current) {
      size += line.length + 1;
      // mboxrd: one '>' was added before every "From " (and ">From ") line of the body.
      if (size <= MAX_MESSAGE_BYTES + 1) current.push(/^>+From /.test(line) ? line.slice(1) : line);
    }
    previousBlank = line.trim() === '';
  }
  const last = finish();
  if (last) yield last;
}

const MONTHS = 'Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec';
// RFC 5322 §3.3 date-time (obsolete forms too: two-digit years, zone names), comments after it allowed.
const RFC5322_DATE = new RegExp(
  `^\\s*(?:[A-Za-z]{3},\\s*)?(\\d{1,2})\\s+(?:${MONTHS})\\s+(\\d{2}|\\d{4})\\s+([01]?\\d|2[0-3]):([0-5]\\d)(?::([0-5]\\d|60))?\\s*(?:[+-](?:[01]\\d|2[0-3])[0-5]\\d|UT|GMT|[ECMP][SD]T|[A-IK-Za-ik-z])?\\s*(?:\\(.*\\))?\\s*$`,
  'i',
);

/** A header's date-time as RFC 5322 writes it; undefined when it is not one or not a real day. */
export function readMailDate(text: string | undefined): Date | undefined {
  if (!text) return undefined;
  const m = RFC5322_DATE.exec(text);
  if (!m || Number(m[1]) > 31) return undefined;
  const date = new Date(text.replace(/\([^)]*\)\s*$/, '').trim());
  const year = date.getUTCFullYear();
  return Number.isNaN(date.getTime()) || year < 1970 || year > 2200 ? undefined : date;
}

/**
 * When a message was sent: its Date header; else the time its first (nearest) Received header
 * gives, said so; else nothing, and the message is refused with the reason (never loaded with a
 * made-up time: a missing or garbled Date is itself a mark of forged mail).
 */
export function mailTime(headers: Map<string, string[]>): { date: Date; note?: string } | { error: string } {
  const raw = headers.get('date')?.[0];
  const date = readMailDate(raw);
  if (date) return { date };
  const why = raw === undefined ? 'no Date header' : `unreadable Date "${raw.slice(0, 60)}"`;
  for (const received of headers.get('received') ?? []) {
    const at = readMailDate(received.slice(received.lastIndexOf(';') + 1));
    if (at) return { date: at, note: `${why}: time taken from the Received header` };
  }
  return { error: `${why} and no Received header with a readable time` };
}
