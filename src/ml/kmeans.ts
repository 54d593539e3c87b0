/**
 * k-means (Lloyd's algorithm) with k-means++ seeding (Arthur & Vassilvitskii 2007), `nInit`
 * seeded restarts keeping the lowest inertia, and empty clusters re-seeded with the point
 * farthest from its centroid. Plus the two usual ways to choose k: silhouette (sampled for large
 * n) and the elbow of the inertia curve.
 */
import { MlError, assertFinite, dropConstantColumns, type Matrix } from './matrix.ts';
import { fitScaler } from './scaling.ts';
import { Rng } from './random.ts';

export interface KMeansOptions {
  k: number;
  nInit?: number;
  maxIter?: number;
  /** Stop when no centroid moves more than this (squared, relative to the data's variance). */
  tol?: number;
  seed?: number;
  /**
   * How many times each row counts (its multiplicity): k-means on distinct rows with their counts
   * as weights is k-means on all of them (a month of entity-windows holds few distinct vectors).
   */
  weights?: Float64Array;
}

export interface KMeansResult {
  k: number;
  /** k × cols, row-major. */
  centroids: Float64Array;
  labels: Int32Array;
  /** Sum of squared distances to the nearest centroid. */
  inertia: number;
  iterations: number;
  /** Rows per cluster (their weights summed, when rows are weighted). */
  sizes: Int32Array;
}

function squaredDistance(data: Float64Array, a: number, centroids: Float64Array, c: number, cols: number): number {
  let sum = 0;
  for (let j = 0; j < cols; j++) {
    const d = data[a * cols + j] - centroids[c * cols + j];
    sum += d * d;
  }
  return sum;
}

function kmeansPlusPlus(x: Matrix, k: number, rng: Rng, weights: Float64Array | undefined): Float64Array {
  const { rows, cols, data } = x;
  const w = (i: number) => (weights ? weights[i] : 1);
  const centroids = new Float64Array(k * cols);
  const first = Math.floor(rng.next() * rows);
  centroids.set(data.subarray(first * cols, first * cols + cols), 0);
  const closest = new Float64Array(rows);
  for (let i = 0; i < rows; i++) closest[i] = squaredDistance(data, i, centroids, 0, cols);
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < rows; i++) total += w(i) * closest[i];
    let chosen = rows - 1;
    if (total > 0) {
      let target = rng.next() * total;
      for (let i = 0; i < rows; i++) {
        target -= w(i) * closest[i];
        if (target < 0) {
          chosen = i;
          break;
        }
      }
    } else chosen = Math.floor(rng.next() * rows);
    centroids.set(data.subarray(chosen * cols, chosen * cols + cols), c * cols);
    for (let i = 0; i < rows; i++) {
      const d = squaredDistance(data, i, centroids, c, cols);
      if (d < closest[i]) closest[i] = d;
    }
  }
  return centroids;
}

/** Each row to its nearest centroid; returns the inertia (sum of squared distances). */
function assign(
  x: Matrix,
  centroids: Float64Array,
  k: number,
  labels: Int32Array,
  distances: Float64Array,
  weights: Float64Array | undefined,
): number {
  const { rows, cols, data } = x;
  let inertia = 0;
  for (let i = 0; i < rows; i++) {
    let best = 0;
    let bestDistance = Infinity;
    for (let c = 0; c < k; c++) {
      const d = squaredDistance(data, i, centroids, c, cols);
      if (d < bestDistance) {
        bestDistance = d;
        best = c;
      }
    }
    labels[i] = best;
    distances[i] = bestDistance;
    inertia += weights ? weights[i] * bestDistance : bestDistance;
  }
  return inertia;
}

function lloyd(x: Matrix, k: number, initial: Float64Array, maxIter: number, tol: number, weights: Float64Array | undefined): KMeansResult {
  const { rows, cols, data } = x;
  const centroids = initial;
  const labels = new Int32Array(rows);
  const distances = new Float64Array(rows);
  const sums = new Float64Array(k * cols);
  const sizes = new Int32Array(k);
  let iterations = 0;
  for (; iterations < maxIter; iterations++) {
    assign(x, centroids, k, labels, distances, weights);
    sums.fill(0);
    sizes.fill(0);
    for (let i = 0; i < rows; i++) {
      const c = labels[i];
      const w = weights ? weights[i] : 1;
      sizes[c] += w;
      for (let j = 0; j < cols; j++) sums[c * cols + j] += w * data[i * cols + j];
    }
    let shift = 0;
    for (let c = 0; c < k; c++) {
      if (sizes[c] === 0) {
        // An empty cluster takes the point farthest from its own centroid.
        let far = 0;
        for (let i = 1; i < rows; i++) if (distances[i] > distances[far]) far = i;
        distances[far] = 0;
        for (let j = 0; j < cols; j++) {
          shift = Math.max(shift, (centroids[c * cols + j] - data[far * cols + j]) ** 2);
          centroids[c * cols + j] = data[far * cols + j];
        }
        continue;
      }
      for (let j = 0; j < cols; j++) {
        const next = sums[c * cols + j] / sizes[c];
        shift = Math.max(shift, (next - centroids[c * cols + j]) ** 2);
        centroids[c * cols + j] = next;
      }
    }
    if (shift <= tol) {
      iterations++;
      break;
    }
  }
  // Final assignment against the final centroids, so labels, sizes and inertia agree.
  const inertia = assign(x, centroids, k, labels, distances, weights);
  sizes.fill(0);
  for (let i = 0; i < rows; i++) sizes[labels[i]] += weights ? weights[i] : 1;
  return { k, centroids, labels, inertia, iterations, sizes };
}

