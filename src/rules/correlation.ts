/**
 * Sigma correlation rules (specification v2) as SQL windows over what the referenced rules
 * matched: `event_count` and `value_count` count events or distinct values per group in a
 * sliding `timespan`, `temporal` counts distinct rules, `temporal_ordered` finds the rules in
 * their order, all within the timespan. One detection per episode: when the condition starts to
 * hold for a group (not again on every further event while it holds), dated at the event that
 * made it hold, naming that event's entities and carrying the correlation's own level and tags.
 *
 * Referenced rules' matches carry the fields a correlation groups or counts by in their
 * details; unless a correlation says `generate: true`, they are kept in a scratch table for the
 * run and are not detections themselves (the spec's default). Correlations may refer to
 * correlations, so they run in dependency order.
 */
import { Bindings, type SqlValue } from '../store/sql.ts';
import type { Workspace } from '../store/workspace.ts';
import type { Rule, Skipped } from './model.ts';

export interface CorrelationPlan {
  /** Runnable correlations, each after the correlations it reads. */
  ordered: Rule[];
  skipped: Skipped[];
  /** Rule id → the rules (resolved) a correlation reads. */
  reads: Map<string, Rule[]>;
  /** Rule id → fields its matches must carry for the correlations reading them. */
  keep: Map<string, string[]>;
  /** Rules whose matches are only a correlation's input (no referencing correlation generates them). */
  hidden: Set<string>;
}

/** Where a correlation's inputs live for the run when they are not detections. */
export const MATCHES_TABLE = 'hb_matches';

const FIELD_NAME = /^[A-Za-z0-9_.\-@ :]+$/;

/** Resolves each correlation's references (by id, then by name) and orders them; what cannot run is skipped with the reason. */
export function planCorrelations(correlations: readonly Rule[], rules: readonly Rule[]): CorrelationPlan {
  const byId = new Map<string, Rule>();
  const byName = new Map<string, Rule>();
  for (const r of [...rules, ...correlations]) {
    if (!byId.has(r.id)) byId.set(r.id, r);
    if (r.sigmaName && !byName.has(r.sigmaName)) byName.set(r.sigmaName, r);
  }
  const skipped: Skipped[] = [];
  const reads = new Map<string, Rule[]>();
  for (const c of correlations) {
    const spec = c.correlation!;
    const missing = spec.rules.filter((ref) => !byId.has(ref) && !byName.has(ref));
    const names = [...spec.groupBy, ...(spec.field ? [spec.field] : []), ...Object.values(spec.aliases).flatMap((m) => Object.values(m))];
    const odd = names.find((n) => !FIELD_NAME.test(n));
    if (missing.length > 0)
      skipped.push({ rule: c, reason: 'correlation refers to a rule that is not loaded or cannot run', detail: missing.join(', ') });
    else if (odd !== undefined) skipped.push({ rule: c, reason: 'field name with unusual characters', detail: odd });
    else
      reads.set(
        c.id,
        spec.rules.map((ref) => byId.get(ref) ?? byName.get(ref)!),
      );
  }
  // Dependency order; a correlation in a cycle, or reading one that cannot run, cannot run either.
  const ordered: Rule[] = [];
  const state = new Map<string, 'visiting' | 'done' | 'failed'>();
  const visit = (c: Rule): boolean => {
    const seen = state.get(c.id);
    if (seen === 'done') return true;
    if (seen === 'failed') return false;
    if (seen === 'visiting' || !reads.has(c.id)) {
      if (reads.has(c.id)) skipped.push({ rule: c, reason: 'correlation rules refer to each other in a cycle', detail: c.id });
      state.set(c.id, 'failed');
      return false;
    }
    state.set(c.id, 'visiting');
    const ok = reads.get(c.id)!.every((r) => !r.correlation || visit(r));
    state.set(c.id, ok ? 'done' : 'failed');
    if (ok) ordered.push(c);
    else if (!skipped.some((s) => s.rule === c))
      skipped.push({
        rule: c,
        reason: 'correlation reads a correlation that cannot run',
        detail: reads
          .get(c.id)!
          .map((r) => r.id)
          .join(', '),
      });
    return ok;
  };
  for (const c of correlations) visit(c);
  const keep = new Map<string, string[]>();
  const generated = new Set<string>();
  const referenced = new Set<string>();
  for (const c of ordered) {
    const spec = c.correlation!;
    for (const r of reads.get(c.id)!) {
      referenced.add(r.id);
      if (spec.generate) generated.add(r.id);
      const fields = [...spec.groupBy, ...(spec.field ? [spec.field] : [])].map((name) => fieldFor(c, r, name));
      keep.set(r.id, [...new Set([...(keep.get(r.id) ?? []), ...fields])]);
    }
  }
  const hidden = new Set([...referenced].filter((id) => !generated.has(id)));
  return { ordered, skipped, reads, keep, hidden };
}

/** The field of rule `r`'s matches that correlation `c` means by `name` (its aliases say, else the name itself). */
function fieldFor(c: Rule, r: Rule, name: string): string {
  const alias = c.correlation!.aliases[name];
  return alias?.[r.sigmaName ?? ''] ?? alias?.[r.id] ?? name;
}

export async function createMatchesTable(ws: Workspace): Promise<void> {
  await ws.run(`CREATE OR REPLACE TEMP TABLE ${MATCHES_TABLE} AS SELECT * FROM detections LIMIT 0`);
  await ws.run(`CREATE UNIQUE INDEX ${MATCHES_TABLE}_once ON ${MATCHES_TABLE} (rule_id, source_table, event_ref, entity_type, entity)`);
}

