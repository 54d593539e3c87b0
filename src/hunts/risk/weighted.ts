/**
 * The daily weighted score, defined once. The risk hunt keeps it per entity and window (and the
 * entity timeline plots it); the baseline compares each user's day of it with their usual. Both
 * build it from the same aggregates, so the number a chart shows is the number a reason names.
 *
 *   tweight   Σ per rule of min(its weights' sum, capK × its largest weight)
 *   scount    detections
 *   phasemult (distinct phases − 1) × phaseStep, when more than one phase
 *   sourcemult (distinct rules − 1) × sourceStep, when more than one rule
 *   weighted  tweight + scount + phasemult + sourcemult
 */
export interface WeightedParams {
  /** A rule's weights in one window add up to at most capK × its largest weight. */
  capK: number;
  phaseStep: number;
  sourceStep: number;
}

/** SQL for the parameters: bound placeholders or literals the caller made safe. */
export interface WeightedSql {
  capK: string;
  phaseStep: string;
  sourceStep: string;
}

/**
 * Aggregates over per-rule rows of one entity-window (columns `n` detections, `w` weight sum,
 * `mx` largest weight, `phase`), by name. `weighted` repeats the parts so it can sit in the same
 * SELECT as them.
 */
export function weightedAggregates(
  p: WeightedSql,
): Record<'tweight' | 'scount' | 'dscount' | 'pcount' | 'phasemult' | 'sourcemult' | 'weighted', string> {
  const tweight = `sum(least(w, ${p.capK} * mx))`;
  const scount = 'sum(n)::BIGINT';
  const dscount = 'count(*)';
  const pcount = 'count(DISTINCT phase)';
  const phasemult = `CASE WHEN ${pcount} > 1 THEN (${pcount} - 1) * ${p.phaseStep} ELSE 0 END`;
  const sourcemult = `CASE WHEN ${dscount} > 1 THEN (${dscount} - 1) * ${p.sourceStep} ELSE 0 END`;
  return { tweight, scount, dscount, pcount, phasemult, sourcemult, weighted: `${tweight} + ${scount} + ${phasemult} + ${sourcemult}` };
}