export function kmeans(x: Matrix, options: KMeansOptions): KMeansResult {
  assertFinite(x);
  const { k } = options;
  if (!Number.isInteger(k) || k < 1) throw new MlError(`k must be a positive integer, got ${k}`);
  if (k > x.rows) throw new MlError(`k = ${k} is more than the ${x.rows} rows to cluster`);
  const nInit = options.nInit ?? 10;
  const maxIter = options.maxIter ?? 300;
  const rng = new Rng(options.seed ?? 1);
  const { weights } = options;
  if (weights && (weights.length !== x.rows || weights.some((w) => !(w > 0) || !Number.isInteger(w)))) {
    throw new MlError(`weights must be ${x.rows} positive whole counts, one per row`);
  }
  const w = (i: number) => (weights ? weights[i] : 1);
  // Tolerance relative to the data's mean variance, as scikit-learn does.
  let total = 0;
  for (let i = 0; i < x.rows; i++) total += w(i);
  let variance = 0;
  for (let j = 0; j < x.cols; j++) {
    let mean = 0;
    for (let i = 0; i < x.rows; i++) mean += w(i) * x.data[i * x.cols + j];
    mean /= total;
    let sq = 0;
    for (let i = 0; i < x.rows; i++) sq += w(i) * (x.data[i * x.cols + j] - mean) ** 2;
    variance += sq / total;
  }
  const tol = (options.tol ?? 1e-4) * (variance / Math.max(1, x.cols));
  let best: KMeansResult | undefined;
  for (let run = 0; run < nInit; run++) {
    const result = lloyd(x, k, kmeansPlusPlus(x, k, rng, weights), maxIter, tol, weights);
    if (!best || result.inertia < best.inertia) best = result;
  }
  return canonicalOrder(best!, x.cols);
}

/**
 * Cluster numbers ordered by size (largest first, ties by centroid), so the same partition
 * always gets the same numbers whatever the seed found first.
 */
function canonicalOrder(result: KMeansResult, cols: number): KMeansResult {
  const order = Array.from({ length: result.k }, (_, c) => c).sort((a, b) => {
    if (result.sizes[b] !== result.sizes[a]) return result.sizes[b] - result.sizes[a];
    for (let j = 0; j < cols; j++) {
      const d = result.centroids[a * cols + j] - result.centroids[b * cols + j];
      if (d !== 0) return d;
    }
    return a - b;
  });
  const rank = new Int32Array(result.k);
  order.forEach((c, r) => (rank[c] = r));
  const centroids = new Float64Array(result.centroids.length);
  const sizes = new Int32Array(result.k);
  order.forEach((c, r) => {
    centroids.set(result.centroids.subarray(c * cols, c * cols + cols), r * cols);
    sizes[r] = result.sizes[c];
  });
  return { ...result, centroids, sizes, labels: result.labels.map((c) => rank[c]) };
}

/** Mean silhouette over (a sample of) the rows: how much closer each point is to its own cluster. */
export function silhouette(
  x: Matrix,
  labels: Int32Array,
  k: number,
  options: { sample?: number; seed?: number; distances?: PairwiseDistances } = {},
): number {
  const { rows, cols, data } = x;
  const sampleSize = Math.min(rows, options.sample ?? 2000);
  const rng = new Rng(options.seed ?? 1);
  const idx = Int32Array.from({ length: rows }, (_, i) => i);
  for (let i = 0; i < sampleSize; i++) {
    const j = i + Math.floor(rng.next() * (rows - i));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  // In row order: the mean is the same, and the distances are then read in memory order.
  const sample = idx.subarray(0, sampleSize).sort();
  const counts = new Int32Array(k);
  for (let p = 0; p < sampleSize; p++) counts[labels[sample[p]]]++;
  let total = 0;
  const sums = new Float64Array(k);
  const cached = options.distances?.rows === rows ? options.distances.values : undefined;
  // Indexed loops, not for…of over the typed array: this is the hot loop of choosing k.
  for (let p = 0; p < sampleSize; p++) {
    const i = sample[p];
    sums.fill(0);
    for (let q = 0; q < sampleSize; q++) {
      const j = sample[q];
      if (i === j) continue;
      if (cached) {
        sums[labels[j]] += cached[i * rows + j];
        continue;
      }
      let d = 0;
      for (let f = 0; f < cols; f++) d += (data[i * cols + f] - data[j * cols + f]) ** 2;
      sums[labels[j]] += Math.sqrt(d);
    }
    const own = labels[i];
    if (counts[own] <= 1) continue; // silhouette of a singleton is 0
    const a = sums[own] / (counts[own] - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own && counts[c] > 0) b = Math.min(b, sums[c] / counts[c]);
    if (Number.isFinite(b)) total += (b - a) / Math.max(a, b);
  }
  return total / sampleSize;
}

/** Every pair's Euclidean distance, row-major n × n: computed once when several k are compared on the same rows. */
export interface PairwiseDistances {
  rows: number;
  values: Float64Array;
}

function pairwiseDistances(x: Matrix): PairwiseDistances {
  const { rows, cols, data } = x;
  const values = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    for (let j = i + 1; j < rows; j++) {
      let d = 0;
      for (let f = 0; f < cols; f++) d += (data[i * cols + f] - data[j * cols + f]) ** 2;
      values[i * rows + j] = values[j * rows + i] = Math.sqrt(d);
    }
  }
  return { rows, values };
}

