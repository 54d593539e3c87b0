/**
 * Each user-day against that user's own earlier days, and against the peer group the same day
 * (the seed's "Measuring User Behavior"; peers and first times after Sentinel UEBA). Pure
 * functions over typed arrays: the matrix comes from SQL (matrix.ts), one row per user and day.
 *
 *   robust z   (x − median) / scale over the user's EARLIER days only (no look-ahead), where
 *              scale = max(1.4826 · MAD, √median, floor): the MAD where the user varies, the
 *              square root of the level for counts that are steady (a count varies about as
 *              much as √ of its level, so one who archives daily is not flagged for twice), and
 *              the floor where the user never did it (once after never is 1 / floor).
 *   peer z     the same over the peer group's values that day (the user included).
 *   forest     an isolation forest per user over all features, fitted on the earlier days once
 *              the user has minHistoryDays of them (refitted weekly); before that, "learning".
 *   first      the first day the user did it (after the warm-up: a first time needs history),
 *              and whether nobody in the peer group had done it before either.
 * A feature deviates when its value is above the user's usual range (the 90th percentile of
 * their earlier days) and its robust z reaches the threshold. Only upward deviations count:
 * doing less than usual is not how data leaves.
 */
import { IsolationForest } from '../../ml/iforest.ts';
import { quantile } from '../../ml/scaling.ts';

export interface ScoreParams {
  warmupDays: number;
  minHistoryDays: number;
  madFloor: number;
  zThreshold: number;
  seed: number;
}

export interface MatrixInput {
  users: number;
  days: number;
  /** Feature names, in the order of `values`. */
  features: readonly string[];
  /** Per feature, users × days values, row-major by user (day fastest). */
  values: readonly Float64Array[];
  /** Peer group of each user (−1: none). */
  peers: Int32Array;
  /** Features the forest and the deviations leave out (day_count: volume alone is not behaviour). */
  quiet?: ReadonlySet<string>;
}

export interface Deviation {
  feature: string;
  value: number;
  z: number;
  /** Against the peer group that day; null when the user has no peers. */
  peerZ: number | null;
  /** The user's usual range before that day (10th–90th percentile). */
  usual: [number, number];
  first: boolean;
  firstInPeers: boolean;
  /** What the deviation adds to the day's score. */
  points: number;
}

export interface DayScore {
  user: number;
  day: number;
  score: number;
  deviations: Deviation[];
  /** s(x) of the user's forest, or null while learning. */
  forest: number | null;
  forestPoints: number;
}

/** z is capped here when summed: one wild feature should not outweigh several deviating ones. */
const Z_CAP = 10;
/** A forest refit every this many days (a fit per day costs more than it tells). */
const REFIT_DAYS = 7;

export function robustScale(sorted: Float64Array, n: number, median: number, floor: number): number {
  return Math.max(1.4826 * mad(sorted, n, median), Math.sqrt(Math.max(0, median)), floor);
}

