/**
 * `huntbook ingest`: files, directories (recursively) and .zip archives into the workspace.
 * Each file lands whole in one transaction or not at all, and its accounting must reconcile:
 * read = loaded + rejected, with every reject kept (file, line, field, reason).
 */
import { closeSync, createReadStream, createWriteStream, openSync, writeSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Unzip, UnzipInflate } from 'fflate';
import { HuntbookError, InputError, UnknownTableError } from '../errors.ts';
import { checkInterrupted, InterruptedError } from '../interrupt.ts';
import { isCanonicalTable, isLogTable, quoteIdent } from '../store/schema.ts';
import type { Workspace } from '../store/workspace.ts';
import { clockNeverSet, sameRecordsElsewhere } from './after-load.ts';
import { certKind, detectFormat, type CertKind, type Format } from './detect.ts';
import { firstLine, guessDelimiter, splitCsvLine } from './csvline.ts';
import { dropStage, loadJson, stageJson } from './jsonlog.ts';
import { loadMail } from './mail.ts';
import type { LoadContext, LoadOutcome, Reject } from './load.ts';
import { prescan, readSample, type Head, type Prescan } from './prescan.ts';
import { completeProfileExport } from './profile-export.ts';
import { createProgress, type Progress } from '../progress.ts';
import { loadTabular, type TabularProfile } from './tabular.ts';
import { loadZeekTsv } from './zeek.ts';

export interface IngestOptions {
  table?: string;
  format?: Format;
  map?: string;
  force?: boolean;
  progress?: Progress;
  /** Called as each file finishes, so long runs report as they go. */
  onFile?: (report: FileReport) => void;
  /** Where the rows go once the load has committed (ingest --logs); the workspace keeps them otherwise. */
  destination?: RowDestination;
}

/**
 * Somewhere else for a file's rows (ClickHouse: store/clickhouse-ship.ts). The file is read into
 * the workspace as always; `claim` runs inside its load's transaction (with the ids of the
 * copies --force replaced), `ship` after the commit, and may run again on a stopped file.
 */
export interface RowDestination {
  where: string;
  /** Returns warnings: what of the file stays in the workspace after all, and why. */
  claim(ws: Workspace, fileId: number, targets: readonly string[], replaced: readonly number[]): Promise<string[]>;
  /** The rows sent; undefined when none of the file's tables goes there (they stay in the workspace). */
  ship(ws: Workspace, fileId: number, onProgress: (rows: number) => void): Promise<number | undefined>;
}

export type FileStatus = 'loaded' | 'skipped' | 'failed';

export interface FileReport {
  path: string;
  status: FileStatus;
  format?: Format;
  table?: string;
  read: number;
  loaded: number;
  rejected: number;
  seconds: number;
  /** Why a file was skipped or failed; the first rejects otherwise. */
  message?: string;
  rejects: Reject[];
  /** Loaded, but worth a look (the same records under another file name, say). */
  warnings?: string[];
  /** Rows per table, when the file's records went to several. */
  tables?: Record<string, number>;
  /** Rows sent on to the destination (ingest --logs), and where. */
  stored?: { rows: number; where: string };
}

interface SourceFile {
  display: string;
  local: string;
  size: number;
  /**
   * How the file was reached, which decides what a file we cannot place becomes:
   * - named: the user named it: anything wrong fails it (exit 1);
   * - directory: found walking a folder: unknown content or an unknown table is skipped, with the reason;
   * - member: inside an archive the user named: unknown content (a README in the zip) is skipped,
   *   a log that cannot be loaded fails, exactly as the same file outside the archive would.
   */
  origin: 'named' | 'directory' | 'member';
  /** For archive members: the archive's path and the member's name inside it. */
  archive?: string;
  member?: string;
}

type Reader = (ctx: LoadContext, scan: Prescan) => Promise<LoadOutcome>;

/**
 * Where each CERT insider-threat file goes. Web rows go to http (the web rules read it), with the
 * site taken from the URL; the id is each row's key (it names a cut-short last row to refuse).
 */
