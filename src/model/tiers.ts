/**
 * The seed's `case()` multipliers as data: each multiplier is a list of tiers tested in order,
 * the first that holds gives its weight; none gives 0, or null where the multiplier says so (as
 * Splunk's case() does: the sum is then null and the row is not kept). A tier holds when all its
 * comparisons do (`avgurl>.06 AND avgurl<.94`). Compiled to SQL with every number bound as a
 * parameter, and explained back in words for each row.
 */
import type { SqlValue } from '../store/sql.ts';
import { UsageError } from '../errors.ts';

export type Comparison = 'gt' | 'gte' | 'lt' | 'lte' | 'eq';

export interface Condition {
  when: Comparison;
  value: number;
}

export interface Tier {
  /** All must hold (one, usually). */
  conditions: Condition[];
  weight: number;
}

export interface Multiplier {
  /** Output column, e.g. beaconmult. */
  name: string;
  /** The feature tested, e.g. above. */
  metric: string;
  tiers: Tier[];
  /** What a row gets when no tier holds: 0 (the default), or null (Splunk's case() as written). */
  otherwise?: number | null;
}

const SQL_OP: Record<Comparison, string> = { gt: '>', gte: '>=', lt: '<', lte: '<=', eq: '=' };
const TEXT_OP: Record<Comparison, string> = { gt: '>', gte: '≥', lt: '<', lte: '≤', eq: '=' };

/**
 * `CASE WHEN metric > $3 THEN $4 ... ELSE 0 END`. Numbers are bound; the metric is a column name,
 * so it is checked against `columns` (the hunt's own feature names) before it reaches SQL: tiers
 * come from a user's configuration.
 */
export function multiplierSql(m: Multiplier, bind: (value: SqlValue) => string, columns: readonly string[]): string {
  if (!columns.includes(m.metric))
    throw new UsageError(`multiplier ${m.name}: "${m.metric}" is not a feature of this hunt (features: ${columns.join(', ')})`);
  const otherwise = m.otherwise === null ? 'NULL' : bind(m.otherwise ?? 0);
  if (m.tiers.length === 0) return `CAST(${otherwise} AS DOUBLE)`;
  const whens = m.tiers.map(
    (t) => `WHEN ${t.conditions.map((c) => `${m.metric} ${SQL_OP[c.when]} ${bind(c.value)}`).join(' AND ')} THEN ${bind(t.weight)}`,
  );
  return `CAST(CASE ${whens.join(' ')} ELSE ${otherwise} END AS DOUBLE)`;
}

function compares(c: Condition, value: number): boolean {
  switch (c.when) {
    case 'gt':
      return value > c.value;
    case 'gte':
      return value >= c.value;
    case 'lt':
      return value < c.value;
    case 'lte':
      return value <= c.value;
    case 'eq':
      return value === c.value;
  }
}

export function holds(t: Tier, value: number): boolean {
  return t.conditions.every((c) => compares(c, value));
}

/** "beaconmult +100 (above 12.4 > 5)" for the tier that fired, or undefined when none did. */
export function explainMultiplier(m: Multiplier, value: number): string | undefined {
  const tier = m.tiers.find((t) => holds(t, value));
  if (!tier || tier.weight === 0) return undefined;
  const shown = Number.isInteger(value) ? String(value) : value.toPrecision(4);
  return `${m.name} +${tier.weight} (${m.metric} ${shown} ${tier.conditions.map((c) => `${TEXT_OP[c.when]} ${c.value}`).join(' and ')})`;
}
