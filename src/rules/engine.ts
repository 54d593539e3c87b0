/**
 * Runs rules as SQL over the workspace and appends what they find to `detections` (the seed's
 * summary index). Rules sharing a table and a log source are evaluated together in one scan:
 * each event's fields are pulled out of its JSON once, every rule's condition is one boolean of
 * a list, and matches are unnested straight into detections, never looped over in JS.
 * Re-running over the same events adds nothing: (rule, table, event, entity) is unique.
 */
import { directoryDetections, watchlistDetections } from './directory-flags.ts';
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
}

const CHUNK = 500;

export async function runRules(ws: Workspace, rules: readonly Rule[], options: { runId?: number; placeholders?: Record<string, string[]>; watchlist?: string; onProgress?: (group: string, rulesDone: number, rulesTotal: number) => void } = {}): Promise<RunReport> {
  const started = performance.now();
  const plan = planRules(rules);
  const checked = await refuseBadRegexes(plan.planned);
  const planned = checked.planned;
  const skipped = [...plan.skipped, ...checked.skipped];
  const groups = new Map<string, Planned[]>();
  for (const p of planned) groups.set(p.source.group, [...(groups.get(p.source.group) ?? []), p]);
  const before = Number(await ws.scalar('SELECT count(*) FROM detections'));
  let done = 0;
  for (const [group, members] of groups) {
    for (let i = 0; i < members.length; i += CHUNK) {
      options.onProgress?.(group, done, planned.length);
      const chunk = members.slice(i, i + CHUNK);
      await runChunk(ws, chunk, options.runId ?? null, options.placeholders);
      done += chunk.length;
    }
  }
  options.onProgress?.('', done, planned.length);
  // The directory's red flags (leavers, role changes) are detections too, whatever the packs.
  await directoryDetections(ws, options.runId ?? null);
  if (options.watchlist) await watchlistDetections(ws, options.watchlist, options.runId ?? null);
  let events = 0;
  for (const table of new Set(planned.map((p) => p.source.table))) events += Number(await ws.scalar(`SELECT count(*) FROM ${quoteIdent(table)}`));
  const after = Number(await ws.scalar('SELECT count(*) FROM detections'));
  return { rules: planned.length, skipped, groups: groups.size, events, inserted: after - before, seconds: (performance.now() - started) / 1000 };
}

