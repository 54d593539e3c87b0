/**
 * JSON logs: NDJSON (one object a line: Zeek JSON, OTRF / winlogbeat Windows events, SIEM
 * exports) and JSON documents (an array of objects, or pretty-printed objects such as evtx dumps).
 * Lines are staged first (as text; Windows events as JSON values, flattened), each staged row
 * keeping its position, which gives each malformed line its line number; fields are then pulled
 * out in SQL, never in a JS loop over rows.
 */
import type { SqlValue } from '../store/sql.ts';
import { InputError, UnknownTableError, UsageError } from '../errors.ts';
import { InterruptedError } from '../interrupt.ts';
import {
  CANONICAL_COLUMNS,
  EXTRA_COLUMN,
  isCanonicalTable,
  isListType,
  quoteIdent,
  quoteLiteral,
  type CanonicalTable,
  type SqlType,
} from '../store/schema.ts';
import { listValue, type Workspace } from '../store/workspace.ts';
import { listFromText } from './lists.ts';
import { FIELD_ALIASES, foldName, parseMapOption } from './fields.ts';
import {
  addRecordKeys,
  lineOfRecord,
  NEXT_RECORD,
  readerRejects,
  resetReaderRejects,
  STORE_REJECTS,
  typeWords,
  unorderedInsert,
  type LoadContext,
  type LoadOutcome,
  type Reject,
} from './load.ts';
import type { Prescan } from './prescan.ts';
import { guessTable } from './tabular.ts';
import { chooseTimeReading, timestampFromText } from './timeformat.ts';
import { sanitizeName, targetForZeekPath, zeekLogName } from './zeek-names.ts';

export type JsonProfile = 'generic' | 'windows' | 'zeek';

const STAGE = 'hb_stage';
/**
 * The staged records with their position in the file (0-based): the stage is written in file
 * order into a fresh table, so a row's rowid is its position. Numbering in the read itself
 * (`row_number() OVER ()`) ran every later step of the load on one thread (10 M lines: the stage
 * 6.9 → 3.1 s, the insert reading it in parallel).
 */
const STAGED_RECORDS = `(SELECT rowid AS rn, j FROM ${STAGE})`;
const MAX_KEYS = 4000;

/**
 * Windows events come in three shapes; all become one flat object so that Sigma field names
 * (Image, CommandLine, EventID, Channel, Computer...) are top-level keys:
 * - OTRF / NXLog: already flat;
 * - winlogbeat: `winlog.event_data` plus `winlog.event_id`, `winlog.channel`, `winlog.computer_name`;
 * - evtx dumped to JSON: `Event.System` plus `Event.EventData`.
 * The original System block is kept under `System` so nothing is lost.
 */
const WINDOWS_FLATTEN = `CASE
  WHEN json_type(j) <> 'OBJECT' THEN j
  WHEN json_exists(j, '$.Event.System') THEN json_merge_patch(
    json_object('EventID', j->'$.Event.System.EventID', 'Channel', j->'$.Event.System.Channel',
      'Computer', j->'$.Event.System.Computer', 'Provider_Name', j->'$.Event.System.Provider."#attributes".Name',
      'TimeCreated', j->'$.Event.System.TimeCreated."#attributes".SystemTime',
      'EventRecordID', j->'$.Event.System.EventRecordID', 'UserID', j->'$.Event.System.Security."#attributes".UserID',
      'System', j->'$.Event.System'),
    coalesce(CASE WHEN json_type(j, '$.Event.EventData') = 'OBJECT' THEN j->'$.Event.EventData' END, '{}'::JSON),
    -- UserData wraps its fields in one element named after the event (e.g. Operation_ClientFailure).
    coalesce(CASE WHEN json_type(j, '$.Event.UserData') = 'OBJECT' AND len(json_keys(j->'$.Event.UserData')) = 1
                   AND json_type(j->'$.Event.UserData', '$.*') = ['OBJECT'] THEN (j->'$.Event.UserData')->('$."' || json_keys(j->'$.Event.UserData')[1] || '"')
                  WHEN json_type(j, '$.Event.UserData') = 'OBJECT' THEN j->'$.Event.UserData' END, '{}'::JSON))
  WHEN json_exists(j, '$.winlog.event_data') OR json_exists(j, '$.winlog.event_id') THEN json_merge_patch(j,
    json_object('EventID', j->'$.winlog.event_id', 'Channel', j->'$.winlog.channel', 'Computer', j->'$.winlog.computer_name',
      'Provider_Name', j->'$.winlog.provider_name'),
    coalesce(CASE WHEN json_type(j, '$.winlog.event_data') = 'OBJECT' THEN j->'$.winlog.event_data' END, '{}'::JSON))
  ELSE j END`;

