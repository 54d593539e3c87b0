/**
 * Runs rules as SQL over the workspace and appends what they find to `detections` (the seed's
 * summary index). Rules sharing a table and a log source are evaluated together in one scan:
 * each event's fields are pulled out of its JSON once, every rule's condition is one boolean of
 * a list, and matches are unnested straight into detections, never looped over in JS.
 * Re-running over the same events adds nothing: (rule, table, event, entity) is unique.
 */
import { directoryDetections, watchlistDetections } from './directory-flags.ts';
import { GroupScan } from './scan.ts';
import { Bindings, type SqlValue } from '../store/sql.ts';
import { CANONICAL_COLUMNS, EXTRA_COLUMN, quoteIdent, quoteLiteral, type CanonicalTable } from '../store/schema.ts';
import { Workspace } from '../store/workspace.ts';
import { mapLogsource, type MappedSource } from './logsource.ts';
import type { Rule } from './model.ts';
import { compileDetection, UnsupportedError, type CompileContext } from './sigma/compile.ts';
import { checkRuleSql } from './sqlcheck.ts';
import { NORMALISE_HOST, NORMALISE_USER, SERVICE_ACCOUNTS } from '../model/entities.ts';

export interface Skipped {
  rule: Rule;
  reason: string;
  detail: string;
}

interface Planned {
  rule: Rule;
  source: MappedSource;
  /** The rule's |re patterns, checked against DuckDB's regex engine (RE2) before any scan. */
  regexes: string[];
}

/** Maps every rule to its source; rules that use what we do not support are skipped with the reason. */
export function planRules(rules: readonly Rule[]): { planned: Planned[]; skipped: Skipped[] } {
  const planned: Planned[] = [];
  const skipped: Skipped[] = [];
  const seen = new Set<string>();
  for (const rule of rules) {
    if (seen.has(rule.id)) {
      skipped.push({ rule, reason: 'duplicate rule id', detail: rule.id });
      continue;
    }
    seen.add(rule.id);
    try {
      const source = rule.origin === 'sigma' ? mapLogsource(rule.logsource) : nativeSource(rule.table);
      // Compile once now, against a throwaway context, so unsupported features are found before any scan.
      const regexes: string[] = [];
      const ctx: CompileContext = { field: (name) => fieldSql(source, name, () => 0), fullText: () => 'txt', bind: () => '?', regex: (p) => regexes.push(p) };
      if (rule.sql !== undefined) checkRuleSql(rule.sql, rule.table);
      else compileDetection(rule.detection ?? {}, ctx);
      planned.push({ rule, source, regexes });
    } catch (error) {
      if (error instanceof UnsupportedError) skipped.push({ rule, reason: error.reason, detail: error.message });
      else throw error;
    }
  }
  return { planned, skipped };
}

/**
 * Rules whose |re pattern DuckDB's regex engine (RE2: no look-around, no back-references)
 * cannot compile are set aside with the pattern and the engine's reason: in a scan shared by
 * hundreds of rules, one bad pattern would otherwise stop them all.
 */
export const REGEX_REFUSED = 'regex the engine cannot compile';

export async function refuseBadRegexes(planned: readonly Planned[]): Promise<{ planned: Planned[]; skipped: Skipped[] }> {
  const verdict = new Map<string, string | null>();
  const patterns = new Set(planned.flatMap((p) => p.regexes));
  if (patterns.size > 0) {
    // A scratch in-memory database: a failed statement must not abort the caller's transaction.
    const scratch = await Workspace.open(':memory:');
    try {
      for (const pattern of patterns) {
        try {
          await scratch.query('SELECT regexp_matches(\'\', $1) AS ok', [pattern]);
          verdict.set(pattern, null);
        } catch (error) {
          verdict.set(pattern, (error instanceof Error ? error.message : String(error)).split('\n')[0].replace(/^Invalid Input Error: /, ''));
        }
      }
    } finally {
      scratch.close();
    }
  }
  const kept: Planned[] = [];
  const skipped: Skipped[] = [];
  for (const p of planned) {
    const bad = p.regexes.find((pattern) => verdict.get(pattern) != null);
    if (bad === undefined) kept.push(p);
    else skipped.push({ rule: p.rule, reason: REGEX_REFUSED, detail: `|re pattern ${JSON.stringify(bad.slice(0, 120))}: ${verdict.get(bad)}` });
  }
  return { planned: kept, skipped };
}

