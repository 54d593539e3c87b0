/**
 * The beacon timing score of RITA v5, implemented from shared/specs/beacon-timing-score.md
 * (re-derived from RITA's published behaviour; no RITA code). Pure functions over one pair's
 * series; every rounding and boundary below is the spec's and moves real results.
 *
 *   R(x) = floor(1000x + 0.5)/1000        C(x) = ceil(1000x)/1000
 *   stat(v, d) = R((1 − |skew| + B)/2), skew = Bowley skew on Tukey hinges, B from median and MAD
 *   ts = stat(positive gaps, 1); ds = stat(sizes, 0); hist = max(cvScore, bimodal);
 *   dur = max(coverage, consistency); score = R((ts + ds + dur + hist)/4)
 */

export const R = (x: number): number => Math.floor(1000 * x + 0.5) / 1000;
export const C = (x: number): number => Math.ceil(1000 * x) / 1000;

function medianOfSorted(v: ArrayLike<number>, from: number, to: number): number {
  const n = to - from;
  const mid = from + Math.floor(n / 2);
  return n % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Q1, Q2, Q3 as Tukey hinges: Q1 and Q3 are the medians of the lowest and highest ⌊n/2⌋ values. */
export function tukeyHinges(sorted: ArrayLike<number>): [number, number, number] {
  const n = sorted.length;
  const half = Math.floor(n / 2);
  return [medianOfSorted(sorted, 0, half), medianOfSorted(sorted, 0, n), medianOfSorted(sorted, n - half, n)];
}

export interface Stat {
  score: number;
  skew: number;
  median: number;
  mad: number;
}

export function stat(values: ArrayLike<number>, d: number): Stat {
  const sorted = Float64Array.from(values).sort();
  const [q1, q2, q3] = tukeyHinges(sorted);
  const skew = q3 - q1 >= 10 && q2 !== q1 && q2 !== q3 ? (q1 + q3 - 2 * q2) / (q3 - q1) : 0;
  const m = q2;
  const deviations = sorted.map((v) => Math.abs(v - m)).sort();
  const mad = medianOfSorted(deviations, 0, deviations.length);
  let b = m >= 1 ? (m - mad) / m : d;
  if (b < 0) b = 0;
  return { score: R((1 - Math.abs(skew) + b) / 2), skew, median: m, mad };
}

export interface Window {
  w0: number;
  w1: number;
}

/** W0 = max(min_ts, max_ts − 86400), W1 = max_ts. */
export function analysisWindow(minTs: number, maxTs: number): Window {
  return { w0: Math.max(minTs, maxTs - 86400), w1: maxTs };
}

/** Start of W0's hour: a pair's series is every record at or after it. */
export function seriesStart(w: Window): number {
  return Math.floor(w.w0 / 3600) * 3600;
}

export interface Histogram {
  bins: number[];
  bars: number;
  cv: number;
  cvScore: number;
  bimodal: number;
  score: number;
}

/** 24 bins over [W0, W1] (float edges, last edge = W1); records before W0 count in bin 0. */
export function histogram(timestamps: ArrayLike<number>, w: Window): Histogram {
  const edges = Array.from({ length: 25 }, (_, i) => (i === 24 ? w.w1 : w.w0 + (i * (w.w1 - w.w0)) / 24));
  const bins = new Array<number>(24).fill(0);
  for (let k = 0; k < timestamps.length; k++) {
    const t = timestamps[k];
    let i = 0;
    if (t >= w.w1) i = 23;
    else if (t > w.w0) {
      while (i < 23 && t >= edges[i + 1]) i++;
    }
    bins[i]++;
  }
  const bars = bins.filter((b) => b > 0).length;
  const mean = bins.reduce((a, b) => a + b, 0) / 24;
  const sd = Math.sqrt(bins.reduce((a, b) => a + (b - mean) ** 2, 0) / 24);
  const cv = mean > 0 ? sd / mean : Infinity;
  const cvScore = cv > 1 ? 0 : R(1 - cv);
  let bimodal = 0;
  if (bars >= 11) {
    const width = Math.ceil(0.05 * Math.max(...bins));
    const groups = new Map<number, number>();
    for (const h of bins) if (h > 0) groups.set(Math.floor(h / width) * width, (groups.get(Math.floor(h / width) * width) ?? 0) + 1);
    const sizes = [...groups.values()].sort((a, b) => b - a);
    bimodal = Math.min(R(((sizes[0] ?? 0) + (sizes[1] ?? 0)) / Math.max(bars - 1, 1)), 1);
  }
  return { bins, bars, cv, cvScore, bimodal, score: Math.max(cvScore, bimodal) };
}

export interface Duration {
  coverage: number;
  consistency: number;
  longestRun: number;
  score: number;
}

export function duration(first: number, last: number, hist: Histogram, w: Window): Duration {
  if (hist.bars < 6) return { coverage: 0, consistency: 0, longestRun: 0, score: 0 };
  const span = w.w1 - w.w0;
  const coverage = span > 0 ? Math.min(C((last - first) / span), 1) : 0;
  // Longest run of non-empty bins, wrapping around the end of the day (at most 24).
  let longestRun = 0;
  let run = 0;
  for (let i = 0; i < 48; i++) {
    if (hist.bins[i % 24] > 0) {
      run++;
      longestRun = Math.max(longestRun, Math.min(run, 24));
    } else run = 0;
  }
  const consistency = Math.min(C(longestRun / 12), 1);
  return { coverage, consistency, longestRun, score: Math.max(coverage, consistency) };
}

export interface TimingScore {
  score: number;
  ts: Stat;
  /** null when the records carry no sizes (ssl records without conn): the score then averages the other three. */
  ds: Stat | null;
  hist: Histogram;
  dur: Duration;
  gaps: number;
}

/**
 * Scores one pair: `timestamps` (whole seconds, any order) and `sizes` are the pair's series.
 * The caller decides eligibility (≥ 4 distinct timestamps, < 86,400 records).
 */
export function timingScore(timestamps: ArrayLike<number>, sizes: ArrayLike<number> | null, w: Window): TimingScore {
  const sorted = Float64Array.from(timestamps).sort();
  const gaps: number[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const gap = sorted[i] - sorted[i - 1];
    if (gap > 0) gaps.push(gap);
  }
  // The interval sub-score needs at least 3 gaps; with fewer it is 0.
  const ts = gaps.length >= 3 ? stat(gaps, 1) : { score: 0, skew: 0, median: gaps.length ? gaps[0] : 0, mad: 0 };
  const ds = sizes === null ? null : stat(sizes, 0);
  const hist = histogram(sorted, w);
  const dur = duration(sorted[0], sorted[sorted.length - 1], hist, w);
  const score = ds === null ? R((ts.score + dur.score + hist.score) / 3) : R(0.25 * (ts.score + ds.score + dur.score + hist.score));
  return { score, ts, ds, hist, dur, gaps: gaps.length };
}

export interface JitterScore {
  /** Share of gaps within ±tolerance of the dominant interval. */
  score: number;
  /** The median of the gaps inside the winning window: what a hunter calls "every N seconds". */
  interval: number;
}

/**
 * Beside the RITA score (never mixed into it): a jitter-tolerant periodicity check, as
 * flare-style detectors do. The dominant interval is the centre of the tolerance window
 * [P(1 − tol), P(1 + tol)] that holds the most gaps (P tried at every gap value); the score is
 * that window's share of all gaps. A 60 s ± 30 % beacon scores ~1 at tol 0.35, where RITA's
 * MAD-based interval score drops; human traffic, with heavy-tailed gaps, stays low.
 */
export function jitterScore(timestamps: ArrayLike<number>, tolerance = 0.35, minGaps = 6): JitterScore {
  const sorted = Float64Array.from(timestamps).sort();
  const gaps: number[] = [];
  for (let i = 1; i < sorted.length; i++) if (sorted[i] > sorted[i - 1]) gaps.push(sorted[i] - sorted[i - 1]);
  if (gaps.length < minGaps) return { score: 0, interval: 0 };
  gaps.sort((a, b) => a - b);
  let best = 0;
  let bestLo = 0;
  let lo = 0;
  let hi = 0;
  for (const p of gaps) {
    while (lo < gaps.length && gaps[lo] < p * (1 - tolerance)) lo++;
    while (hi < gaps.length && gaps[hi] <= p * (1 + tolerance)) hi++;
    if (hi - lo > best) {
      best = hi - lo;
      bestLo = lo;
    }
  }
  // The window is found by its centre P, but P is only the first gap that reaches the most
  // members (the low edge of a jittered cluster); the interval reported is the members' median.
  const mid = bestLo + (best - 1) / 2;
  const interval = (gaps[Math.floor(mid)] + gaps[Math.ceil(mid)]) / 2;
  return { score: R(best / gaps.length), interval: Math.round(interval * 10) / 10 };
}