/** Canonical event columns that Windows field names fill, in order of preference. */
const WINDOWS_ALIASES: Partial<Record<string, string[]>> = {
  host: ['hostname', 'computer', 'computername', 'host'],
  user: ['user', 'targetusername', 'subjectusername', 'accountname', 'username'],
  ts: ['@timestamp', 'timecreated', 'utctime', 'eventtime', 'timestamp', 'ts'],
  provider: ['provider_name', 'sourcename', 'providername', 'provider'],
  process: ['image', 'newprocessname', 'processname', 'application', 'process'],
  parent_process: ['parentimage', 'parentprocessname', 'parent_process'],
  command_line: ['commandline', 'processcommandline', 'command_line', 'scriptblocktext'],
  file_path: ['targetfilename', 'imageloaded', 'objectname', 'filename', 'file_path', 'relativetargetname'],
  target: ['targetobject', 'destinationhostname', 'queryname', 'destinationip', 'destaddress', 'servicename', 'target'],
  action: ['task', 'category', 'action', 'eventtype'],
};

/** Keys Zeek's writers and log shippers add to a record to say which log it belongs to. */
const LOG_NAME_KEYS = ['_path', '@stream'];

/**
 * Loads what stageJson staged (ingest stages before the file's transaction: see STAGERS there).
 */
export async function loadJson(ctx: LoadContext, shape: 'ndjson' | 'document', profile: JsonProfile): Promise<LoadOutcome> {
  const readerRefused = await readerRejects(ctx.ws, () => null);
  const survey = await surveyRecords(ctx, profile);
  if (survey.records > 0 && survey.objects === 0) {
    throw new InputError('no JSON objects in this file (expected one object per line, or an array of objects)', {
      location: { file: ctx.display },
    });
  }
  const records = survey.records;
  const allObjects = survey.objects === records;
  const refusedLines = readerRefused.map((r) => r.line ?? 0).sort((a, b) => a - b);
  const rejects: Reject[] = [...readerRefused, ...(await refuseInvalid(ctx, survey.invalid, refusedLines))];
  const routes = await route(ctx, profile, survey);
  // Keys for every staged row, blank lines too: a record's key is the first + its row.
  const firstKey = await reserveRecordKeys(ctx, survey.rows);
  let loaded = 0;
  for (const { table, where, params, keys, records: held } of routes) {
    const result = await loadRoute(ctx, profile, table, keys, where, params, allObjects, held, firstKey);
    loaded += result.loaded;
    for (const { rn, field, reason, text } of result.refused) {
      rejects.push(
        shape === 'ndjson'
          ? { line: lineOfRecord(rn, refusedLines), field, reason, text }
          : { line: null, field, reason: `record ${rn + 1}: ${reason}`, text },
      );
    }
  }
  rejects.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  await dropStage(ctx.ws);
  return { target: routes.map((r) => r.table).join(','), read: records + survey.invalid + readerRefused.length, loaded, rejects };
}

/**
 * Lines that are not JSON are refused with their lines, then blanked in the stage so that nothing
 * after reads them (lines are staged as text: DuckDB's JSON cast in the reader cost 1.2 s of a
 * 10 M conn load, and said only `cannot read … as the field's type`).
 */
