/**
 * Runs rules as SQL over the workspace and appends what they find to `detections` (the seed's
 * summary index). Rules sharing a table and a log source run together (scan.ts): each batch of
 * the source's events is read once, the rules' anchors pick the (event, rule) pairs worth a full
 * check, and matches go straight into detections, never looped over in JS. Sources are shared
 * between two DuckDB connections (planning is one statement at a time per connection); a batch
 * with few candidate pairs is checked as data instead of as per-rule SQL (see DATA_PAIRS).
 * Correlation rules then run over what their rules matched (correlation.ts).
 * Re-running over the same events adds nothing: (rule, table, event, entity) is unique.
 */
import { directoryDetections, watchlistDetections, type WatchlistReject } from './directory-flags.ts';
import { GroupScan, knownAnchors, ScanSet } from './scan.ts';
import { detectionAnchors, type Clauses } from './sigma/anchors.ts';
import { Bindings } from '../store/sql.ts';
import { CANONICAL_COLUMNS, quoteIdent, quoteLiteral, type CanonicalTable } from '../store/schema.ts';
import { DUCKDB_VERSION, Workspace } from '../store/workspace.ts';
import { cacheKey, readCache, sourceKey, writeCache } from '../store/cache.ts';
import { mapLogsource, type MappedSource } from './logsource.ts';
import type { Rule, Skipped } from './model.ts';
import { createMatchesTable, MATCHES_TABLE, planCorrelations, runCorrelations } from './correlation.ts';
import { compileDetection, UnsupportedError, type CompileContext } from './sigma/compile.ts';
import { checkRuleSql } from './sqlcheck.ts';

export type { Skipped } from './model.ts';

export interface Planned {
  rule: Rule;
  source: MappedSource;
  /** The rule's |re patterns, checked against DuckDB's regex engine (RE2) before any scan. */
  regexes: string[];
}

/**
 * A rule's plan depends on the rule alone: kept while the rule object lives, so a process that
 * runs the same rules over many inputs (a folder of captures, the demo) plans them once.
 */
const planCache = new WeakMap<Rule, Planned | Skipped>();

/** Maps every rule to its source; rules that use what we do not support are skipped with the reason. */
export function planRules(rules: readonly Rule[]): { planned: Planned[]; skipped: Skipped[] } {
  const planned: Planned[] = [];
  const skipped: Skipped[] = [];
  const seen = new Set<string>();
  const mine: Rule[] = [];
  // Correlations read other rules' matches: they are planned once those rules are (below).
  for (const rule of rules.filter((r) => !r.correlation)) {
    if (seen.has(rule.id)) {
      skipped.push({ rule, reason: 'duplicate rule id', detail: rule.id });
      continue;
    }
    seen.add(rule.id);
    mine.push(rule);
  }
  const fresh = mine.filter((rule) => !planCache.has(rule));
  const verdicts = fresh.length >= CACHED_PLANS_FROM ? cachedVerdicts(fresh) : fresh.map(verdictOf);
  fresh.forEach((rule, i) => {
    const v = verdicts[i];
    if ('reason' in v) planCache.set(rule, { rule, ...v });
    else {
      planCache.set(rule, { rule, source: sourceOf(rule), regexes: v.regexes });
      knownAnchors.set(rule, v.anchors);
    }
  });
  for (const rule of mine) {
    const known = planCache.get(rule)!;
    if ('reason' in known) skipped.push(known);
    else planned.push(known);
  }
  skipped.push(
    ...planCorrelations(
      rules.filter((r) => r.correlation),
      planned.map((p) => p.rule),
    ).skipped,
  );
  return { planned, skipped };
}

/** What planning found for a rule, as data: the |re patterns it uses, or why it is skipped. */
type Verdict = { regexes: string[]; anchors: Clauses } | { reason: string; detail: string };

function sourceOf(rule: Rule): MappedSource {
  return rule.origin === 'sigma' ? mapLogsource(rule.logsource) : nativeSource(rule.table);
}

/** Compiled once, against a throwaway context, so unsupported features are found before any scan. */
function verdictOf(rule: Rule): Verdict {
  try {
    const source = sourceOf(rule);
    const regexes: string[] = [];
    const ctx: CompileContext = {
      field: (name) => fieldSql(source, name, () => 0),
      fullText: () => 'txt',
      bind: () => '?',
      regex: (p) => regexes.push(p),
    };
    if (rule.sql !== undefined) checkRuleSql(rule.sql, rule.table);
    else compileDetection(rule.detection ?? {}, ctx);
    return { regexes, anchors: rule.sql === undefined ? detectionAnchors(rule.detection ?? {}) : [] };
  } catch (error) {
    if (!(error instanceof UnsupportedError)) throw error;
    return { reason: error.reason, detail: error.message };
  }
}

