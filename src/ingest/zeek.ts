/**
 * Zeek TSV logs → canonical tables (conn → flows, http → http, ssl → tls) or, for every other
 * log, a table of its own (`zeek_dns`, `zeek_notice`, ...) with Zeek's own field names.
 * DuckDB's CSV reader does the parsing; the #types line tells it every column's type, so a value
 * that does not fit is refused with its line number instead of silently becoming NULL.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { finished } from 'node:stream/promises';
import { Bindings } from '../store/sql.ts';
import { InputError, UsageError } from '../errors.ts';
import { CANONICAL_COLUMNS, EXTRA_COLUMN, isCanonicalTable, isListType, quoteIdent, quoteLiteral, type SqlType } from '../store/schema.ts';
import { sanitizeName, targetForZeekPath } from './zeek-names.ts';
import { mapFields, parseMapOption } from './fields.ts';
import {
  addRecordKeys,
  lineOfRecord,
  NEXT_RECORD,
  MAX_LINE_BYTES,
  readerRejects,
  resetReaderRejects,
  STORE_REJECTS,
  unorderedInsert,
  type LoadContext,
  type LoadOutcome,
  type Reject,
} from './load.ts';
import type { Prescan } from './prescan.ts';
import { parseZeekHeaders, sameLayout, type ZeekBlock } from './zeek-header.ts';
import { MAX_EPOCH_SECONDS } from './timeformat.ts';

/** How DuckDB's CSV reader reads a Zeek type. Anything not listed is text. */
function readerType(zeekType: string): SqlType {
  switch (zeekType) {
    case 'time':
    case 'interval':
    case 'double':
      return 'DOUBLE';
    case 'count':
    case 'int':
      return 'BIGINT';
    case 'port':
      return 'INTEGER';
    case 'bool':
      return 'BOOLEAN';
    default:
      return 'VARCHAR';
  }
}

/**
 * The type a Zeek field keeps in the workspace. Vectors and sets are lists, as Zeek's own JSON
 * writer has them, so a log gives the same values whether it arrives as TSV or JSON.
 */
function nativeType(zeekType: string): SqlType {
  const container = /^(?:set|vector)\[(.+)\]$/.exec(zeekType);
  if (container) {
    const element = readerType(container[1]);
    if (element === 'BIGINT' || element === 'INTEGER') return 'BIGINT[]';
    return element === 'DOUBLE' ? 'DOUBLE[]' : 'VARCHAR[]';
  }
  return zeekType === 'time' ? 'TIMESTAMP' : readerType(zeekType);
}

/** `ts` as Zeek writes it (epoch seconds, microsecond digits) → TIMESTAMP without float drift. */
function epochToTimestamp(expr: string): string {
  return `make_timestamp(CAST(round(${expr} * 1000000) AS BIGINT))`;
}

/**
 * A time no log can hold (MAX_EPOCH_SECONDS, nan, inf) reads as a DOUBLE but cannot become a
 * TIMESTAMP: the row is held back from the insert (a failed cast would abort the whole load)
 * and refused with its line afterwards.
 */
const saneTime = (ref: string) => `(${ref} IS NULL OR (isfinite(${ref}) AND abs(${ref}) < ${MAX_EPOCH_SECONDS}))`;
const TIME_REJECTS = 'hb_time_rejects';
const TIME_SCANS = 'hb_time_scans';

interface ScanPlan {
  /** Path DuckDB reads. */
  file: string;
  gzip: boolean;
  block: ZeekBlock;
  /** Lines of `file` that are headers, not data (rejected by the reader and then ignored). */
  headerLines: Set<number>;
  /** For split files: line in `file` → line in the original. */
  lineMap?: Uint32Array;
}