async function refuseInvalid(ctx: LoadContext, invalid: number, refusedLines: number[]): Promise<Reject[]> {
  if (invalid === 0) return [];
  const bad = `j IS NOT NULL AND try(json_keys(j)) IS NULL`;
  const rows = await ctx.ws.query(`SELECT rowid AS rn, left(CAST(j AS VARCHAR), 300) AS text FROM ${STAGE} WHERE ${bad} ORDER BY rn`);
  await ctx.ws.run(`UPDATE ${STAGE} SET j = NULL WHERE ${bad}`);
  return rows.map((row) => ({
    line: lineOfRecord(Number(row.rn), refusedLines),
    field: null,
    reason: 'not valid JSON',
    text: String(row.text),
  }));
}

/**
 * The record keys of a file's records, reserved at once: record n (0-based, in file order) gets
 * the first + n, so keys follow the file and two loads of it number it alike, and no INSERT has to
 * sort 10 M converted rows to hand them out in order (13.8 → 9.3 s of a 10 M-line NDJSON load).
 */
async function reserveRecordKeys(ctx: LoadContext, records: number): Promise<number> {
  const first = Number(await ctx.ws.scalar(`SELECT ${NEXT_RECORD}`));
  if (records > 1) await ctx.ws.run(`SELECT max(${NEXT_RECORD}) FROM range(${Number(records - 1)})`);
  return first;
}

interface Route {
  table: string;
  /** Which staged records go to `table` (SQL over j, rn). */
  where: string;
  params: SqlValue[];
  /** The keys its records carry, most frequent first. */
  keys: string[];
  /** How many staged records it holds. */
  records: number;
}

/**
 * A record is an object when its text starts with `{` (asked only of valid JSON: the survey asks
 * it where json_keys read the record, and refuseInvalid blanks the rest before anything else
 * reads the stage), which needs no parse; the log-name keys are parsed only in records that name them.
 */
const IS_OBJECT = "starts_with(ltrim(CAST(j AS VARCHAR), ' \t\r\n'), '{')";
const NAMES_LOG = LOG_NAME_KEYS.map((k) => `contains(CAST(j AS VARCHAR), ${quoteLiteral(JSON.stringify(k))})`).join(' OR ');
const LOG_NAMES = `json_extract_string(j, [${LOG_NAME_KEYS.map((k) => quoteLiteral(`$."${k}"`)).join(', ')}])`;
/**
 * The log a Zeek record names, else the file's: lower-cased, as routing compares it. (The file's
 * name is a quoted literal, not a parameter: DuckDB then folds the common case to a constant.)
 */
const logName = (fallback: string, namesLog = NAMES_LOG) => {
  const file = quoteLiteral(fallback);
  return `lower(CASE WHEN ${namesLog} THEN coalesce(${LOG_NAME_KEYS.map((_, i) => `nullif(${LOG_NAMES}[${i + 1}], '')`).join(', ')}, ${file}) ELSE ${file} END)`;
};
/** The same where a record's keys (ks) are at hand: a look at its key list, not at its text (10 M conn records: 3 s). */
const NAMES_LOG_IN_KEYS = LOG_NAME_KEYS.map((k) => `list_contains(ks, ${quoteLiteral(k)})`).join(' OR ');

interface Survey {
  /** Staged rows (blank lines are rows with no record). */
  rows: number;
  /** Records that are JSON (objects or not). */
  records: number;
  /** Lines that are not JSON. */
  invalid: number;
  objects: number;
  /** Per log name (one, '', outside Zeek), its records' keys, most frequent first. */
  keysByLog: Map<string, string[]>;
  /** Per log name, its object records. */
  objectsByLog: Map<string, number>;
}

/** At most this many key lists found in a sample are counted by position (see surveyRecords). */
const SAMPLED_KEY_LISTS = 16;

/**
 * One pass over the staged records: how many, how many objects, and the keys of each log's
 * records, counted over the distinct key lists (a file has few) rather than over every record.
 * Grouping 10 M records by their key lists costs more than finding them (2.6 s of 3.6), so the
 * lists a sample of records has are numbered first and each record is grouped by its list's
 * number; a record whose list the sample lacks is grouped by the list itself. Every record is
 * counted either way: the sample only makes the common case cheap.
 */
