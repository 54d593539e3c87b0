/**
 * The names of the numbers each seed hunt computes, where configuration may refer to them:
 * a tier's metric or an alert expression can only name these (they become SQL column names).
 */

/** Scored beacon search: the multipliers it adds up, and the features their tiers may test. */
export const SCORED_MULTIPLIERS = ['usermult', 'evtmult', 'beaconmult', 'urlmult', 'timemult'] as const;
export const SCORED_TIER_FEATURES = [
  'bytes_out',
  'distinct_url_count',
  'distinct_event_count',
  'i_bytecount',
  'distinct_byte_count',
  'avgcount',
  't_bytecount',
  'incount',
  'login_count',
  'time_count',
  'o_average',
  'above',
  'avgurl',
] as const;

/** Population ("More Behavioral Hunting"): its three multipliers and the per-user counts they test. */
export const POPULATION_MULTIPLIERS = ['user_count_mult', 'dc_phase_count_mult', 'dc_detection_count_mult'] as const;
export const POPULATION_TIER_FEATURES = [
  'user_count',
  'user_source_count',
  'detection_count',
  'dc_phase_count',
  'dc_detection_count',
] as const;

/** Risk per entity-window ("It's all in the numbers"): what the alert expression may name. */
export const RISK_METRICS = ['tweight', 'scount', 'dscount', 'pcount', 'phasemult', 'sourcemult', 'weighted'] as const;