/** From this many rules (a Sigma rule set), verdicts are kept on disk: compiling SigmaHQ to find what it uses takes most of a second. */
const CACHED_PLANS_FROM = 200;

/** Run from the sources (.ts, through tsx) or the build (dist/, .js): the planner's files are beside this one either way. */
const OWN_EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
/** The modules a verdict depends on: a change to any of them is a cache miss. */
const PLANNER = [
  './engine.ts',
  './logsource.ts',
  './sqlcheck.ts',
  './sigma/compile.ts',
  './sigma/condition.ts',
  './sigma/values.ts',
  './sigma/anchors.ts',
  '../net/network.ts',
].map((path) => new URL(path.replace(/\.ts$/, OWN_EXTENSION), import.meta.url));

function cachedVerdicts(rules: readonly Rule[]): Verdict[] {
  const name = `plan-${cacheKey([sourceKey(PLANNER), JSON.stringify(rules.map((r) => [r.origin, r.table, r.logsource ?? null, r.detection ?? null, r.sql ?? null]))])}.json`;
  const cached = readCache<Verdict[]>(name);
  const valid =
    Array.isArray(cached) &&
    cached.length === rules.length &&
    cached.every(
      (v) =>
        v !== null &&
        typeof v === 'object' &&
        (Array.isArray((v as { regexes?: unknown }).regexes) || typeof (v as { reason?: unknown }).reason === 'string'),
    );
  if (valid) return cached;
  const verdicts = rules.map(verdictOf);
  writeCache(name, verdicts);
  return verdicts;
}

/**
 * Rules whose |re pattern DuckDB's regex engine (RE2: no look-around, no back-references)
 * cannot compile are set aside with the pattern and the engine's reason: in a scan shared by
 * hundreds of rules, one bad pattern would otherwise stop them all.
 */
export const REGEX_REFUSED = 'regex the engine cannot compile';

/**
 * Pattern → the engine's refusal (null: it compiles). The same DuckDB gives the same answer, so
 * once per process, and kept on disk by DuckDB version (store/cache.ts): SigmaHQ's few hundred
 * patterns cost a quarter of a second to try.
 */
const verdict = new Map<string, string | null>();
const VERDICTS = `regex-verdicts-${cacheKey([DUCKDB_VERSION])}.json`;
let verdictsRead = false;

export async function refuseBadRegexes(planned: readonly Planned[]): Promise<{ planned: Planned[]; skipped: Skipped[] }> {
  if (!verdictsRead) {
    verdictsRead = true;
    for (const [pattern, said] of Object.entries(readCache<Record<string, string | null>>(VERDICTS) ?? {})) {
      if (said === null || typeof said === 'string') verdict.set(pattern, said);
    }
  }
  const patterns = new Set(planned.flatMap((p) => p.regexes).filter((p) => !verdict.has(p)));
  if (patterns.size > 0) {
    // A scratch in-memory database: a failed statement must not abort the caller's transaction.
    const scratch = await Workspace.open(':memory:');
    try {
      for (const pattern of patterns) {
        try {
          await scratch.query("SELECT regexp_matches('', $1) AS ok", [pattern]);
          verdict.set(pattern, null);
        } catch (error) {
          verdict.set(
            pattern,
            (error instanceof Error ? error.message : String(error)).split('\n')[0].replace(/^Invalid Input Error: /, ''),
          );
        }
      }
    } finally {
      scratch.close();
    }
    writeCache(VERDICTS, Object.fromEntries(verdict));
  }
  const kept: Planned[] = [];
  const skipped: Skipped[] = [];
  for (const p of planned) {
    const bad = p.regexes.find((pattern) => verdict.get(pattern) != null);
    if (bad === undefined) kept.push(p);
    else
      skipped.push({
        rule: p.rule,
        reason: REGEX_REFUSED,
        detail: `|re pattern ${JSON.stringify(bad.slice(0, 120))}: ${verdict.get(bad)}`,
      });
  }
  return { planned: kept, skipped };
}