export async function loadZeekTsv(ctx: LoadContext, scan: Prescan): Promise<LoadOutcome> {
  const blocks = parseZeekHeaders(ctx.display, scan.headerLines);
  if (blocks.length === 0) throw new InputError('no Zeek #separator header', { location: { file: ctx.display, line: 1 } });
  const direct = blocks.every((b) => sameLayout(b, blocks[0])) && readerType(blocks[0].types[0]) !== 'VARCHAR';
  const outcome: LoadOutcome = { target: '', read: scan.dataLines, loaded: 0, rejects: [] };
  const targets = new Set<string>();
  let tempDir: string | undefined;
  try {
    let plans: ScanPlan[];
    if (direct) {
      plans = [{ file: ctx.localPath, gzip: scan.gzip, block: blocks[0], headerLines: new Set(scan.headerLines.map((h) => h.line)) }];
    } else {
      tempDir = await mkdtemp(join(tmpdir(), 'huntbook-zeek-'));
      plans = await splitByLayout(ctx.localPath, scan.gzip, blocks, tempDir);
    }
    for (const plan of plans) {
      const target = targetForZeekPath(plan.block.path, ctx.display, ctx.table);
      targets.add(target);
      const result = await loadBlock(ctx, plan, target, plan.lineMap ? plan.lineMap.length : scan.dataLines);
      outcome.loaded += result.loaded;
      for (const reject of result.rejects) outcome.rejects.push(reject);
    }
  } finally {
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  }
  outcome.target = [...targets].join(',');
  return outcome;
}

