/**
 * JSON logs: NDJSON (one object a line: Zeek JSON, OTRF / winlogbeat Windows events, SIEM
 * exports) and JSON documents (an array of objects, or pretty-printed objects such as evtx dumps).
 * Lines are staged as DuckDB JSON values first, which gives each malformed line its line number;
 * fields are then pulled out in SQL, never in a JS loop over rows.
 */
import type { SqlValue } from '../store/sql.ts';
import { InputError, UnknownTableError, UsageError } from '../errors.ts';
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
import type { Row } from '../store/workspace.ts';
import { listFromText } from './lists.ts';
import { FIELD_ALIASES, foldName, parseMapOption } from './fields.ts';
import {
  addRecordKeys,
  lineOfRecord,
  NEXT_RECORD,
  readerRejects,
  resetReaderRejects,
  STORE_REJECTS,
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
const CONVERTED = 'hb_converted';
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

export async function loadJson(ctx: LoadContext, scan: Prescan, shape: 'ndjson' | 'document', profile: JsonProfile): Promise<LoadOutcome> {
  await stage(ctx, scan, shape, profile);
  const readerRefused = await readerRejects(ctx.ws, () => null);
  const stats = await ctx.ws.query(`SELECT count(j) AS records, count(*) FILTER (WHERE json_type(j) = 'OBJECT') AS objects FROM ${STAGE}`);
  const records = Number(stats[0].records);
  const allObjects = Number(stats[0].objects) === records;
  if (records > 0 && Number(stats[0].objects) === 0) {
    throw new InputError('no JSON objects in this file (expected one object per line, or an array of objects)', {
      location: { file: ctx.display },
    });
  }
  const routes = await route(ctx, profile);
  const refusedLines = readerRefused.map((r) => r.line ?? 0).sort((a, b) => a - b);
  const rejects: Reject[] = [...readerRefused];
  let loaded = 0;
  for (const { table, where, params, keys } of routes) {
    const result = await loadRoute(ctx, profile, table, keys, where, params, allObjects);
    loaded += result.loaded;
    for (const row of result.refused) {
      const index = Number(row.rn);
      const reason = String(row.reason);
      const field = reason.startsWith('not a JSON') ? null : reason.slice(0, reason.indexOf(':'));
      rejects.push(
        shape === 'ndjson'
          ? { line: lineOfRecord(index, refusedLines), field, reason, text: row.text === null ? null : String(row.text) }
          : { line: null, field, reason: `record ${index + 1}: ${reason}`, text: row.text === null ? null : String(row.text) },
      );
    }
  }
  rejects.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  await ctx.ws.run(`DROP TABLE IF EXISTS ${STAGE}`);
  return { target: routes.map((r) => r.table).join(','), read: records + readerRefused.length, loaded, rejects };
}

interface Route {
  table: string;
  /** Which staged records go to `table` (SQL over j, rn). */
  where: string;
  params: SqlValue[];
  /** The keys its records carry, most frequent first. */
  keys: string[];
}

/**
 * Where each record goes. Zeek JSON is routed record by record, by the log name the record
 * carries (`_path`, or a shipper's `@stream`), else by the file's (or archive member's) name: a
 * shipper's export mixes conn, dns, weird... in one file. Everything else goes to one table.
 * The log names and each one's keys come from one pass over the records.
 */
async function route(ctx: LoadContext, profile: JsonProfile): Promise<Route[]> {
  if (ctx.table || profile !== 'zeek') {
    const keys = await sampleKeys(ctx);
    return [{ table: await chooseTable(ctx, profile, keys), where: 'true', params: [], keys }];
  }
  const fallback = zeekLogName(ctx.display);
  // (one parse of the record for all the name keys)
  const names = `json_extract_string(j, [${LOG_NAME_KEYS.map((k) => quoteLiteral(`$."${k}"`)).join(', ')}])`;
  const name = `lower(coalesce(${LOG_NAME_KEYS.map((_, i) => `nullif(${names}[${i + 1}], '')`).join(', ')}, $1))`;
  // Records grouped by log name and key list first: a file has few distinct key lists, so the
  // keys are unnested from those, not from every record.
  const found = await ctx.ws.query(
    `SELECT log, k, sum(n) AS n FROM (SELECT log, unnest(ks) AS k, n FROM (
       SELECT ${name} AS log, json_keys(j) AS ks, count(*) AS n FROM ${STAGE} WHERE json_type(j) = 'OBJECT' GROUP BY ALL))
     GROUP BY log, k ORDER BY log, n DESC, k`,
    [fallback],
  );
  const byLog = new Map<string, string[]>();
  for (const row of found) {
    const log = String(row.log);
    const keys = byLog.get(log) ?? [];
    if (keys.length < MAX_KEYS) keys.push(String(row.k));
    byLog.set(log, keys);
  }
  const routes: Route[] = [...byLog].map(([log, keys]) => ({
    table: targetForZeekPath(log, ctx.display, undefined),
    where: `${name} = $2`,
    params: [fallback, log],
    keys,
  }));
  // Records that are not objects are refused by the first route's load, with their lines; with
  // one log in the file every record is that route's, and no record's name need be read again.
  if (routes.length === 0)
    routes.push({ table: targetForZeekPath(undefined, ctx.display, undefined), where: 'true', params: [], keys: [] });
  else if (routes.length === 1) Object.assign(routes[0], { where: 'true', params: [] });
  else routes[0].where = `(${routes[0].where} OR json_type(j) <> 'OBJECT')`;
  return routes;
}

async function sampleKeys(ctx: LoadContext): Promise<string[]> {
  return (
    await ctx.ws.query(
      `SELECT k FROM (SELECT unnest(ks) AS k, n FROM (SELECT json_keys(j) AS ks, count(*) AS n FROM ${STAGE} WHERE json_type(j) = 'OBJECT' GROUP BY ks))
       GROUP BY k ORDER BY sum(n) DESC, k LIMIT ${MAX_KEYS}`,
    )
  ).map((row) => String(row.k));
}

async function loadRoute(
  ctx: LoadContext,
  profile: JsonProfile,
  table: string,
  keys: string[],
  where: string,
  whereParams: SqlValue[],
  allObjects: boolean,
): Promise<{ loaded: number; refused: Row[] }> {
  const params: SqlValue[] = [...whereParams];
  const bind = (value: SqlValue) => {
    params.push(value);
    return `$${params.length}`;
  };
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
    keptValue = (key) => `e[${kept.indexOf(key) + 1}]`;
  }
  const staged = `(SELECT rn, j${pulled} FROM ${STAGE} WHERE ${where})`;

  const convertExprs: { name: string; expr: string; check?: string; field: string }[] = [];
  for (const { name, type, keys: sourceKeys } of plan) {
    const raw = sourceKeys.length === 1 ? text(sourceKeys[0]) : `coalesce(${sourceKeys.map(text).join(', ')})`;
    const expr = await convert(ctx, raw, type, name === 'ts', staged, whereParams);
    convertExprs.push({ name, expr, check: type === 'VARCHAR' ? undefined : raw, field: sourceKeys.join('|') });
  }
  if (isCanonicalTable(table)) {
    // (bind() adds a parameter: the object is built only when it is the one used)
    let extra = 'NULL::JSON';
    if (whole) extra = 'j';
    else if (rest.length > 0)
      extra = `nullif(json_merge_patch('{}'::JSON, json_object(${rest.map((k) => `${bind(k)}, ${keptValue(k)}`).join(', ')})), '{}'::JSON)`;
    convertExprs.push({ name: EXTRA_COLUMN[table], expr: extra, field: '' });
  } else {
    await ensureTextTable(
      ctx,
      table,
      convertExprs.map((c) => c.name),
    );
  }
  const insertColumns = convertExprs.map((c) => c.name);

  const reasonCases = convertExprs
    .filter((c) => c.check)
    .map(
      (c) =>
        `WHEN ${c.check} IS NOT NULL AND ${c.check} <> '' AND ${c.expr} IS NULL THEN ${bind(`${c.field}: cannot read "`)} || left(${c.check}, 60) || '"'`,
    );
  // (json_type parses the record again: asked only when some record is not an object)
  if (!allObjects) reasonCases.unshift("WHEN json_type(j) <> 'OBJECT' THEN 'not a JSON object'");
  const reason = reasonCases.length > 0 ? `CASE ${reasonCases.join(' ')} END` : 'NULL::VARCHAR';
  await ctx.ws.run(`DROP TABLE IF EXISTS ${CONVERTED}`);
  await ctx.watch(
    'converting',
    ctx.ws.run(
      `CREATE TEMP TABLE ${CONVERTED} AS SELECT rn, ${convertExprs.map((c, i) => `${c.expr} AS v${i}`).join(', ')},
       ${reason} AS reason
     FROM ${staged} WHERE j IS NOT NULL`,
      params,
    ),
  );
  const before = Number(await ctx.ws.scalar(`SELECT count(*) FROM ${quoteIdent(table)} WHERE file_id = $1`, [ctx.fileId]));
  await ctx.watch(
    `loading ${table}`,
    ctx.ws.run(
      `INSERT INTO ${quoteIdent(table)} (${insertColumns.map(quoteIdent).join(', ')}, file_id, rec)
     SELECT ${convertExprs.map((_, i) => `v${i}`).join(', ')}, ${ctx.fileId}, ${NEXT_RECORD} FROM ${CONVERTED} WHERE reason IS NULL ORDER BY rn`,
    ),
  );
  const loaded = Number(await ctx.ws.scalar(`SELECT count(*) FROM ${quoteIdent(table)} WHERE file_id = $1`, [ctx.fileId])) - before;
  // The refused records' text is read back only when there are some (most files have none).
  const anyRefused = Number(await ctx.ws.scalar(`SELECT count(*) FROM ${CONVERTED} WHERE reason IS NOT NULL`)) > 0;
  const refused = anyRefused
    ? await ctx.ws.query(
        `SELECT rn, reason, left(CAST(j AS VARCHAR), 300) AS text FROM (SELECT rn, reason FROM ${CONVERTED} WHERE reason IS NOT NULL ORDER BY rn LIMIT 100000)
         JOIN ${STAGE} USING (rn) ORDER BY rn`,
      )
    : [];
  await ctx.ws.run(`DROP TABLE IF EXISTS ${CONVERTED}`);
  return { loaded, refused };
}