/** Native rules name canonical columns directly, or keys of the table's JSON column. */
function nativeSource(table: CanonicalTable): MappedSource {
  const columns = new Set(CANONICAL_COLUMNS[table].map((c) => c.name));
  return {
    table,
    group: `native/${table}`,
    where: () => 'true',
    fieldKeys: (name) => {
      if (columns.has(name)) return { column: name };
      if (/^[A-Za-z0-9_.\-@ :]+$/.test(name)) return { jsonKeys: [name] };
      throw new UnsupportedError('field name with unusual characters', name);
    },
  };
}

/** SQL text for a field: a canonical column, or the JSON path list entry registered for it. */
function fieldSql(
  source: MappedSource,
  name: string,
  register: (jsonKey: string) => number,
  useColumn: (column: string) => void = () => undefined,
): string {
  const keys = source.fieldKeys(name);
  if (keys.column) {
    useColumn(keys.column);
    return `CAST(${quoteIdent(keys.column)} AS VARCHAR)`;
  }
  const refs = (keys.jsonKeys ?? []).map((k) => `fl[${register(k)}]`);
  return refs.length === 1 ? refs[0] : `coalesce(${refs.join(', ')})`;
}

export interface RunReport {
  rules: number;
  skipped: Skipped[];
  groups: number;
  /** Rows of the tables the rules read. */
  events: number;
  inserted: number;
  seconds: number;
  /** Candidate (event, rule) pairs the anchors let through to a full check. */
  candidates: number;
  /** Watch-list rows refused, with their lines (the rest landed). */
  watchlistRefused: WatchlistReject[];
}

/** Events of one source taken at a time: what one batch holds in memory, whatever the table's size. */
export const BATCH_ROWS = 100_000;
/** Rowids per block when counting each source's events, the unit batches are cut at. */
const BLOCK_ROWS = 20_000;
/** One source's scan and its batches: [first rowid, end rowid, events]. */
interface Work {
  scan: GroupScan;
  ranges: [number, number, number][];
  /** Its matches go to the run's scratch table that correlations read: kept on the run's own connection. */
  hidden: boolean;
}

/** The second lane's matches, in its connection's temp tables, then in this one's. */
const FOUND = 'hb_found';

/**
 * Sources shared between two lanes so each plans about as much: a batch costs a few tens of
 * milliseconds of planning plus its rules' share (1–3 ms a candidate rule), then its events.
 */
function splitLanes(work: Work[]): [Work[], Work[]] {
  const cost = (w: Work) => w.ranges.length * (30 + w.scan.rules.length / 10) + w.ranges.reduce((a, r) => a + r[2], 0) / 50;
  const lanes: [Work[], Work[]] = [[], []];
  const load = [0, 0];
  for (const w of [...work].sort((a, b) => cost(b) - cost(a))) {
    const lane = w.hidden || load[0] <= load[1] ? 0 : 1;
    lanes[lane].push(w);
    load[lane] += cost(w);
  }
  return lanes;
}

/**
 * Batches with at most this many candidate (event, rule) pairs check them as data (ScanSet
 * checkData: one statement whatever the rules); more, as each rule's compiled SQL, whose planning
 * (1–3 ms a rule) is then small beside the work. Measured on the 20 OTRF captures: 16.8–18.1 s of
 * rule time with it, 21.6–23.3 s with SQL only; a 1 M-event bench batch holds ~200 k pairs.
 */
export const DATA_PAIRS = 50_000;

export interface RulesProgress {
  eventsDone: number;
  eventsTotal: number;
}

/**
 * DuckDB's memory limit while rules run. Its default (80 % of RAM) lets the buffer pool cache the
 * whole table as the batches pass, so a 10 M-event run would hold gigabytes it never reads
 * twice; batches need a few hundred MB. Measured on 1 M OTRF events: peak RSS 3.3 GB → 1.4 GB
 * for 16 % fewer events per second.
 */
export const RULES_MEMORY_LIMIT = '1GB';

export interface RunOptions {
  runId?: number;
  placeholders?: Record<string, string[]>;
  watchlist?: string;
  /** Events of one source per batch (default BATCH_ROWS). */
  batchRows?: number;
  /** 1: one connection; 2 (default): sources split between two, planned on two cores. */
  lanes?: 1 | 2;
  /** Batches with at most this many candidate pairs are checked as data (default DATA_PAIRS; 0: always SQL). */
  dataPairs?: number;
  /** DuckDB memory_limit for the run, e.g. '4GB' (default RULES_MEMORY_LIMIT). */
  memoryLimit?: string;
  onProgress?: (p: RulesProgress) => void;
}