/** Up to this many rows (32 MB of distances), chooseK computes the distances once for every k. */
const CACHED_DISTANCE_ROWS = 2000;

export interface KChoice {
  k: number;
  method: 'silhouette' | 'elbow';
  /** Per candidate k: inertia and silhouette. */
  candidates: { k: number; inertia: number; silhouette: number }[];
  elbow: number;
}

/**
 * Tries k = 2..maxK. The silhouette picks the k with the best mean silhouette; the elbow is the
 * k whose (k, inertia) point lies farthest below the straight line from the first to the last.
 * Silhouette decides; the elbow is reported beside it.
 */
export function chooseK(x: Matrix, options: { maxK?: number; seed?: number; nInit?: number } = {}): KChoice {
  const maxK = Math.min(options.maxK ?? 8, x.rows - 1);
  if (maxK < 2) throw new MlError(`need at least 3 rows to choose k, got ${x.rows}`);
  const candidates: KChoice['candidates'] = [];
  const distances = x.rows <= CACHED_DISTANCE_ROWS ? pairwiseDistances(x) : undefined;
  for (let k = 2; k <= maxK; k++) {
    const result = kmeans(x, { k, seed: options.seed, nInit: options.nInit ?? 4 });
    candidates.push({ k, inertia: result.inertia, silhouette: silhouette(x, result.labels, k, { seed: options.seed, distances }) });
  }
  const best = candidates.reduce((a, b) => (b.silhouette > a.silhouette + 1e-12 ? b : a));
  const first = candidates[0];
  const last = candidates[candidates.length - 1];
  let elbow = first.k;
  let farthest = -Infinity;
  for (const c of candidates) {
    const line = first.inertia + ((last.inertia - first.inertia) * (c.k - first.k)) / Math.max(1, last.k - first.k);
    if (line - c.inertia > farthest) {
      farthest = line - c.inertia;
      elbow = c.k;
    }
  }
  return { k: best.k, method: 'silhouette', candidates, elbow };
}

/**
 * The clustering path hunts share: the columns that vary, standardised, then k-means with k
 * given or chosen by silhouette. Undefined when there is nothing to cluster (fewer than two
 * rows, or no column that varies).
 */
export function clusterStandardised(
  x: Matrix,
  options: { k: number | 'auto'; seed: number; nInit?: number; maxK?: number; weights?: Float64Array },
): KMeansResult | undefined {
  const varying = dropConstantColumns(x);
  if (x.rows < 2 || varying.cols === 0) return undefined;
  if (options.weights && options.k === 'auto') throw new MlError('k is chosen on unweighted rows: give k, or pass every row');
  const scaled = fitScaler('standard', varying, options.weights).transform(varying);
  let k = options.k === 'auto' ? 1 : Math.min(options.k, x.rows);
  if (options.k === 'auto' && x.rows >= 3) {
    k = chooseK(sampleRows(scaled, CHOOSE_K_SAMPLE, options.seed), {
      seed: options.seed,
      maxK: Math.min(options.maxK ?? 8, x.rows - 1),
      nInit: options.nInit,
    }).k;
  }
  return kmeans(scaled, { k, seed: options.seed, nInit: options.nInit, weights: options.weights });
}

/**
 * k is chosen on at most this many rows (a seeded sample): the silhouette search fits seven
 * models, and on 10 k users it cost 1.6 s of a 2.4 s hunt; the chosen k is then fitted on all rows.
 */
const CHOOSE_K_SAMPLE = 2000;

/** A seeded sample of `size` rows (all of them, in order, when there are no more than that). */
function sampleRows(x: Matrix, size: number, seed: number): Matrix {
  if (x.rows <= size) return x;
  const rng = new Rng(seed);
  const idx = Array.from({ length: x.rows }, (_, i) => i);
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(rng.next() * (x.rows - i));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  const chosen = idx.slice(0, size).sort((a, b) => a - b);
  const data = new Float64Array(size * x.cols);
  chosen.forEach((r, i) => data.set(x.data.subarray(r * x.cols, (r + 1) * x.cols), i * x.cols));
  return { rows: size, cols: x.cols, data, names: x.names };
}