async function surveyRecords(ctx: LoadContext, profile: JsonProfile): Promise<Survey> {
  const routed = !ctx.table && profile === 'zeek';
  const sampled = await ctx.ws.query(
    `SELECT DISTINCT ks FROM (SELECT try(json_keys(j)) AS ks FROM ${STAGE} WHERE j IS NOT NULL AND ${IS_OBJECT} LIMIT 10000) WHERE ks IS NOT NULL ORDER BY ks LIMIT ${SAMPLED_KEY_LISTS}`,
  );
  const known = sampled.map((row) => row.ks as string[]);
  // (an empty list, `{}`, is tested by its length: a bound empty list has no item type)
  const lists = known.filter((keys) => keys.length > 0);
  const numbered =
    known.length === 0
      ? '0'
      : `CASE ${known.map((keys, i) => `WHEN ${keys.length === 0 ? 'len(ks) = 0' : `ks = $${lists.indexOf(keys) + 1}`} THEN ${i + 1}`).join(' ')} ELSE 0 END`;
  // A record whose keys are a sampled list without a log name key is the file's log: only the
  // others are looked into (a shipper's export names the log in every record).
  const fallback = zeekLogName(ctx.display);
  const unnamed = known.flatMap((keys, i) => (keys.some((k) => LOG_NAME_KEYS.includes(k)) ? [] : [i + 1]));
  const log = !routed
    ? "''"
    : `CASE WHEN obj IS NOT TRUE THEN NULL${unnamed.length > 0 ? ` WHEN known IN (${unnamed.join(', ')}) THEN ${quoteLiteral(fallback.toLowerCase())}` : ''} ELSE ${logName(fallback, NAMES_LOG_IN_KEYS)} END`;
  // json_keys gives [] for anything but an object with keys (only those records are looked at
  // again) and, under try(), null for what is not JSON: obj is true, false, or null for those.
  const rows = await ctx.ws.query(
    `SELECT obj, log, known, other, count(*) AS n FROM (
       SELECT obj, ${log} AS log, known, CASE WHEN known = 0 THEN ks END AS other FROM (
         SELECT j, ks, CASE WHEN ks IS NULL THEN NULL WHEN len(ks) > 0 THEN true ELSE ${IS_OBJECT} END AS obj, ${numbered} AS known
         FROM (SELECT j, try(json_keys(j)) AS ks FROM ${STAGE} WHERE j IS NOT NULL))) GROUP BY ALL`,
    lists.map((keys) => listValue(keys)),
  );
  for (const row of rows) row.ks = Number(row.known) > 0 ? known[Number(row.known) - 1] : row.other;
  let records = 0;
  let invalid = 0;
  let objects = 0;
  const counts = new Map<string, Map<string, number>>();
  const objectsByLog = new Map<string, number>();
  for (const row of rows) {
    const n = Number(row.n);
    if (row.obj === null) invalid += n;
    else records += n;
    if (row.obj !== true) continue;
    objects += n;
    const log = String(row.log);
    objectsByLog.set(log, (objectsByLog.get(log) ?? 0) + n);
    const keyCounts = counts.get(log) ?? new Map<string, number>();
    counts.set(log, keyCounts);
    for (const key of row.ks as string[]) keyCounts.set(key, (keyCounts.get(key) ?? 0) + n);
  }
  // Most frequent first, then by name in byte order (as SQL orders text): the same file gives the same columns.
  const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  const keysByLog = new Map(
    [...counts]
      .sort(([a], [b]) => byteOrder(a, b))
      .map(([log, keyCounts]) => [
        log,
        [...keyCounts]
          .sort(([a, x], [b, y]) => y - x || byteOrder(a, b))
          .slice(0, MAX_KEYS)
          .map(([k]) => k),
      ]),
  );
  const staged = Number(await ctx.ws.scalar(`SELECT count(*) FROM ${STAGE}`));
  return { rows: staged, records, invalid, objects, keysByLog, objectsByLog };
}

/**
 * Where each record goes. Zeek JSON is routed record by record, by the log name the record
 * carries (`_path`, or a shipper's `@stream`), else by the file's (or archive member's) name: a
 * shipper's export mixes conn, dns, weird... in one file. Everything else goes to one table.
 */