const CERT_PROFILE: Record<Exclude<CertKind, 'psychometric'>, TabularProfile> = {
  logon: { table: 'activity', constants: { kind: 'logon' } },
  device: { table: 'activity', constants: { kind: 'device' } },
  file: { table: 'activity', constants: { kind: 'file' } },
  email: { table: 'activity', constants: { kind: 'email' } },
  http: { table: 'http', map: { uid: 'id', url: 'url', user: 'user' }, derive: [{ column: 'dest', from: 'url', sql: hostOfUrl }] },
  ldap: { table: 'directory' },
};

/** The column that names a row of each table the CERT files load into. */
const CERT_ROW_KEY: Partial<Record<string, string>> = { activity: 'record_id', http: 'uid', directory: 'user' };

/** The host part of a URL (lower-case, no port), as the http table's dest holds it. */
function hostOfUrl(ref: string): string {
  return `nullif(lower(regexp_extract(${ref}, '^(?:[A-Za-z][A-Za-z0-9+.-]*://)?(?:[^@/?#]*@)?([^/:?#]+)', 1)), '')`;
}

/**
 * CERT publishes LDAP as monthly snapshots named YYYY-MM.csv: the name is the month the rows
 * held, so a user missing from a later month has left.
 */
function snapshotMonth(display: string): { valid_from: string; valid_to: string } | undefined {
  const match = /(?:^|[^0-9])((?:19|20)\d\d)-(0[1-9]|1[0-2])\.csv$/i.exec(basename(display));
  if (!match) return undefined;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const next = month === 12 ? `${year + 1}-01` : `${year}-${String(month + 1).padStart(2, '0')}`;
  return { valid_from: `${match[1]}-${match[2]}-01 00:00:00`, valid_to: `${next}-01 00:00:00` };
}

async function loadCert(ctx: LoadContext, scan: Prescan): Promise<LoadOutcome> {
  const header = firstLine(scan.sample);
  const kind = certKind(ctx.display, splitCsvLine(header, guessDelimiter(header)));
  if (!kind)
    throw new InputError('not a CERT insider-threat file (logon, device, file, email, http or LDAP header expected)', {
      location: { file: ctx.display, line: 1 },
    });
  if (kind === 'psychometric') {
    throw new UnknownTableError(
      'CERT psychometric scores (Big Five O, C, E, A, N per user): no hunt reads them and no table holds them; not loaded',
      { location: { file: ctx.display, line: 1 } },
    );
  }
  const profile = { ...CERT_PROFILE[kind] };
  const month = kind === 'ldap' ? snapshotMonth(ctx.display) : undefined;
  if (month) profile.constants = { ...profile.constants, ...month };
  const outcome = await loadTabular(ctx, scan, profile);
  if (scan.unterminated) await refuseCutLastRow(ctx, outcome, CERT_ROW_KEY[outcome.target]);
  return outcome;
}

/**
 * The published CERT files end every row with a line end. One that does not was cut short (a
 * partial download, a `head -c`): its last row may be missing the end of a value ("Logo" for
 * "Logoff"), so it is refused rather than loaded as if whole.
 */
async function refuseCutLastRow(ctx: LoadContext, outcome: LoadOutcome, key: string | undefined): Promise<void> {
  const { line, text } = await lastLine(ctx.localPath);
  if (line < 2 || !key || outcome.rejects.some((r) => r.line === line)) return;
  const id = splitCsvLine(text, guessDelimiter(text))[key === 'user' ? 1 : 0]?.trim();
  const table = quoteIdent(outcome.target);
  const where = `file_id = $1 AND ${quoteIdent(key)} = $2`;
  const before = Number(await ctx.ws.scalar(`SELECT count(*) FROM ${table} WHERE ${where}`, [ctx.fileId, id ?? '']));
  if (before === 0) return;
  // In SQL: rows appended in this transaction have row ids beyond what a JS number holds exactly.
  await ctx.ws.run(`DELETE FROM ${table} WHERE rowid = (SELECT max(rowid) FROM ${table} WHERE ${where})`, [ctx.fileId, id ?? '']);
  outcome.loaded--;
  outcome.rejects.push({
    line,
    field: null,
    reason: 'the file ends in the middle of this row (no line end after it): cut short, so it is refused',
    text: text.slice(0, 200),
  });
}