/** Native rules name canonical columns directly, or keys of the table's JSON column. */
function nativeSource(table: CanonicalTable): MappedSource {
  const columns = new Set(CANONICAL_COLUMNS[table].map((c) => c.name));
  return {
    table, group: `native/${table}`, where: () => 'true',
    fieldKeys: (name) => (columns.has(name) ? { column: name } : /^[A-Za-z0-9_.\-@ :]+$/.test(name) ? { jsonKeys: [name] } : (() => { throw new UnsupportedError('field name with unusual characters', name); })()),
  };
}

/** SQL text for a field: a canonical column, or the JSON path list entry registered for it. */
function fieldSql(source: MappedSource, name: string, register: (jsonKey: string) => number, useColumn: (column: string) => void = () => undefined): string {
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
}

/** Rows of a table taken at a time: what one batch holds in memory, whatever the table's size. */
export const BATCH_ROWS = 250_000;

export interface RulesProgress {
  eventsDone: number;
  eventsTotal: number;
}

export async function runRules(ws: Workspace, rules: readonly Rule[], options: { runId?: number; placeholders?: Record<string, string[]>; watchlist?: string; batchRows?: number; onProgress?: (p: RulesProgress) => void } = {}): Promise<RunReport> {
  const started = performance.now();
  const plan = planRules(rules);
  const checked = await refuseBadRegexes(plan.planned);
  const planned = checked.planned;
  const skipped = [...plan.skipped, ...checked.skipped];
  const bySource = new Map<string, Planned[]>();
  for (const p of planned) bySource.set(p.source.group, [...(bySource.get(p.source.group) ?? []), p]);
  const before = Number(await ws.scalar('SELECT count(*) FROM detections'));
  const tables = [...new Set(planned.map((p) => p.source.table))];
  // Batches are rowid ranges of each table: every source's rules take the batch in turn, so
  // memory holds one batch whatever the table's size, and progress is events, not rules.
  const extent = new Map<string, { rows: number; end: number }>();
  for (const table of tables) {
    const row = (await ws.query(`SELECT count(*) AS n, coalesce(max(rowid) + 1, 0) AS e FROM ${quoteIdent(table)}`))[0];
    extent.set(table, { rows: Number(row.n), end: Number(row.e) });
  }
  const events = [...extent.values()].reduce((a, b) => a + b.rows, 0);
  const batch = options.batchRows ?? BATCH_ROWS;
  const scans = [...bySource.values()].map((members) => new GroupScan(members[0].source, members.map((m) => m.rule), options.placeholders));
  let done = 0;
  let candidates = 0;
  for (const table of tables) {
    const { rows, end } = extent.get(table)!;
    for (let lo = 0; lo < end; lo += batch) {
      options.onProgress?.({ eventsDone: done, eventsTotal: events });
      for (const scan of scans.filter((s) => s.table === table)) {
        if ((await scan.load(ws, lo, lo + batch)) === 0) continue;
        const ks = await scan.pair(ws);
        candidates += Number(await ws.scalar('SELECT count(*) FROM hb_pairs'));
        if (ks.length > 0) await scan.check(ws, ks, options.runId ?? null);
      }
      done += Math.min(batch, end - lo) * (rows / Math.max(end, 1));
    }
  }
  options.onProgress?.({ eventsDone: events, eventsTotal: events });
  for (const t of ['hb_ev', 'hb_pairs', 'hb_lookup', 'hb_needle', 'hb_grams', 'hb_rules']) await ws.run(`DROP TABLE IF EXISTS temp.${t}`);
  // The directory's red flags (leavers, role changes) are detections too, whatever the packs.
  await directoryDetections(ws, options.runId ?? null);
  if (options.watchlist) await watchlistDetections(ws, options.watchlist, options.runId ?? null);
  const after = Number(await ws.scalar('SELECT count(*) FROM detections'));
  return { rules: planned.length, skipped, groups: bySource.size, events, inserted: after - before, seconds: (performance.now() - started) / 1000, candidates };
}