async function route(ctx: LoadContext, profile: JsonProfile, survey: Survey): Promise<Route[]> {
  if (ctx.table || profile !== 'zeek') {
    const keys = survey.keysByLog.get('') ?? [];
    return [{ table: await chooseTable(ctx, profile, keys), where: 'true', params: [], keys, records: survey.records }];
  }
  const fallback = zeekLogName(ctx.display);
  const routes: Route[] = [...survey.keysByLog].map(([log, keys]) => ({
    table: targetForZeekPath(log, ctx.display, undefined),
    // (a record that is not an object has the file's name too: it is the first route's alone)
    where: `${IS_OBJECT} AND ${logName(fallback)} = $1`,
    params: [log],
    keys,
    records: survey.objectsByLog.get(log) ?? 0,
  }));
  // Records that are not objects are refused by the first route's load, with their lines; with
  // one log in the file every record is that route's, and no record's name need be read again.
  if (routes.length === 0)
    routes.push({
      table: targetForZeekPath(undefined, ctx.display, undefined),
      where: 'true',
      params: [],
      keys: [],
      records: survey.records,
    });
  else if (routes.length === 1) Object.assign(routes[0], { where: 'true', params: [], records: survey.records });
  else {
    routes[0].where = `(${logName(fallback)} = $1 OR NOT ${IS_OBJECT})`;
    routes[0].records += survey.records - survey.objects;
  }
  return routes;
}