async function stage(ctx: LoadContext, scan: Prescan, shape: 'ndjson' | 'document', profile: JsonProfile): Promise<void> {
  await resetReaderRejects(ctx.ws);
  await ctx.ws.run(`DROP TABLE IF EXISTS ${STAGE}`);
  const path = quoteLiteral(ctx.localPath);
  const compression = `compression='${scan.gzip ? 'gzip' : 'none'}'`;
  const jsonCompression = scan.gzip ? ", compression='gzip'" : '';
  // \u0001 cannot appear unescaped in valid JSON, so as a delimiter it leaves each line whole.
  const source =
    shape === 'ndjson'
      ? `SELECT row_number() OVER () - 1 AS rn, j FROM read_csv(${path}, delim='\u0001', quote='', escape='', header=false, auto_detect=false,
         ${compression}, columns={'j': 'JSON'}, ${STORE_REJECTS})`
      : `SELECT row_number() OVER () - 1 AS rn, json AS j FROM read_json_objects(${path}, format='${firstNonSpace(scan.sample) === '[' ? 'array' : 'unstructured'}'${jsonCompression}, maximum_object_size=67108864)`;
  // rn numbers records in file order (DuckDB keeps insertion order), so refused ones map to lines.
  const select = profile === 'windows' ? `SELECT rn, ${WINDOWS_FLATTEN} AS j FROM (${source})` : source;
  try {
    await ctx.watch('reading', ctx.ws.run(`CREATE TEMP TABLE ${STAGE} AS ${select}`));
  } catch (error) {
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