/** The last line of a file and its number (a pass counting line ends: only for files cut short). */
async function lastLine(path: string): Promise<{ line: number; text: string }> {
  let newlines = 0;
  let tail: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    for (let pos = chunk.indexOf(0x0a); pos !== -1; pos = chunk.indexOf(0x0a, pos + 1)) newlines++;
    const nl = chunk.lastIndexOf(0x0a);
    tail = nl === -1 ? Buffer.concat([tail, chunk]).subarray(-65536) : chunk.subarray(nl + 1);
  }
  return { line: newlines + 1, text: tail.toString('utf8').replace(/\r$/, '') };
}

function jsonShape(scan: Prescan): 'ndjson' | 'document' {
  return jsonShapeOf(scan.sample);
}

function jsonShapeOf(sample: Buffer): 'ndjson' | 'document' {
  const line = sample
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart()
    .split('\n', 1)[0];
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? 'ndjson' : 'document';
  } catch {
    return 'document';
  }
}

const READERS: Record<Format, Reader> = {
  zeek: (ctx, scan) => loadZeekTsv(ctx, scan),
  'zeek-json': (ctx, scan) => loadJson(ctx, jsonShape(scan), 'zeek'),
  windows: (ctx, scan) => loadJson(ctx, jsonShape(scan), 'windows'),
  ndjson: (ctx) => loadJson(ctx, 'ndjson', 'generic'),
  json: (ctx, scan) => loadJson(ctx, jsonShape(scan), 'generic'),
  csv: (ctx, scan) => loadTabular(ctx, scan),
  cert: (ctx, scan) => loadCert(ctx, scan),
  eml: (ctx) => loadMail(ctx, 'eml'),
  mbox: (ctx) => loadMail(ctx, 'mbox'),
};

/**
 * What a reader does before its file's transaction: temporary scratch tables only (nothing the
 * workspace keeps, so a crash still leaves it as it was). DuckDB scans a table made inside an
 * open transaction about half as fast as one made before it (2 M Zeek JSON records: the survey
 * pass 3.3 s → 1.7 s), and JSON readers pass over their staged records several times.
 */
type Stager = (ctx: Pick<LoadContext, 'ws' | 'display' | 'localPath' | 'watch'>, head: Head) => Promise<void>;
const STAGERS: Partial<Record<Format, Stager>> = {
  'zeek-json': (ctx, head) => stageJson(ctx, head, jsonShapeOf(head.sample), 'zeek'),
  windows: (ctx, head) => stageJson(ctx, head, jsonShapeOf(head.sample), 'windows'),
  ndjson: (ctx, head) => stageJson(ctx, head, 'ndjson', 'generic'),
  json: (ctx, head) => stageJson(ctx, head, jsonShapeOf(head.sample), 'generic'),
};

export async function ingest(ws: Workspace, paths: readonly string[], options: IngestOptions = {}): Promise<FileReport[]> {
  const reports: FileReport[] = [];
  const tempDir = await mkdtemp(join(tmpdir(), 'huntbook-ingest-'));
  try {
    for (const path of paths) {
      try {
        for await (const file of expand(path, tempDir, 'named')) {
          checkInterrupted();
          const report = await ingestFile(ws, file, options);
          reports.push(report);
          options.onFile?.(report);
        }
      } catch (error) {
        // An unreadable archive or a missing path fails that path; the others still load.
        if (!(error instanceof HuntbookError) || error instanceof InterruptedError) throw error;
        const report: FileReport = {
          path: error.location.file ?? path,
          status: 'failed',
          read: 0,
          loaded: 0,
          rejected: 0,
          seconds: 0,
          message: error.describe(),
          rejects: [],
        };
        reports.push(report);
        options.onFile?.(report);
      }
    }
  } finally {
    await rm(tempDir, { recursive: true, force: true });
  }
  return reports;
}

