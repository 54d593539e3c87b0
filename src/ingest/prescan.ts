/**
 * One streaming pass over a file before DuckDB reads it: the content hash (for the re-ingest
 * registry), the physical line accounting that the load must reconcile with, Zeek header blocks,
 * and a sample for format detection. Never holds more than one chunk of the file in memory.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { InputError } from '../errors.ts';
import { InterruptedError } from '../interrupt.ts';

export interface HeaderLine {
  /** 1-based line number in the (decompressed) file. */
  line: number;
  text: string;
}

export interface Prescan {
  sha256: string;
  /** Bytes on disk. */
  size: number;
  gzip: boolean;
  /** Non-empty lines that do not start with '#'. */
  dataLines: number;
  /** Lines starting with '#' (Zeek headers and trailers), kept in full: there are few. */
  headerLines: HeaderLine[];
  emptyLines: number;
  /** First bytes of the decompressed content, for format detection. */
  sample: Buffer;
  /** First line that holds a NUL byte: a binary file, not a log. */
  firstNulLine?: number;
  /** A carriage return not followed by a newline somewhere: delimited readers need to know. */
  bareCr?: boolean;
  /** The content does not end with a line end: its last row may have been cut short. */
  unterminated?: boolean;
}

const SAMPLE_BYTES = 64 * 1024;
const MAX_HEADER_LINE = 64 * 1024;

export type ProgressFn = (bytesDone: number, bytesTotal: number) => void;

/** The first bytes of the (decompressed) content: enough to tell the format. */
export interface Head {
  gzip: boolean;
  sample: Buffer;
  /** Line of the first NUL byte in the sample. */
  firstNulLine?: number;
}

export async function readSample(path: string): Promise<Head> {
  const magic = await readHead(path, 2);
  const gzip = magic.length === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  const raw = createReadStream(path, { highWaterMark: SAMPLE_BYTES });
  const content = gzip ? raw.pipe(createGunzip()) : raw;
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of content as AsyncIterable<Buffer>) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= SAMPLE_BYTES) break;
    }
  } catch {
    // A damaged stream is reported, with its line, by the full pass.
  } finally {
    raw.destroy();
  }
  const sample = Buffer.concat(parts).subarray(0, SAMPLE_BYTES);
  const nul = sample.indexOf(0);
  return { gzip, sample, firstNulLine: nul === -1 ? undefined : countNewlines(sample, 0, nul) + 1 };
}

/**
 * The full pass. With `lines: false` (formats whose accounting DuckDB's reader does, like CSV)
 * it only hashes the bytes on disk, which is several times faster on large files.
 */