export async function runRules(ws: Workspace, rules: readonly Rule[], options: RunOptions = {}): Promise<RunReport> {
  const previous = String(await ws.scalar("SELECT current_setting('memory_limit')"));
  await ws.run(`SET memory_limit = ${quoteLiteral(options.memoryLimit ?? RULES_MEMORY_LIMIT)}`);
  try {
    return await runRulesWithin(ws, rules, options);
  } finally {
    await ws.run(`SET memory_limit = ${quoteLiteral(previous)}`).catch(() => undefined);
  }
}

async function runRulesWithin(ws: Workspace, rules: readonly Rule[], options: RunOptions): Promise<RunReport> {
  const started = performance.now();
  const plan = planRules(rules.filter((r) => !r.correlation));
  const checked = await refuseBadRegexes(plan.planned);
  const planned = checked.planned;
  const correlations = planCorrelations(
    rules.filter((r) => r.correlation),
    planned.map((p) => p.rule),
  );
  const skipped = [...plan.skipped, ...checked.skipped, ...correlations.skipped];
  // Rules read only by correlations write to a scratch table, so they scan apart from the rest.
  const bySource = new Map<string, Planned[]>();
  for (const p of planned) {
    const key = `${p.source.group}${correlations.hidden.has(p.rule.id) ? '\u0000hidden' : ''}`;
    if (!bySource.has(key)) bySource.set(key, []);
    bySource.get(key)!.push(p);
  }
  if (correlations.ordered.length > 0) await createMatchesTable(ws);
  const before = Number(await ws.scalar('SELECT count(*) FROM detections'));
  const tables = [...new Set(planned.map((p) => p.source.table))];
  // A source's scan is built (its rules compiled and anchored) only once it is known to have
  // events: a small capture meets a handful of SigmaHQ's sixty Windows sources.
  const sources = [...bySource.values()].map((members, i) => ({ id: i, source: members[0].source, members }));
  const targetOf = ({ members }: (typeof sources)[number]) => (correlations.hidden.has(members[0].rule.id) ? MATCHES_TABLE : 'detections');
  const build = (s: (typeof sources)[number]) =>
    GroupScan.for(
      s.source,
      s.members.map((m) => m.rule),
      s.id,
      {
        placeholders: options.placeholders,
        keep: correlations.keep,
        target: targetOf(s),
      },
    );
  const batch = options.batchRows ?? BATCH_ROWS;
  // Each source takes its own events in batches of up to `batch`, cut at block edges: one scan
  // per table counts every source's events per block of rowids. A source with few events (process
  // creation is well under 1 % of some captures) then runs as one batch and plans its rules once,
  // and memory holds one batch whatever the table's size. Sources with fewer than SHARED_BELOW
  // events share their batches (ScanSet): a statement costs milliseconds to plan whatever it
  // reads, and a small capture meets a dozen sources.
  const work: Work[] = [];
  let events = 0;
  for (const table of tables) {
    const mine = sources.filter((s) => s.source.table === table);
    const { values, bind } = new Bindings();
    const blocks = await ws.query(
      `SELECT rowid // ${BLOCK_ROWS} AS b, count(*) AS n, ${mine.map((s, i) => `count(*) FILTER (WHERE ${s.source.where(bind)}) AS n${i}`).join(', ')} FROM ${quoteIdent(table)} GROUP BY b ORDER BY b`,
      values,
    );
    // Rows added by the open transaction carry row ids from 2^62: batches cut by row id in JS
    // numbers would skip them silently. The callers run rules over committed rows only.
    if (blocks.some((b) => Number(b.b) * BLOCK_ROWS > Number.MAX_SAFE_INTEGER))
      throw new Error(`rules run over rows the open transaction added to ${table}: commit them first`);
    events += blocks.reduce((sum, b) => sum + Number(b.n), 0);
    mine.forEach((source, i) => {
      const ranges: [number, number, number][] = [];
      for (const block of blocks) {
        const n = Number(block[`n${i}`]);
        if (n === 0) continue;
        const lo = Number(block.b) * BLOCK_ROWS;
        const last = ranges[ranges.length - 1];
        if (last && last[1] === lo && last[2] + n <= batch) {
          last[1] = lo + BLOCK_ROWS;
          last[2] += n;
        } else ranges.push([lo, lo + BLOCK_ROWS, n]);
      }
      if (ranges.length > 0) work.push({ scan: build(source), ranges, hidden: targetOf(source) !== 'detections' });
    });
  }
  const total = work.reduce((sum, w) => sum + w.ranges.reduce((a, r) => a + r[2], 0), 0);
  let done = 0;
  let candidates = 0;
  const runLane = async (conn: Workspace, items: Work[], target?: string): Promise<void> => {
    await GroupScan.prepareRun(
      conn,
      items.map((w) => w.scan),
    );
    for (const { scan, ranges } of items) {
      const set = new ScanSet(scan, target);
      for (const [lo, hi, n] of ranges) {
        options.onProgress?.({ eventsDone: total > 0 ? (events * done) / total : 0, eventsTotal: events });
        await set.load(conn, lo, hi);
        const found = await set.pair(conn);
        const counts = [...found].flatMap(([s, ks]) => [...ks].map(([k, c]) => ({ s, k, c })));
        const pairs = counts.reduce((a, x) => a + x.c, 0);
        candidates += pairs;
        // HUNTBOOK_TRACE=1 also says how well the anchors narrowed each batch, and which rules they let through most.
        if (process.env.HUNTBOOK_TRACE === '1')
          process.stderr.write(
            `[trace] rules ${set.group}: ${counts.length} candidate rules, ${pairs} pairs; most: ${counts
              .sort((a, b) => b.c - a.c)
              .slice(0, 3)
              .map((x) => `${x.s.rules[x.k].name} (${x.c})`)
              .join(', ')}\n`,
          );
        if (counts.length > 0) {
          const asData = pairs <= (options.dataPairs ?? DATA_PAIRS);
          await set.fetch(conn, lo, hi, found, asData);
          await set.check(conn, found, options.runId ?? null, asData);
        }
        done += n;
      }
    }
    await ScanSet.flush(conn, options.runId ?? null);
    await GroupScan.releaseRun(conn);
  };
  // Two lanes, one per core: on a small input nearly all the time is DuckDB planning statements,
  // one at a time per connection. The second lane's matches come back through its own temp
  // table, so that they land inside this connection's transaction (a run is whole or absent).
  const [mine, other] = options.lanes === 1 ? [work, []] : splitLanes(work);
  if (other.length === 0) await runLane(ws, mine);
  else {
    const companion = await ws.companion();
    try {
      await companion.run(`CREATE TEMP TABLE ${FOUND} AS SELECT * FROM detections LIMIT 0`);
      await companion.run(`CREATE UNIQUE INDEX ${FOUND}_once ON ${FOUND} (rule_id, source_table, event_ref, entity_type, entity)`);
      const settled = await Promise.allSettled([runLane(ws, mine), runLane(companion, other, FOUND)]);
      for (const s of settled) if (s.status === 'rejected') throw s.reason;
      const found = await companion.query(
        `SELECT CAST(ts AS VARCHAR) AS ts, rule_id, rule, phase, weight, entity_type, entity, source_table, event_ref, CAST(details AS VARCHAR) AS details, run_id FROM ${FOUND}`,
      );
      await ws.run(
        `CREATE OR REPLACE TEMP TABLE ${FOUND} (ts VARCHAR, rule_id VARCHAR, rule VARCHAR, phase VARCHAR, weight DOUBLE, entity_type VARCHAR, entity VARCHAR, source_table VARCHAR, event_ref VARCHAR, details VARCHAR, run_id INTEGER)`,
      );
      await ws.append(
        FOUND,
        found.map((r) => Object.values(r) as (string | number | null)[]),
      );
      await ws.run(`INSERT OR IGNORE INTO detections (ts, rule_id, rule, phase, weight, entity_type, entity, source_table, event_ref, details, run_id)
SELECT CAST(ts AS TIMESTAMP), rule_id, rule, phase, weight, entity_type, entity, source_table, event_ref, CAST(details AS JSON), run_id FROM ${FOUND}`);
      await ws.run(`DROP TABLE ${FOUND}`);
    } finally {
      companion.close();
    }
  }
  await runCorrelations(ws, correlations, options.runId ?? null);
  await ws.run(`DROP TABLE IF EXISTS temp.${MATCHES_TABLE}`);
  options.onProgress?.({ eventsDone: events, eventsTotal: events });
  // The directory's red flags (leavers, role changes) are detections too, whatever the packs.
  await directoryDetections(ws, options.runId ?? null);
  const watchlist = options.watchlist ? await watchlistDetections(ws, options.watchlist, options.runId ?? null) : undefined;
  const after = Number(await ws.scalar('SELECT count(*) FROM detections'));
  return {
    rules: planned.length + correlations.ordered.length,
    skipped,
    groups: bySource.size,
    events,
    inserted: after - before,
    seconds: (performance.now() - started) / 1000,
    candidates,
    watchlistRefused: watchlist?.refused ?? [],
  };
}