async function* expand(path: string, tempDir: string, origin: 'named' | 'directory'): AsyncGenerator<SourceFile> {
  if (path === '-') {
    // Standard input is copied to a temporary file first: DuckDB's readers need a file to scan.
    const local = join(tempDir, 'stdin');
    await pipeline(process.stdin, createWriteStream(local));
    yield { display: '(stdin)', local, size: (await stat(local)).size, origin: 'named' };
    return;
  }
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    throw new InputError('no such file or directory', { location: { file: path }, cause: error });
  }
  if (info.isDirectory()) {
    // Every file is looked at by content (a Zeek log named conn.txt is a Zeek log); what cannot be
    // placed is reported as skipped with the reason, never passed over in silence.
    const entries = (await readdir(path)).filter((name) => !name.startsWith('.')).sort();
    for (const name of entries) yield* expand(join(path, name), tempDir, 'directory');
    return;
  }
  if (path.toLowerCase().endsWith('.zip')) {
    yield* extractZip(path, tempDir, origin);
    return;
  }
  yield { display: path, local: path, size: info.size, origin };
}

/**
 * Archive members are extracted to temporary files that DuckDB can read. The archive is read as a
 * stream of local headers (fflate), which also opens archives whose central directory is damaged.
 */
async function* extractZip(path: string, tempDir: string, origin: 'named' | 'directory'): AsyncGenerator<SourceFile> {
  const files: SourceFile[] = [];
  let failure: unknown;
  const unzip = new Unzip((entry) => {
    if (entry.name.endsWith('/')) return;
    const file: SourceFile = {
      display: `${path}!${entry.name}`,
      local: join(tempDir, `member-${files.length}-${basename(entry.name).replace(/[^\w.-]/g, '_')}`),
      size: 0,
      origin: origin === 'named' ? 'member' : 'directory',
      archive: path,
      member: entry.name,
    };
    files.push(file);
    const fd = openSync(file.local, 'w');
    entry.ondata = (error, data, final) => {
      if (error) failure ??= error;
      else {
        writeSync(fd, data);
        file.size += data.length;
      }
      if (final || error) closeSync(fd);
    };
    entry.start();
  });
  unzip.register(UnzipInflate);
  try {
    for await (const chunk of createReadStream(path)) unzip.push(chunk as Buffer, false);
    unzip.push(new Uint8Array(0), true);
  } catch (error) {
    failure ??= error;
  }
  if (failure !== undefined || files.length === 0) {
    const reason = failure instanceof Error ? failure.message : String(failure ?? 'no log files inside');
    throw new InputError(`cannot read zip archive: ${reason}`, { location: { file: path }, cause: failure });
  }
  for (const file of files) {
    yield file;
    await rm(file.local, { force: true });
  }
}