export async function prescan(
  path: string,
  size: number,
  onProgress?: ProgressFn,
  options: { lines?: boolean; head?: Head } = {},
): Promise<Prescan> {
  if (options.lines === false && options.head) return hashOnly(path, size, options.head, onProgress);
  const head = await readHead(path, 2);
  const gzip = head.length === 2 && head[0] === 0x1f && head[1] === 0x8b;
  const hash = createHash('sha256');
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  let rawBytes = 0;
  raw.on('data', (chunk) => {
    hash.update(chunk as Buffer);
    rawBytes += (chunk as Buffer).length;
    onProgress?.(rawBytes, size);
  });
  const content = gzip ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (error) => content.destroy(error));

  const result: Prescan = {
    sha256: '',
    size,
    gzip,
    dataLines: 0,
    headerLines: [],
    emptyLines: 0,
    sample: Buffer.alloc(0),
  };
  const sampleParts: Buffer[] = [];
  let sampled = 0;
  let line = 1; // number of the line the next byte belongs to
  let lineLength = 0; // bytes of the current line seen so far (lines may span chunks)
  let lineStartsWithHash = false;
  let headerText: Buffer[] = [];
  let atLineStart = true;
  let lastByteCR = false;

  const endLine = () => {
    // A line holding only the '\r' of a Windows line end is empty too.
    if (lineLength === 0 || (lineLength === 1 && lastByteCR)) result.emptyLines++;
    else if (lineStartsWithHash) result.headerLines.push({ line, text: Buffer.concat(headerText).toString('utf8').replace(/\r$/, '') });
    else result.dataLines++;
    line++;
    lineLength = 0;
    lineStartsWithHash = false;
    headerText = [];
    atLineStart = true;
    lastByteCR = false;
  };

  const cr = bareCrWatcher();
  try {
    for await (const chunk of content as AsyncIterable<Buffer>) {
      cr.see(chunk);
      if (sampled < SAMPLE_BYTES) {
        const part = chunk.subarray(0, SAMPLE_BYTES - sampled);
        sampleParts.push(part);
        sampled += part.length;
      }
      if (result.firstNulLine === undefined && chunk.includes(0)) {
        result.firstNulLine = line + countNewlines(chunk, 0, chunk.indexOf(0));
      }
      let pos = 0;
      while (pos < chunk.length) {
        if (atLineStart) {
          lineStartsWithHash = chunk[pos] === 0x23; // '#'
          atLineStart = false;
        }
        const nl = chunk.indexOf(0x0a, pos);
        const end = nl === -1 ? chunk.length : nl;
        const piece = end - pos;
        if (lineStartsWithHash && lineLength < MAX_HEADER_LINE) headerText.push(chunk.subarray(pos, end));
        lineLength += piece;
        if (piece > 0) lastByteCR = chunk[end - 1] === 0x0d;
        if (nl === -1) break;
        endLine();
        pos = nl + 1;
      }
    }
  } catch (error) {
    // (a Ctrl-C met in the progress callback is a stop, not an unreadable file)
    if (error instanceof InterruptedError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    let what = `cannot read file: ${message}`;
    if (/unexpected end of file/i.test(message))
      what = `gzip stream is truncated: the file ends inside compressed data after ${line - 1} complete lines`;
    else if (/incorrect header check|invalid/i.test(message) && gzip) what = `gzip stream is corrupt after ${line - 1} lines (${message})`;
    throw new InputError(what, { location: { file: path, line }, cause: error });
  }
  if (!atLineStart) {
    endLine(); // last line without a trailing newline
    result.unterminated = true;
  }
  result.bareCr = cr.found();
  result.sha256 = hash.digest('hex');
  result.sample = Buffer.concat(sampleParts);
  return result;
}

async function hashOnly(path: string, size: number, head: Head, onProgress?: ProgressFn): Promise<Prescan> {
  const hash = createHash('sha256');
  const cr = bareCrWatcher();
  let done = 0;
  let last = 0x0a;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      cr.see(chunk);
      if (chunk.length > 0) last = chunk[chunk.length - 1];
      done += chunk.length;
      onProgress?.(done, size);
    }
  } catch (error) {
    if (error instanceof InterruptedError) throw error;
    throw new InputError(`cannot read file: ${(error as Error).message}`, { location: { file: path }, cause: error });
  }
  return {
    sha256: hash.digest('hex'),
    size,
    gzip: head.gzip,
    dataLines: 0,
    headerLines: [],
    emptyLines: 0,
    sample: head.sample,
    firstNulLine: head.firstNulLine,
    bareCr: cr.found(),
    // Only meaningful for plain files: a gzip file always gets the full pass.
    unterminated: !head.gzip && size > 0 && last !== 0x0a,
  };
}

/** Tracks, across chunks, whether a CR ever stands anywhere but right before a LF. */
function bareCrWatcher(): { see: (chunk: Buffer) => void; found: () => boolean } {
  let found = false;
  let pending = false;
  return {
    see(chunk) {
      if (found) return;
      if (pending && chunk.length > 0 && chunk[0] !== 0x0a) found = true;
      pending = false;
      for (let pos = chunk.indexOf(0x0d); pos !== -1; pos = chunk.indexOf(0x0d, pos + 1)) {
        if (pos === chunk.length - 1) pending = true;
        else if (chunk[pos + 1] !== 0x0a) {
          found = true;
          return;
        }
      }
    },
    found: () => found || pending,
  };
}

function countNewlines(buffer: Buffer, from: number, to: number): number {
  let count = 0;
  for (let pos = buffer.indexOf(0x0a, from); pos !== -1 && pos < to; pos = buffer.indexOf(0x0a, pos + 1)) count++;
  return count;
}

async function readHead(path: string, bytes: number): Promise<Buffer> {
  const { open } = await import('node:fs/promises');
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