/** Runs the planned correlations in order; returns how many detections (or hidden matches) each wrote. */
export async function runCorrelations(ws: Workspace, plan: CorrelationPlan, runId: number | null): Promise<void> {
  for (const c of plan.ordered) {
    const { values, bind } = new Bindings();
    const target = plan.hidden.has(c.id) ? MATCHES_TABLE : 'detections';
    await ws.run(correlationSql(c, plan.reads.get(c.id)!, target, runId, bind), values);
  }
}

function correlationSql(c: Rule, reads: Rule[], target: string, runId: number | null, bind: (v: SqlValue) => string): string {
  const spec = c.correlation!;
  const ids = reads.map((r) => bind(r.id)).join(', ');
  const fieldValue = (name: string) =>
    `CASE rule_id ${reads.map((r) => `WHEN ${bind(r.id)} THEN json_extract_string(details, ${bind(`$."${fieldFor(c, r, name)}"`)})`).join(' ')} END`;
  const groups = spec.groupBy.map((name, i) => ({ name, column: `hb_g${i}`, expr: fieldValue(name) }));
  const partition = `PARTITION BY ${['hb_all', ...groups.map((g) => g.column)].join(', ')}`;
  const position = `CASE rule_id ${reads.map((r, i) => `WHEN ${bind(r.id)} THEN ${i + 1}`).join(' ')} END`;
  const span = `INTERVAL (${spec.timespanSeconds}) SECOND`;
  const head = `
WITH base AS (
  SELECT rule_id, ts, event_ref, source_table, entity_type, entity, details FROM detections WHERE rule_id IN (${ids})
  UNION ALL
  SELECT rule_id, ts, event_ref, source_table, entity_type, entity, details FROM ${MATCHES_TABLE} WHERE rule_id IN (${ids})
), ev AS (
  -- one row per matched event, its entities folded into a list
  SELECT rule_id, ts, event_ref, any_value(source_table) AS source_table, list(DISTINCT {'t': entity_type, 'e': entity}) AS ents, any_value(details) AS details
  FROM base GROUP BY rule_id, ts, event_ref
), g AS (
  SELECT *, 0 AS hb_all, ${position} AS pos${groups.map((g) => `, ${g.expr} AS ${g.column}`).join('')}${spec.field ? `, ${fieldValue(spec.field)} AS fv` : ''}
  FROM ev WHERE true${groups.map((g) => ` AND ${g.expr} IS NOT NULL`).join('')}
)`;
  let measured: string;
  if (spec.type === 'temporal_ordered') {
    // l<k>: the latest start of a chain rule 1 → … → rule k ending at this row; the last rule's
    // rows whose chain started within the timespan complete the correlation.
    const steps = reads
      .map((_, i) => i + 1)
      .slice(1)
      .map(
        (k) => `, s${k} AS (
  SELECT *, CASE WHEN pos = ${k} THEN max(CASE WHEN pos = ${k - 1} THEN l${k - 1} END) OVER (${partition} ORDER BY ts, pos ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) END AS l${k} FROM s${k - 1}
)`,
      )
      .join('');
    const last = reads.length;
    measured = `, s1 AS (SELECT *, CASE WHEN pos = 1 THEN ts END AS l1 FROM g)${steps}
, h AS (
  SELECT *, ${last} AS n, l${last} AS first_ts, (l${last} IS NOT NULL AND ts - l${last} <= ${span}) AS hit FROM s${last} WHERE pos = ${last}
)`;
  } else {
    const measure =
      ({ event_count: 'count(*)', value_count: 'count(DISTINCT fv)' } as Record<string, string>)[spec.type] ?? 'count(DISTINCT rule_id)';
    const condition = Object.keys(spec.condition).length > 0 ? spec.condition : { gte: reads.length };
    const ops: Record<string, string> = { gt: '>', gte: '>=', lt: '<', lte: '<=', eq: '=', neq: '<>' };
    const test = Object.entries(condition)
      .map(([op, value]) => `n ${ops[op]} ${bind(value)}`)
      .join(' AND ');
    measured = `, w AS (
  SELECT *, ${measure} OVER win AS n, min(ts) OVER win AS first_ts FROM g
  WINDOW win AS (${partition} ORDER BY ts RANGE BETWEEN ${span} PRECEDING AND CURRENT ROW)
), h AS (SELECT *, (${test}) AS hit FROM w)`;
  }
  const details = `json_object(${[...groups.map((g) => `${bind(g.name)}, ${g.column}`), `'correlation'`, `json_object('type', ${bind(spec.type)}, 'count', n, 'window_start', first_ts, 'rules', [${reads.map((r) => bind(r.id)).join(', ')}])`].join(', ')})`;
  return `/* correlation ${c.id.replace(/[^A-Za-z0-9_.-]/g, '_')} */ INSERT OR IGNORE INTO ${target} (ts, rule_id, rule, phase, weight, entity_type, entity, source_table, event_ref, details, run_id)
${head}${measured}
, f AS (SELECT *, hit AND NOT coalesce(lag(hit) OVER (${partition} ORDER BY ts, event_ref), false) AS fire FROM h)
SELECT f.ts, ${bind(c.id)}, ${bind(c.name)}, ${bind(c.phase)}, ${bind(c.weight)}, u.e.t, u.e.e, f.source_table, f.event_ref, ${details}, ${runId === null ? 'NULL' : bind(runId)}
FROM f, unnest(f.ents) AS u(e) WHERE f.fire`;
}