async function ingestFile(ws: Workspace, file: SourceFile, options: IngestOptions): Promise<FileReport> {
  const started = performance.now();
  const progress = options.progress ?? createProgress(process.stderr, false);
  const report: FileReport = { path: file.display, status: 'failed', read: 0, loaded: 0, rejected: 0, seconds: 0, rejects: [] };
  const label = basename(file.display);
  try {
    const head = await readSample(file.local);
    let format: Format;
    try {
      format = options.format ?? detectFormat(file.display, head);
    } catch (error) {
      if (file.origin !== 'named' && error instanceof InputError) {
        return { ...report, status: 'skipped', message: error.message, seconds: elapsed(started) };
      }
      throw error;
    }
    report.format = format;
    // Line-oriented formats are reconciled against the file's own line count; the others only need the hash.
    // A gzip file always gets the full pass: DuckDB reads a truncated stream as if the file ended there.
    const lines =
      head.gzip || format === 'zeek' || (['ndjson', 'windows', 'zeek-json'].includes(format) && jsonShapeOf(head.sample) === 'ndjson');
    const watching = <T>(what: string, work: Promise<T>) => watch(ws, progress, `${label}: ${what}`, work);
    // The stage is a scratch table, so DuckDB reads the file into it while this process hashes
    // and counts it (10 M NDJSON lines: the 1.7 s pass no longer adds to the load).
    const staging = STAGERS[format]?.({ ws, display: file.display, localPath: file.local, watch: watching }, head);
    const [scanned, staged] = await Promise.allSettled([
      prescan(
        file.local,
        file.size,
        (done, total) => {
          checkInterrupted();
          // (while DuckDB stages the file, its progress is the one shown)
          if (!staging) progress.update(`${label}: reading`, total > 0 ? done / total : undefined);
        },
        { lines, head },
      ),
      staging,
    ]);
    if (scanned.status === 'rejected') throw scanned.reason;
    if (staged.status === 'rejected') throw staged.reason;
    const scan = scanned.value;
    checkInterrupted();
    const month = format === 'cert' ? snapshotMonth(file.display)?.valid_from : undefined;
    // Monthly directory snapshots may repeat last month's content: that is another month's fact.
    const previous = await ws.query(
      "SELECT file_id, path || coalesce('!' || member, '') AS path, target_table FROM ingested_files WHERE sha256 = $1 AND snapshot = $2",
      [scan.sha256, month ?? ''],
    );
    if (previous.length > 0 && !options.force) {
      if (staging) await dropStage(ws);
      return {
        ...report,
        status: 'skipped',
        table: String(previous[0].target_table),
        message: `already ingested as ${previous[0].path} (same content); --force loads it again`,
        seconds: elapsed(started),
      };
    }
    const warnings: string[] = [];
    let tables: Record<string, number> | undefined;
    let loadedId = 0;
    const outcome = await ws.transaction(async () => {
      for (const old of previous) {
        const dropped = await forget(ws, Number(old.file_id), String(old.target_table));
        warnings.push(
          `replaced the earlier copy ${old.path}${dropped > 0 ? `; its ${dropped} detections were removed with its rows (huntbook rules run finds them again)` : ''}`,
        );
      }
      const fileId = Number(await ws.scalar("SELECT nextval('file_ids')"));
      const ctx: LoadContext = {
        ws,
        fileId,
        display: file.display,
        localPath: file.local,
        table: options.table,
        map: options.map,
        watch: watching,
      };
      let result: LoadOutcome;
      try {
        result = await READERS[format](ctx, scan);
      } catch (error) {
        if (error instanceof HuntbookError) throw error;
        // What the readers did not turn into rejects (a damaged gzip stream, say) fails the file.
        const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
        throw new InputError(`cannot be read as ${format}: ${message}`, { location: { file: file.display }, cause: error });
      }
      reconcile(file.display, format, scan, result);
      warnings.push(...(result.warnings ?? []));
      if (result.target === 'profiles') warnings.push(...(await completeProfileExport(ws, fileId)));
      await ws.append(
        'rejects',
        result.rejects.map((r) => [fileId, file.display, r.line, r.field, r.reason, r.text]),
      );
      await ws.run(`INSERT INTO ingested_files VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now()::TIMESTAMP, $11, $12)`, [
        fileId,
        file.archive ?? file.display,
        file.member ?? null,
        scan.sha256,
        scan.size,
        format,
        result.target,
        result.read,
        result.loaded,
        result.rejects.length,
        elapsed(started),
        month ?? '',
      ]);
      // A file whose records went to several tables (a shipper's mixed Zeek export) says where each went.
      const targets = result.target.split(',').filter(Boolean);
      if (targets.length > 1) {
        const counts = await ws.query(
          targets.map((t, i) => `SELECT ${i} AS i, count(*) AS n FROM ${quoteIdent(t)} WHERE file_id = $1`).join(' UNION ALL '),
          [fileId],
        );
        tables = Object.fromEntries(counts.map((row) => [targets[Number(row.i)], Number(row.n)]));
      }
      warnings.push(...(await sameRecordsElsewhere(ws, fileId, targets)), ...(await clockNeverSet(ws, fileId, targets)));
      warnings.push(
        ...((await options.destination?.claim(
          ws,
          fileId,
          targets,
          previous.map((old) => Number(old.file_id)),
        )) ?? []),
      );
      loadedId = fileId;
      return result;
    });
    const stored = options.destination && (await sendOn(ws, options.destination, loadedId, label, progress));
    // People data (notices, follower exports) stays in the workspace by design: nothing to warn of.
    const people = outcome.target.split(',').every((t) => t === 'mail_notices' || (isCanonicalTable(t) && !isLogTable(t)));
    if (options.destination && !stored && !people)
      warnings.push(`${outcome.target} is not a table ${options.destination.where} keeps: the rows stay in the workspace`);
    return {
      ...report,
      stored,
      status: 'loaded',
      table: outcome.target,
      read: outcome.read,
      loaded: outcome.loaded,
      rejected: outcome.rejects.length,
      rejects: outcome.rejects,
      seconds: elapsed(started),
      warnings,
      tables,
    };
  } catch (error) {
    if (!(error instanceof HuntbookError) || error instanceof InterruptedError) throw error;
    // Found while walking a directory and not a log we can place: skipped, not a failure.
    const status = file.origin === 'directory' && error instanceof UnknownTableError ? 'skipped' : 'failed';
    return { ...report, status, message: error.describe(), seconds: elapsed(started) };
  } finally {
    progress.done();
  }
}

