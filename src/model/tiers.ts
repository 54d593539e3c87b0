/**
 * The seed's `case()` multipliers as data: each multiplier is a list of tiers tested in order,
 * the first that holds gives its weight, none gives 0. Compiled to SQL with every number bound
 * as a parameter, and explained back in words for each row.
 */
import type { SqlValue } from '../store/sql.ts';
import { UsageError } from '../errors.ts';

export type Comparison = 'gt' | 'gte' | 'lt' | 'lte' | 'eq';

export interface Tier {
  when: Comparison;
  value: number;
  weight: number;
}

export interface Multiplier {
  /** Output column, e.g. beaconmult. */
  name: string;
  /** The feature tested, e.g. above. */
  metric: string;
  tiers: Tier[];
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
  if (m.tiers.length === 0) return '0';
  const whens = m.tiers.map((t) => `WHEN ${m.metric} ${SQL_OP[t.when]} ${bind(t.value)} THEN ${bind(t.weight)}`);
  return `CAST(CASE ${whens.join(' ')} ELSE 0 END AS DOUBLE)`;
}

export function holds(t: Tier, value: number): boolean {
  switch (t.when) {
    case 'gt':
      return value > t.value;
    case 'gte':
      return value >= t.value;
    case 'lt':
      return value < t.value;
    case 'lte':
      return value <= t.value;
    case 'eq':
      return value === t.value;
  }
}

/** "beaconmult +100 (above 12.4 > 5)" for the tier that fired, or undefined when none did. */
export function explainMultiplier(m: Multiplier, value: number): string | undefined {
  const tier = m.tiers.find((t) => holds(t, value));
  if (!tier || tier.weight === 0) return undefined;
  const shown = Number.isInteger(value) ? String(value) : value.toPrecision(4);
  return `${m.name} +${tier.weight} (${m.metric} ${shown} ${TEXT_OP[tier.when]} ${tier.value})`;
}