async function runChunk(ws: Workspace, chunk: Planned[], runId: number | null, placeholders?: Record<string, string[]>): Promise<void> {
  const { source } = chunk[0];
  const table = source.table;
  const { values: params, bind } = new Bindings();
  const jsonKeys: string[] = [];
  const register = (key: string) => {
    let index = jsonKeys.indexOf(key);
    if (index === -1) index = jsonKeys.push(key) - 1;
    return index + 1;
  };
  // Only what the rules read is pulled from the table: the columns they name, the JSON keys they
  // name (parsed once per event), and the event's whole text only if a rule searches keywords.
  const columnsUsed = new Set<string>(['file_id', 'ts']);
  const useColumn = (column: string) => columnsUsed.add(column);
  let fullText = false;
  const conditions: string[] = [];
  const details: string[] = [];
  chunk.forEach(({ rule }, k) => {
    const fields = new Set<string>();
    const ctx: CompileContext = {
      field: (name) => {
        fields.add(name);
        return fieldSql(source, name, register, useColumn);
      },
      fullText: () => {
        fullText = true;
        return 'txt';
      },
      bind, placeholders,
    };
    conditions.push(rule.sql !== undefined ? `coalesce((${rule.sql}), false)` : `coalesce(${compileDetection(rule.detection ?? {}, ctx)}, false)`);
    const matchedFields = [...fields].slice(0, 12);
    details.push(`WHEN ${k + 1} THEN ${matchedFields.length ? `json_object(${matchedFields.map((f) => `${bind(f)}, ${fieldSql(source, f, register, useColumn)}`).join(', ')})` : 'NULL::JSON'}`);
  });
  await ws.run('CREATE OR REPLACE TEMP TABLE hb_rules (k INTEGER, rule_id VARCHAR, rule VARCHAR, phase VARCHAR, weight DOUBLE, entities VARCHAR)');
  await ws.append('hb_rules', chunk.map(({ rule }, k) => [k + 1, rule.id, rule.name, rule.phase, rule.weight, JSON.stringify(rule.entities)]));
  const json = EXTRA_COLUMN[table];
  const entityCols = [...new Set(chunk.flatMap(({ rule }) => rule.entities.map((e) => e.field)))];
  // Entities are canonical columns where the table has them (a proxy's "host" is its client address).
  const columnsOfTable = new Set(CANONICAL_COLUMNS[table].map((c) => c.name));
  const entityExpr = (field: string) => {
    const column = columnsOfTable.has(field) ? field : table !== 'events' && field === 'host' && columnsOfTable.has('src_ip') ? 'src_ip' : undefined;
    if (column) {
      useColumn(column);
      return `CAST(${quoteIdent(column)} AS VARCHAR)`;
    }
    return fieldSql(source, field, register, useColumn);
  };
  const entitySelect = entityCols.map((f, i) => `${entityExpr(f)} AS ent${i}`);
  const entityRows = chunk.flatMap(({ rule }, k) => rule.entities.map((e) => `(${k + 1}, ${quoteLiteral(e.type)}, ${entityCols.indexOf(e.field)})`));
  // Entity expressions above may register JSON keys too, so the key list is read only now.
  const fl = jsonKeys.length > 0 ? `json_extract_string(${quoteIdent(json)}, [${jsonKeys.map((k) => quoteLiteral(`$."${k}"`)).join(', ')}])` : 'NULL::VARCHAR[]';
  const entityValue = `CASE ent.col ${entityCols.map((_, i) => `WHEN ${i} THEN x.ent${i}`).join(' ')} END`;
  const sql = `
INSERT OR IGNORE INTO detections (ts, rule_id, rule, phase, weight, entity_type, entity, source_table, event_ref, details, run_id)
WITH e AS (
  SELECT rowid AS rid, ${chunk.some(({ rule }) => rule.sql !== undefined) ? '*' : [...columnsUsed].map(quoteIdent).join(', ')}${fullText ? `, CAST(${quoteIdent(json)} AS VARCHAR) AS txt` : ''}, ${fl} AS fl
  FROM ${quoteIdent(table)} WHERE ${source.where(bind)}
), m AS (
  SELECT *, [${conditions.join(', ')}] AS hits FROM e
), x AS (
  SELECT rid, file_id, ts, ${entitySelect.join(', ')}, k, CASE k ${details.join(' ')} END AS matched
  FROM (SELECT *, unnest(list_filter(range(1, ${chunk.length + 1}), i -> hits[i])) AS k FROM m WHERE list_bool_or(hits))
), ent (k, type, col) AS (VALUES ${entityRows.join(', ')}),
v AS (
  SELECT x.*, ent.type, CASE WHEN ent.type = 'user' THEN ${NORMALISE_USER(entityValue)} WHEN ent.type = 'host' THEN ${NORMALISE_HOST(entityValue)} ELSE lower(${entityValue}) END AS entity
  FROM x JOIN ent USING (k)
)
SELECT coalesce(v.ts, TIMESTAMP '1970-01-01'), r.rule_id, r.rule, r.phase, r.weight, v.type, v.entity, '${table}', v.file_id || ':' || v.rid, v.matched, ${runId === null ? 'NULL' : bind(runId)}
FROM v JOIN hb_rules r USING (k)
WHERE v.entity IS NOT NULL AND NOT (v.type = 'user' AND (v.entity IN (${SERVICE_ACCOUNTS.map((a) => quoteLiteral(a)).join(', ')}) OR v.entity LIKE '%$'))`;
  // A chunk is one very large expression: these rewrites cost more to plan (seconds, growing with
  // the number of rules) than they save on a scan whose predicate is already a plain filter.
  await ws.run("SET disabled_optimizers = 'expression_rewriter,common_subexpressions,statistics_propagation,filter_pushdown'");
  try {
    await ws.run(sql, params);
  } catch (error) {
    // Inside the run's transaction a failed statement aborts it: a RESET would fail and hide the error.
    await ws.run('RESET disabled_optimizers').catch(() => undefined);
    throw error;
  }
  await ws.run('RESET disabled_optimizers');
}