/** After the commit: the file's rows to the destination; a failure there says how to finish. */
async function sendOn(ws: Workspace, destination: RowDestination, fileId: number, label: string, progress: Progress) {
  try {
    const rows = await destination.ship(ws, fileId, (n) => progress.update(`${label}: ${n.toLocaleString('en-US')} rows sent on`));
    return rows === undefined ? undefined : { rows, where: destination.where };
  } catch (error) {
    // Whatever stopped the sending (a lost connection is not always the client's own error), the
    // load has committed: the file fails with the way to finish it.
    if (error instanceof InterruptedError || !(error instanceof Error)) throw error;
    throw new HuntbookError(
      `loaded into the workspace, but not all rows reached ${destination.where}: ${error.message}; the same ingest command again sends the rest (hunts there leave the file out until then)`,
      { cause: error },
    );
  }
}

/**
 * The load must account for every record the file holds; a file whose every record was refused
 * is an error, not an empty success.
 */
function reconcile(file: string, format: Format, scan: Prescan, result: LoadOutcome): void {
  const rejected = result.rejects.length;
  if (result.read !== result.loaded + rejected) {
    throw new InputError(`accounting mismatch: read ${result.read} but loaded ${result.loaded} + rejected ${rejected}; nothing was kept`, {
      location: { file },
    });
  }
  const lineOriented =
    format === 'zeek' || ((format === 'ndjson' || format === 'windows' || format === 'zeek-json') && jsonShape(scan) === 'ndjson');
  if (lineOriented && result.read !== scan.dataLines) {
    throw new InputError(`accounting mismatch: the file has ${scan.dataLines} data lines but ${result.read} were read; nothing was kept`, {
      location: { file },
    });
  }
  if (result.read > 0 && result.loaded === 0) {
    const first = result.rejects
      .slice(0, 3)
      .map((r) => `line ${r.line ?? '?'}${r.field ? ` field ${r.field}` : ''}: ${r.reason}`)
      .join('; ');
    throw new InputError(`all ${result.read} records were rejected (${first})`, {
      location: { file, line: result.rejects[0]?.line ?? undefined },
    });
  }
}

/**
 * --force: the earlier copy of this content leaves every table before it is loaded again, with
 * what was derived from its rows: detections point at rows by file and row id, so they would
 * otherwise point at deleted rows and be found a second time by the next rules run.
 */
async function forget(ws: Workspace, fileId: number, targets: string): Promise<number> {
  let detections = 0;
  for (const table of targets.split(',').filter(Boolean)) {
    const exists = await ws.scalar('SELECT count(*) FROM information_schema.tables WHERE table_name = $1', [table]);
    if (Number(exists) > 0) await ws.run(`DELETE FROM ${quoteIdent(table)} WHERE file_id = $1`, [fileId]);
    const derived = await ws.scalar("SELECT count(*) FROM detections WHERE source_table = $1 AND starts_with(event_ref, $2 || ':')", [
      table,
      String(fileId),
    ]);
    detections += Number(derived);
    if (Number(derived) > 0)
      await ws.run("DELETE FROM detections WHERE source_table = $1 AND starts_with(event_ref, $2 || ':')", [table, String(fileId)]);
  }
  await ws.run('DELETE FROM rejects WHERE file_id = $1', [fileId]);
  await ws.run('DELETE FROM ingested_files WHERE file_id = $1', [fileId]);
  return detections;
}

async function watch<T>(ws: Workspace, progress: Progress, label: string, work: Promise<T>): Promise<T> {
  progress.update(label);
  const timer = setInterval(() => {
    const percent = ws.progress();
    progress.update(label, percent === undefined ? undefined : percent / 100);
  }, 200);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started) / 1000;
}
