/**
 * Every number the beacon hunt uses; the values are config/huntbook.yml's. The seed's Splunk
 * `case()` chains have ordering slips; these tiers are its evident intent, highest tier first
 * and no gaps:
 *   evtmult:    seed tests `> 60 → 50` before `> 300 → 100`, so 100 is never reached; here
 *               > 300 → 100, > 60 → 50.
 *   beaconmult: seed tests `above > 5 → 100` before `> 100 → 200`; here > 100 → 200, > 5 → 100.
 *   urlmult:    seed leaves 0.05–0.06 and 0.94–0.95 unmatched (Splunk returns null, and the
 *               null poisons addedweight); here > .95 or < .05 → 100, everything else 0.
 *   usermult:   1 user → 100, 2 → 50, else 0 (as written).
 *   timemult:   > 7 hours → 100, else 0 (as written).
 */
import { defaultConfig, type Config } from '../../config.ts';
import type { Multiplier } from '../../model/tiers.ts';

export interface ScoredParams {
  /** Pairs need more than this many connections (seed: t_bytecount > 1). */
  minConnections: number;
  /** Destinations seen by fewer than this many users (seed: login_count < 3). */
  maxUsers: number;
  multipliers: Multiplier[];
  /** Rows kept: addedweight above this (seed: 250). */
  minWeight: number;
  /**
   * How a (src_ip, dest_ip, bytes_out) row finds its destination name. 'dest' (default): rows are
   * grouped per (dest_ip, dest), so names sharing a CDN address stay apart. 'splunk': the seed's
   * `join dest_ip` as Splunk runs it (inner, max=1: the first dest per dest_ip in sort order),
   * which folds CDN-hosted names together; use it to reproduce the Splunk search exactly.
   */
  join: 'dest' | 'splunk';
}

/** The shipped configuration's values (config/huntbook.yml, beacons.scored; read when asked, not at import): defaults live there only. */
export function defaultScored(): ScoredParams {
  return scoredParams(defaultConfig());
}

/** Scored-search parameters from the configuration in force. */
export function scoredParams(config: Config, join: ScoredParams['join'] = 'dest'): ScoredParams {
  return { ...config.beacons.scored, join };
}

export interface FlowParams {
  /** Destination ports kept (seed: 80 and 443); empty = all. */
  ports: number[];
  /** Keep rows with beacon_percentage above this (seed suggests 500); 0 = all. */
  minPercentage: number;
}

export const DEFAULT_FLOW: FlowParams = { ports: [80, 443], minPercentage: 0 };

/** Features the seed's "Dynamic Correlation" post feeds its isolation forest. */
export const CORRELATION_FEATURES = ['distinct_event_count', 'time_count', 'above', 'addedweight'] as const;