async function loadBlock(
  ctx: LoadContext,
  plan: ScanPlan,
  target: string,
  expected: number,
): Promise<{ loaded: number; rejects: Reject[] }> {
  const { block } = plan;
  const columns = block.fields.map((_, i) => `'c${i}': '${readerType(block.types[i])}'`).join(', ');
  const reader = `read_csv(${quoteLiteral(plan.file)}, delim=${quoteLiteral(block.separator)}, quote='', escape='', header=false,
    auto_detect=false, nullstr=${quoteLiteral(block.unsetField)}, compression='${plan.gzip ? 'gzip' : 'none'}',
    columns={${columns}}, ${STORE_REJECTS})`;
  const { values: params, bind } = new Bindings();
  /** A source column as its canonical value: unset stays NULL, Zeek's "(empty)" becomes ''. */
  const source = (i: number, type: SqlType): string => {
    const ref = `c${i}`;
    const zeekType = block.types[i];
    if (zeekType === 'time' && type === 'TIMESTAMP') return epochToTimestamp(ref);
    if (isListType(type)) {
      // "(empty)" is an empty container; items are joined by #set_separator.
      const items = `string_split(${ref}, ${bind(block.setSeparator)})`;
      return `CASE WHEN ${ref} = ${bind(block.emptyField)} THEN []::${type} ELSE ${type === 'VARCHAR[]' ? items : `TRY_CAST(${items} AS ${type})`} END`;
    }
    if (readerType(zeekType) === 'VARCHAR') {
      const text = `CASE WHEN ${ref} = ${bind(block.emptyField)} THEN '' ELSE ${ref} END`;
      return type === 'VARCHAR' ? text : `TRY_CAST(${text} AS ${type})`;
    }
    return readerType(zeekType) === type ? ref : `TRY_CAST(${ref} AS ${type})`;
  };

  let insert: string;
  if (isCanonicalTable(target)) {
    const mapping = mapFields(target, block.fields, parseMapOption(ctx.map, target));
    const names: string[] = [];
    const exprs: string[] = [];
    for (const { name, type } of CANONICAL_COLUMNS[target]) {
      const index = mapping.columns.get(name);
      if (index === undefined) continue;
      names.push(quoteIdent(name));
      exprs.push(source(index, type));
    }
    names.push('file_id', quoteIdent(EXTRA_COLUMN[target]));
    // Unset fields are left out of extra, as Zeek's JSON writer leaves them out of a record.
    exprs.push(
      String(ctx.fileId),
      mapping.unmapped.length === 0
        ? 'NULL'
        : `nullif(json_merge_patch('{}'::JSON, json_object(${mapping.unmapped.map((i) => `${bind(block.fields[i])}, ${source(i, nativeType(block.types[i]))}`).join(', ')})), '{}'::JSON)`,
    );
    insert = `INSERT INTO ${quoteIdent(target)} (${names.join(', ')}, rec) SELECT ${exprs.join(', ')}, ${NEXT_RECORD} FROM ${reader}`;
  } else {
    if (!/^zeek_[a-z0-9_]+$/.test(target)) {
      throw new UsageError(`--as ${target}: Zeek logs go to flows, http, tls or a zeek_<name> table`);
    }
    const names = uniqueNames(block.fields.map(sanitizeName));
    await ensureNativeTable(ctx, target, names, block.types.map(nativeType));
    const exprs = block.fields.map((_, i) => source(i, nativeType(block.types[i])));
    insert = `INSERT INTO ${quoteIdent(target)} (${names.map(quoteIdent).join(', ')}, file_id, rec) SELECT ${exprs.join(', ')}, ${ctx.fileId}, ${NEXT_RECORD} FROM ${reader}`;
  }

  const timeColumns = block.types.flatMap((type, i) => (type === 'time' ? [i] : []));
  if (timeColumns.length > 0) insert += ` WHERE ${timeColumns.map((i) => saneTime(`c${i}`)).join(' AND ')}`;

  await resetReaderRejects(ctx.ws);
  const before = Number(await ctx.ws.scalar(`SELECT count(*) FROM ${quoteIdent(target)} WHERE file_id = $1`, [ctx.fileId]));
  await unorderedInsert(ctx, `loading ${target}`, insert, params);
  const after = Number(await ctx.ws.scalar(`SELECT count(*) FROM ${quoteIdent(target)} WHERE file_id = $1`, [ctx.fileId]));
  const fieldName = (column: string) => block.fields[Number(column.slice(1))] ?? column;
  const rejects = await readerRejects(ctx.ws, fieldName, plan.headerLines);
  const timeFields = new Set(timeColumns.map((i) => block.fields[i]));
  for (const reject of rejects) {
    if (reject.field !== null && timeFields.has(reject.field))
      reject.reason = reject.reason.replace(/ as a number$/, ' as a time (epoch seconds)');
  }
  const held = expected - (after - before) - rejects.length;
  if (held > 0) {
    const impossible = await impossibleTimes(ctx, plan, timeColumns);
    if (impossible.length !== held) {
      throw new InputError(
        `accounting mismatch: ${held} rows held back for impossible times but ${impossible.length} found again; nothing was kept`,
        { location: { file: ctx.display } },
      );
    }
    for (const reject of impossible) rejects.push(reject);
    rejects.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  }
  if (plan.lineMap) {
    for (const reject of rejects) if (reject.line !== null) reject.line = plan.lineMap[reject.line - 1] ?? reject.line;
  }
  return { loaded: after - before, rejects };
}

/**
 * The rows held back for a time no timestamp can hold, found again with their lines: a text-only
 * re-read (only when there are any), numbered past the lines that read refuses (headers, bad rows).
 */