/** Median of the first n values of a sorted array. */
export function medianOf(sorted: Float64Array, n: number): number {
  if (n === 0) return NaN;
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Median absolute deviation of the first n values of a sorted array, in O(n): the distances to
 * the median are two sorted runs (leftwards and rightwards of it), merged until the middle.
 */
export function mad(sorted: Float64Array, n: number, median: number): number {
  if (n === 0) return NaN;
  let right = 0;
  while (right < n && sorted[right] < median) right++;
  let left = right - 1;
  const want = n >> 1; // index of the upper middle among the n distances
  let previous = 0;
  for (let k = 0; k <= want; k++) {
    const dl = left >= 0 ? median - sorted[left] : Infinity;
    const dr = right < n ? sorted[right] - median : Infinity;
    const d = Math.min(dl, dr);
    if (dl <= dr) left--;
    else right++;
    if (k === want) return n % 2 === 1 ? d : (previous + d) / 2;
    previous = d;
  }
  return previous;
}

function insertSorted(sorted: Float64Array, n: number, x: number): void {
  let i = n;
  while (i > 0 && sorted[i - 1] > x) {
    sorted[i] = sorted[i - 1];
    i--;
  }
  sorted[i] = x;
}

export function scoreDays(input: MatrixInput, params: ScoreParams): DayScore[] {
  const { users, days, features, values, peers } = input;
  const F = features.length;
  const scored = features.map((name) => !input.quiet?.has(name));
  // First day each user did each feature, and the earliest among each peer group.
  const firstDay = new Int32Array(users * F).fill(-1);
  for (let f = 0; f < F; f++) {
    for (let u = 0; u < users; u++) {
      for (let d = 0; d < days; d++) {
        if (values[f][u * days + d] > 0) {
          firstDay[u * F + f] = d;
          break;
        }
      }
    }
  }
  const groupFirst = new Map<number, Int32Array>();
  const members = new Map<number, number[]>();
  for (let u = 0; u < users; u++) {
    const g = peers[u];
    if (g < 0) continue;
    members.set(g, [...(members.get(g) ?? []), u]);
    const first = groupFirst.get(g) ?? new Int32Array(F).fill(-1);
    for (let f = 0; f < F; f++) {
      const d = firstDay[u * F + f];
      if (d >= 0 && (first[f] < 0 || d < first[f])) first[f] = d;
    }
    groupFirst.set(g, first);
  }

  const out: DayScore[] = [];
  const sorted = Array.from({ length: F }, () => new Float64Array(days));
  const peerValues = new Float64Array(users);
  for (let u = 0; u < users; u++) {
    const g = peers[u];
    const group = g >= 0 ? members.get(g)! : [];
    let forest: { block: number; model: IsolationForest; columns: number[] } | undefined;
    for (let d = 0; d < days; d++) {
      const deviations: Deviation[] = [];
      if (d >= params.warmupDays) {
        for (let f = 0; f < F; f++) {
          if (!scored[f]) continue;
          const x = values[f][u * days + d];
          const history = sorted[f];
          const median = medianOf(history, d);
          if (!(x > median)) continue;
          // Within the user's usual range is routine however rare the median makes it look (a
          // thumb drive twice a week: median 0, but 1 is a usual value).
          const usual: [number, number] = [quantile(history.subarray(0, d), 0.1), quantile(history.subarray(0, d), 0.9)];
          if (!(x > usual[1])) continue;
          const z = (x - median) / robustScale(history, d, median, params.madFloor);
          if (z < params.zThreshold) continue;
          let peerZ: number | null = null;
          if (group.length > 1) {
            group.forEach((m, i) => (peerValues[i] = values[f][m * days + d]));
            const same = peerValues.subarray(0, group.length).sort();
            const peerMedian = medianOf(same, same.length);
            peerZ = (x - peerMedian) / robustScale(same, same.length, peerMedian, params.madFloor);
          }
          const first = firstDay[u * F + f] === d;
          const firstInPeers = first && g >= 0 && groupFirst.get(g)![f] === d;
          // A deviation the peers share (the whole team archives today) counts half.
          const points = Math.min(z, Z_CAP) * (peerZ === null || peerZ >= params.zThreshold ? 1 : 0.5) + (firstInPeers ? 2 : 0);
          deviations.push({
            feature: features[f],
            value: x,
            z,
            peerZ,
            first,
            firstInPeers,
            points,
            usual,
          });
        }
      }
      for (let f = 0; f < F; f++) insertSorted(sorted[f], d, values[f][u * days + d]);
      if (deviations.length === 0) continue;
      let s: number | null = null;
      let forestPoints = 0;
      if (d >= params.minHistoryDays) {
        // Fitted on the days before the start of d's week of refits, and only for weeks that hold
        // a day of interest: the forest speaks only on those days.
        const block = params.minHistoryDays + Math.floor((d - params.minHistoryDays) / REFIT_DAYS) * REFIT_DAYS;
        if (forest?.block !== block) forest = { block, ...fitUserForest(values, scored, u, days, block, params.seed) };
        s = forest.model.scoreSamples({
          rows: 1,
          cols: forest.columns.length,
          data: userRow(values, forest.columns, u, days, d),
          names: [],
        })[0];
        // Only a clearly isolated day adds: s = 0.5 is the forest's "nothing special".
        if (s >= 0.6) forestPoints = Math.round(10 * (s - 0.5) * 10) / 10;
      }
      // Heaviest first; on a tie a feature before a rule column (its rule id says less at a glance).
      deviations.sort(
        (a, b) =>
          b.points - a.points || Number(a.feature.includes('.')) - Number(b.feature.includes('.')) || a.feature.localeCompare(b.feature),
      );
      const score = deviations.reduce((sum, x) => sum + x.points, 0) + forestPoints;
      out.push({ user: u, day: d, score: Math.round(score * 100) / 100, deviations, forest: s, forestPoints });
    }
  }
  return out;
}

function userRow(values: readonly Float64Array[], columns: readonly number[], u: number, days: number, d: number): Float64Array {
  const row = new Float64Array(columns.length);
  columns.forEach((f, j) => (row[j] = values[f][u * days + d]));
  return row;
}

/**
 * The user's forest over their days before `until`, on the features that varied in those days
 * (a feature constant in the history cannot split a tree: it would only cost time; most rule
 * columns are zero for most users).
 */
function fitUserForest(
  values: readonly Float64Array[],
  scored: boolean[],
  u: number,
  days: number,
  until: number,
  seed: number,
): { model: IsolationForest; columns: number[] } {
  const columns: number[] = [];
  values.forEach((column, f) => {
    if (!scored[f]) return;
    const first = column[u * days];
    for (let d = 1; d < until; d++) {
      if (column[u * days + d] !== first) {
        columns.push(f);
        return;
      }
    }
  });
  // Nothing varied: one constant column keeps the forest well-defined (every day is as usual).
  if (columns.length === 0) columns.push(scored.indexOf(true));
  const cols = columns.length;
  const data = new Float64Array(until * cols);
  for (let d = 0; d < until; d++) data.set(userRow(values, columns, u, days, d), d * cols);
  const model = new IsolationForest({ seed, nEstimators: 50 }).fit({ rows: until, cols, data, names: columns.map((f) => `f${f}`) });
  return { model, columns };
}
