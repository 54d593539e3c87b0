/**
 * Detection rules as data: native packs and Sigma rules both become `Rule`. A rule only
 * identifies an action; the weight, phase and entities it carries are what risk scoring sums.
 */
import type { CanonicalTable } from '../store/schema.ts';

export interface EntitySpec {
  type: string;
  /** Column of the rule's table (or a raw JSON key) holding the entity. */
  field: string;
}

/** A Sigma correlation (specification v2): what it counts over which rules' matches, per group, in what time. */
export interface Correlation {
  type: 'event_count' | 'value_count' | 'temporal' | 'temporal_ordered';
  /** Rules it reads, by id or by their `name`. */
  rules: string[];
  groupBy: string[];
  timespanSeconds: number;
  /** gt / gte / lt / lte / eq / neq → number, all of which must hold. */
  condition: Record<string, number>;
  /** value_count: the field whose distinct values are counted. */
  field?: string;
  /** alias → (rule name → that rule's field). */
  aliases: Record<string, Record<string, string>>;
  /** The referenced rules also land as detections of their own (default: only the correlation does). */
  generate: boolean;
}

export interface Rule {
  id: string;
  /** Sigma's `name`, by which correlations may refer to the rule. */
  sigmaName?: string;
  correlation?: Correlation;
  name: string;
  description?: string;
  origin: 'native' | 'sigma';
  file: string;
  /** Line of the rule in its file, for problems found later (compiling, running). */
  line?: number;
  table: CanonicalTable;
  /** Sigma-style detection block (selection / condition). */
  detection?: Record<string, unknown>;
  /** Or a SQL boolean over whitelisted columns, for what Sigma cannot say. */
  sql?: string;
  /** Sigma logsource, for mapping to a table and a base predicate. */
  logsource?: { product?: string; category?: string; service?: string };
  weight: number;
  phase: string;
  tags: string[];
  level?: string;
  entities: EntitySpec[];
}

/** A rule that will not run, and why (the rest run). */
export interface Skipped {
  rule: Rule;
  reason: string;
  detail: string;
}

export type Severity = 'error' | 'warning' | 'info';

/** A problem found while loading or linting rules: data, not an exception, so one bad rule stops nothing. */
export interface Problem {
  severity: Severity;
  file: string;
  line?: number;
  rule?: string;
  message: string;
}

/** Sigma level → weight (configurable). */
export const DEFAULT_LEVEL_WEIGHTS: Record<string, number> = { informational: 1, low: 21, medium: 47, high: 73, critical: 99 };

export { TACTICS, tacticsOf, techniquesOf } from '../model/attack.ts';