async function impossibleTimes(ctx: LoadContext, plan: ScanPlan, timeColumns: number[]): Promise<Reject[]> {
  const { block } = plan;
  const text = block.fields.map((_, i) => `'c${i}': 'VARCHAR'`).join(', ');
  const reader = `read_csv(${quoteLiteral(plan.file)}, delim=${quoteLiteral(block.separator)}, quote='', escape='', header=false, auto_detect=false,
    compression='${plan.gzip ? 'gzip' : 'none'}', columns={${text}}, store_rejects=true, rejects_table='${TIME_REJECTS}', rejects_scan='${TIME_SCANS}', max_line_size=${MAX_LINE_BYTES})`;
  const bad = (i: number) => `(TRY_CAST(c${i} AS DOUBLE) IS NOT NULL AND NOT ${saneTime(`TRY_CAST(c${i} AS DOUBLE)`)})`;
  try {
    const rows = await ctx.ws.query(`SELECT n, ${timeColumns.map((i) => `CASE WHEN ${bad(i)} THEN c${i} END AS t${i}`).join(', ')} FROM (
        SELECT row_number() OVER () AS n, ${timeColumns.map((i) => `c${i}`).join(', ')} FROM ${reader})
      WHERE ${timeColumns.map(bad).join(' OR ')} ORDER BY n`);
    const skipped = (await ctx.ws.query(`SELECT DISTINCT line FROM ${TIME_REJECTS} ORDER BY line`)).map((row) => Number(row.line));
    return rows.map((row) => {
      const column = timeColumns.find((i) => row[`t${i}`] !== null) ?? timeColumns[0];
      const value = String(row[`t${column}`]);
      return {
        line: lineOfRecord(Number(row.n) - 1, skipped),
        field: block.fields[column],
        reason: `cannot read "${value.slice(0, 80)}" as a time (epoch seconds)`,
        text: null,
      };
    });
  } finally {
    await ctx.ws.run(`DROP TABLE IF EXISTS ${TIME_REJECTS}`);
    await ctx.ws.run(`DROP TABLE IF EXISTS ${TIME_SCANS}`);
  }
}

function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const count = seen.get(name) ?? 0;
    seen.set(name, count + 1);
    return count === 0 ? name : `${name}_${count + 1}`;
  });
}

/** Creates `zeek_<path>` on first sight and adds columns that a newer Zeek version writes. */
async function ensureNativeTable(ctx: LoadContext, table: string, names: string[], types: SqlType[]): Promise<void> {
  const existing = await ctx.ws.query('SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND table_schema = $2', [
    table,
    'main',
  ]);
  if (existing.length === 0) {
    const defs = names.map((name, i) => `${quoteIdent(name)} ${types[i]}`).join(', ');
    await ctx.ws.run(`CREATE TABLE ${quoteIdent(table)} (${defs}, file_id INTEGER NOT NULL, rec BIGINT)`);
    return;
  }
  const have = new Set(existing.map((row) => String(row.column_name)));
  if (!have.has('rec')) await addRecordKeys(ctx.ws, table);
  for (let i = 0; i < names.length; i++) {
    if (!have.has(names[i])) await ctx.ws.run(`ALTER TABLE ${quoteIdent(table)} ADD COLUMN ${quoteIdent(names[i])} ${types[i]}`);
  }
}

/**
 * Files whose header blocks differ (rotated logs from different Zeek versions, or a log whose
 * first field is text): one temporary file per layout, holding only data lines, with a map back
 * to the original line numbers.
 */
async function splitByLayout(path: string, gzip: boolean, blocks: ZeekBlock[], dir: string): Promise<ScanPlan[]> {
  const groups: { block: ZeekBlock; file: string; out: ReturnType<typeof createWriteStream>; lines: number[] }[] = [];
  const groupOf = blocks.map((block) => {
    let index = groups.findIndex((g) => sameLayout(g.block, block));
    if (index === -1) {
      const file = join(dir, `part${groups.length}.tsv`);
      groups.push({ block, file, out: createWriteStream(file), lines: [] });
      index = groups.length - 1;
    }
    return index;
  });
  const raw = createReadStream(path);
  const input = createInterface({ input: gzip ? raw.pipe(createGunzip()) : raw, crlfDelay: Infinity });
  let line = 0;
  let blockIndex = -1;
  for await (const text of input) {
    line++;
    while (blockIndex + 1 < blocks.length && blocks[blockIndex + 1].startLine <= line) blockIndex++;
    if (text.startsWith('#') || text === '' || blockIndex < 0) continue;
    const group = groups[groupOf[blockIndex]];
    if (!group.out.write(`${text}\n`)) await new Promise<void>((resolve) => group.out.once('drain', () => resolve()));
    group.lines.push(line);
  }
  for (const group of groups) {
    group.out.end();
    await finished(group.out);
  }
  return groups.map((g) => ({
    file: g.file,
    gzip: false,
    block: g.block,
    headerLines: new Set<number>(),
    lineMap: Uint32Array.from(g.lines),
  }));
}