async function loadRoute(
  ctx: LoadContext,
  profile: JsonProfile,
  table: string,
  keys: string[],
  where: string,
  whereParams: SqlValue[],
  allObjects: boolean,
  records: number,
  firstKey: number,
): Promise<{ loaded: number; refused: { rn: number; field: string | null; reason: string; text: string | null }[] }> {
  const params = whereParams;
  // Keys with quotes or backslashes are never used as paths (they stay in the raw JSON), so the
  // quoted literals below cannot be broken out of.
  const path = (key: string) => quoteLiteral(`$."${key}"`);
  const usable = keys.filter((key) => !/["\\]/.test(key));

  // Which keys fill which column, decided first: every value is then pulled out of a record in
  // one parse of it (a list of paths), not one parse per key.
  let plan: { name: string; type: SqlType; keys: string[] }[];
  let rest: string[] = [];
  let whole = false;
  if (isCanonicalTable(table)) {
    const overrides = parseMapOption(ctx.map, table);
    plan = [];
    const used = new Set<string>();
    // A column's first key is its source; later keys only fill rows that lack it, so they are
    // kept in extra too (a Twitter export has both id_str and screen_name: both survive).
    const primary = new Set<string>();
    for (const { name, type } of CANONICAL_COLUMNS[table]) {
      const sourceKeys = keysFor(table, name, usable, overrides, profile).filter((k) => !used.has(k));
      if (sourceKeys.length === 0) continue;
      for (const k of sourceKeys) used.add(k);
      primary.add(sourceKeys[0]);
      plan.push({ name, type, keys: sourceKeys });
    }
    // Events keep the whole record (Sigma rules name any of its fields); other tables keep what no
    // column took, as the TSV and CSV readers do, less the log name that chose the table.
    // A key with a quote or backslash cannot be named in a JSON path safely: then the whole record is kept.
    rest = keys.filter((k) => !primary.has(k) && !LOG_NAME_KEYS.includes(k));
    whole = table === 'events' || rest.length !== rest.filter((k) => !/["\\]/.test(k)).length;
  } else {
    // A Zeek JSON log with no canonical table: its own table, every field as text but ts.
    plan = usable
      .filter((k) => !LOG_NAME_KEYS.includes(k))
      .map((key) => ({ name: sanitizeName(key), type: key === 'ts' ? 'TIMESTAMP' : 'VARCHAR', keys: [key] }));
  }
  const slots = [...new Set(plan.flatMap((p) => p.keys))];
  const kept = whole ? [] : rest;
  // One parse of each record for every value: json_transform into a struct named by the keys
  // (values as text, kept ones as JSON). Struct names ignore case, so when two keys differ only
  // in case, or one key is both a value and kept, lists of paths are used instead (two parses).
  const names = [...slots, ...kept].map((k) => k.toLowerCase());
  let pulled = '';
  let text: (key: string) => string;
  let keptValue: (key: string) => string;
  if (new Set(names).size === names.length) {
    const structure = `{${[...slots.map((k) => `${JSON.stringify(k)}:"VARCHAR"`), ...kept.map((k) => `${JSON.stringify(k)}:"JSON"`)].join(',')}}`;
    if (names.length > 0) pulled = `, json_transform(j, ${quoteLiteral(structure)}) AS x`;
    text = (key) => `x[${quoteLiteral(key)}]`;
    keptValue = text;
  } else {
    if (slots.length > 0) pulled += `, json_extract_string(j, [${slots.map(path).join(', ')}]) AS x`;
    if (kept.length > 0) pulled += `, json_extract(j, [${kept.map(path).join(', ')}]) AS e`;
    text = (key) => `x[${slots.indexOf(key) + 1}]`;
    // (json_extract gives a JSON null where json_transform gives none: both mean "no value")
    keptValue = (key) => `nullif(e[${kept.indexOf(key) + 1}], 'null'::JSON)`;
  }
  const staged = `(SELECT rn, j${pulled} FROM ${STAGED_RECORDS} WHERE ${where})`;

  const convertExprs: { name: string; expr: string; check?: string; field: string; type: SqlType }[] = [];
  for (const { name, type, keys: sourceKeys } of plan) {
    const raw = sourceKeys.length === 1 ? text(sourceKeys[0]) : `coalesce(${sourceKeys.map(text).join(', ')})`;
    const expr = await convert(ctx, raw, type, name === 'ts', staged, whereParams);
    convertExprs.push({ name, expr, check: type === 'VARCHAR' ? undefined : raw, field: sourceKeys.join('|'), type });
  }
  if (isCanonicalTable(table)) {
    let extra = 'NULL::JSON';
    if (whole) extra = 'j';
    else if (rest.length > 0)
      // The object is written as text from the kept values' own JSON: concat_ws leaves out the keys
      // a record lacks (json_object + json_merge_patch did the same at 4.7 s of a 10 M conn load,
      // and dropped nulls inside nested values too). Keys here have no quote or backslash (see
      // `whole`), and JSON.stringify escapes any control character in them.
      extra = `CAST('{' || nullif(concat_ws(',', ${rest.map((k) => `${quoteLiteral(`${JSON.stringify(k)}:`)} || ${keptValue(k)}`).join(', ')}), '') || '}' AS JSON)`;
    convertExprs.push({ name: EXTRA_COLUMN[table], expr: extra, field: '', type: 'JSON' });
  } else {
    await ensureTextTable(
      ctx,
      table,
      convertExprs.map((c) => c.name),
    );
  }
  const insertColumns = convertExprs.map((c) => c.name);

  // A value is refused when its conversion gave nothing from something: tested on the converted
  // value first, so the text is looked at only where that is null (10 M conn records: 2 s). `bad`
  // names what was refused: the number of the conversion, or -1 for a record that is no object.
  const badCases = convertExprs.flatMap((c, i) =>
    c.check ? [`WHEN v${i} IS NULL AND ${c.check} IS NOT NULL AND ${c.check} <> '' THEN ${i}`] : [],
  );
  // (asked only when some record is not an object)
  if (!allObjects) badCases.unshift(`WHEN NOT ${IS_OBJECT} THEN -1`);
  const bad = badCases.length > 0 ? `CASE ${badCases.join(' ')} END` : 'NULL::INTEGER';
  const badValue = `CASE bad ${convertExprs.map((c, i) => (c.check ? `WHEN ${i} THEN left(${c.check}, 80) ` : '')).join('')}END`;
  // Converted and inserted in one statement; the refused records (what was refused, and the text)
  // are looked for again only when fewer records loaded than the route holds: most files have none.
  const converted = (
    withValue: boolean,
  ) => `(SELECT rn, j, ${convertExprs.map((_, i) => `v${i}`).join(', ')}, bad${withValue ? `, ${badValue} AS bad_value` : ''}
     FROM (SELECT *, ${bad} AS bad FROM (SELECT *, ${convertExprs.map((c, i) => `${c.expr} AS v${i}`).join(', ')} FROM ${staged} WHERE j IS NOT NULL)))`;
  const before = Number(await ctx.ws.scalar(`SELECT count(*) FROM ${quoteIdent(table)} WHERE file_id = $1`, [ctx.fileId]));
  // (keys come from positions, so the rows need not be stored in file order)
  await unorderedInsert(
    ctx,
    `loading ${table}`,
    `INSERT INTO ${quoteIdent(table)} (${insertColumns.map(quoteIdent).join(', ')}, file_id, rec)
     SELECT ${convertExprs.map((_, i) => `v${i}`).join(', ')}, ${ctx.fileId}, ${Number(firstKey)} + rn FROM ${converted(false)} WHERE bad IS NULL`,
    params,
  );
  const loaded = Number(await ctx.ws.scalar(`SELECT count(*) FROM ${quoteIdent(table)} WHERE file_id = $1`, [ctx.fileId])) - before;
  const rows =
    loaded < records
      ? await ctx.ws.query(
          `SELECT rn, bad, bad_value, left(CAST(j AS VARCHAR), 300) AS text FROM ${converted(true)} WHERE bad IS NOT NULL ORDER BY rn LIMIT 100000`,
          params,
        )
      : [];
  const refused = rows.map((row) => {
    const conversion = convertExprs[Number(row.bad)];
    return {
      rn: Number(row.rn),
      // (the field as the file names it: the key, or its keys a|b when several fill one column)
      field: conversion ? conversion.field : null,
      reason: conversion ? `cannot read "${String(row.bad_value)}" as ${typeWords(conversion.type)}` : 'not a JSON object',
      text: row.text === null ? null : String(row.text),
    };
  });
  return { loaded, refused };
}

export async function dropStage(ws: Workspace): Promise<void> {
  await ws.run(`DROP TABLE IF EXISTS ${STAGE}`);
}

/** Reads every record of the file into a temporary table (rn, j): nothing the workspace keeps. */
export async function stageJson(
  ctx: Pick<LoadContext, 'ws' | 'display' | 'localPath' | 'watch'>,
  scan: Pick<Prescan, 'gzip' | 'sample'>,
  shape: 'ndjson' | 'document',
  profile: JsonProfile,
): Promise<void> {
  await resetReaderRejects(ctx.ws);
  await ctx.ws.run(`DROP TABLE IF EXISTS ${STAGE}`);
  const path = quoteLiteral(ctx.localPath);
  const compression = `compression='${scan.gzip ? 'gzip' : 'none'}'`;
  const jsonCompression = scan.gzip ? ", compression='gzip'" : '';
  // \u0001 cannot appear unescaped in valid JSON, so as a delimiter it leaves each line whole.
  const source =
    shape === 'ndjson'
      ? `SELECT j FROM read_csv(${path}, delim='\u0001', quote='', escape='', header=false, auto_detect=false,
         ${compression}, columns={'j': '${profile === 'windows' ? 'JSON' : 'VARCHAR'}'}, ${STORE_REJECTS})`
      : `SELECT json AS j FROM read_json_objects(${path}, format='${firstNonSpace(scan.sample) === '[' ? 'array' : 'unstructured'}'${jsonCompression}, maximum_object_size=67108864)`;
  // Rows are stored in file order (insertion order is kept here: see STAGED_RECORDS), so a
  // record's rowid is its position and refused ones map to lines.
  const select = profile === 'windows' ? `SELECT ${WINDOWS_FLATTEN} AS j FROM (${source})` : source;
  try {
    await ctx.watch('reading', ctx.ws.run(`CREATE TEMP TABLE ${STAGE} AS ${select}`));
    const [{ rows, last }] = await ctx.ws.query(`SELECT count(*) AS rows, max(rowid) AS last FROM ${STAGE}`);
    if (Number(rows) > 0 && Number(last) !== Number(rows) - 1)
      throw new Error(`the staged records are not numbered 0..${Number(rows) - 1}`);
  } catch (error) {
    // (a Ctrl-C during the read stops the ingest as a stop, not as a bad file)
    if (error instanceof InterruptedError) throw error;
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new InputError(`not valid JSON: ${message}`, { location: { file: ctx.display }, cause: error });
  }
}

async function chooseTable(ctx: LoadContext, profile: JsonProfile, keys: string[]): Promise<string> {
  if (ctx.table) return ctx.table;
  if (profile === 'windows') return 'events';
  const guessed = guessTable(keys);
  if (!guessed) {
    throw new UnknownTableError(`cannot tell which table these fields belong to (${keys.slice(0, 12).join(', ')}); name it with --as`, {
      location: { file: ctx.display },
    });
  }
  return guessed;
}

/** Every present key that can fill `column`, best first (JSON rows differ in which keys they carry). */
function keysFor(table: CanonicalTable, column: string, keys: string[], overrides: Map<string, string>, profile: JsonProfile): string[] {
  const override = overrides.get(column);
  if (override !== undefined) {
    const key = keys.find((k) => foldName(k) === foldName(override));
    if (!key) throw new UsageError(`--map ${column}=${override}: no field "${override}" in this file`);
    return [key];
  }
  const aliases = (profile === 'windows' && table === 'events' ? WINDOWS_ALIASES[column] : undefined) ??
    FIELD_ALIASES[table][column] ?? [column];
  const byFolded = new Map(keys.map((k) => [foldName(k), k] as const));
  const extra =
    profile === 'windows' && table === 'events'
      ? (({ event_id: ['eventid'], channel: ['channel'] } as Record<string, string[]>)[column] ?? [])
      : [];
  return [...new Set([...aliases, ...extra])].map((alias) => byFolded.get(alias)).filter((k): k is string => k !== undefined);
}

async function convert(
  ctx: LoadContext,
  raw: string,
  type: SqlType,
  isTs: boolean,
  staged: string,
  stagedParams: SqlValue[],
): Promise<string> {
  if (isListType(type)) return listFromText(raw, type);
  if (type === 'TIMESTAMP') {
    const sample = await ctx.ws.query(`SELECT v FROM (SELECT ${raw} AS v FROM ${staged}) WHERE v IS NOT NULL LIMIT 2000`, stagedParams);
    const reading = await chooseTimeReading(
      ctx.ws,
      sample.map((row) => String(row.v)),
    );
    // Other times (an account's created_at) are read the way most of them are written, else as ISO.
    if (!isTs) return timestampFromText(raw, reading ?? { kind: 'iso' });
    if (!reading) {
      const example = sample[0] ? String(sample[0].v).slice(0, 60) : '';
      throw new InputError(`cannot read timestamps like "${example}"; supported: epoch seconds or ms, ISO 8601, common log formats`, {
        location: { file: ctx.display, field: 'ts' },
      });
    }
    return timestampFromText(raw, reading);
  }
  if (type === 'VARCHAR' || type === 'JSON') return raw;
  return `TRY_CAST(${raw} AS ${type})`;
}

function firstNonSpace(sample: Buffer): string {
  const match = /\S/.exec(sample.toString('utf8', 0, Math.min(sample.length, 4096)).replace(/^\uFEFF/, ''));
  return match ? match[0] : '';
}

async function ensureTextTable(ctx: LoadContext, table: string, columns: string[]): Promise<void> {
  if (!/^zeek_[a-z0-9_]+$/.test(table)) throw new UsageError(`--as ${table}: JSON Zeek logs go to flows, http, tls or a zeek_<name> table`);
  const existing = await ctx.ws.query('SELECT column_name FROM information_schema.columns WHERE table_name = $1', [table]);
  if (existing.length === 0) {
    await ctx.ws.run(
      `CREATE TABLE ${quoteIdent(table)} (${columns.map((c) => `${quoteIdent(c)} ${c === 'ts' ? 'TIMESTAMP' : 'VARCHAR'}`).join(', ')}, file_id INTEGER NOT NULL, rec BIGINT)`,
    );
    return;
  }
  const have = new Set(existing.map((row) => String(row.column_name)));
  if (!have.has('rec')) await addRecordKeys(ctx.ws, table);
  for (const column of columns)
    if (!have.has(column)) await ctx.ws.run(`ALTER TABLE ${quoteIdent(table)} ADD COLUMN ${quoteIdent(column)} VARCHAR`);
}
