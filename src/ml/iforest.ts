/**
 * Isolation forest after Liu, Ting & Zhou, "Isolation Forest" (ICDM 2008) and "Isolation-based
 * Anomaly Detection" (TKDD 2012).
 *
 * - Each of `nEstimators` trees is grown on its own subsample of ψ = min(maxSamples, n) rows drawn
 *   without replacement, on `maxFeatures` features drawn per tree, to depth ⌈log₂ ψ⌉.
 * - A node splits on a random feature (among those not constant in the node) at a threshold
 *   drawn uniformly between that feature's min and max in the node; x ≤ threshold goes left.
 * - Path length h(x) = edges to the external node + c(size of that node), where
 *   c(n) = 2H(n−1) − 2(n−1)/n, H(i) ≈ ln i + γ, c(2) = 1, c(n ≤ 1) = 0 (the expected path length
 *   of an unsuccessful BST search: the depth the node's points would have added).
 * - Score s(x) = 2^(−E[h(x)] / c(ψ)) in (0, 1]: near 1 isolated fast (anomalous), below 0.5 normal.
 *   scikit-learn's score_samples is −s(x).
 *
 * Every random draw comes from one seeded generator: same data, same seed, same forest.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { MlError, assertFinite, type Matrix } from './matrix.ts';
import { Rng } from './random.ts';

const EULER_GAMMA = 0.5772156649015329;

/** c(n): average path length of an unsuccessful search in a binary search tree of n points. */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

export interface IsolationForestOptions {
  nEstimators?: number;
  /** ψ, capped at n. Default 256 as in the paper. */
  maxSamples?: number;
  /** Features drawn per tree (all by default). */
  maxFeatures?: number;
  /** 'auto' flags s(x) > 0.5; a fraction flags that share of the training rows. */
  contamination?: 'auto' | number;
  seed?: number;
}

/** One tree, flat in typed arrays. Leaves have feature −1. */
interface Tree {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  /** Training rows that reached the node. */
  size: Int32Array;
  /** c(size) at external nodes, precomputed: the depth the unbuilt subtree would have added. */
  leafPath: Float64Array;
  nodes: number;
}

export interface Attribution {
  feature: string;
  /** Share of the isolating work this feature did for the row (shares sum to 1). */
  share: number;
}

export class IsolationForest {
  readonly nEstimators: number;
  readonly maxSamples: number;
  readonly maxFeatures: number | undefined;
  readonly contamination: 'auto' | number;
  readonly seed: number;
  private trees: Tree[] = [];
  private treeFeatures: Int32Array[] = [];
  private psi = 0;
  private names: readonly string[] = [];
  private cols = 0;
  /** Scores above this are flagged (set by fit). */
  threshold = 0.5;

  constructor(options: IsolationForestOptions = {}) {
    this.nEstimators = options.nEstimators ?? 100;
    this.maxSamples = options.maxSamples ?? 256;
    this.maxFeatures = options.maxFeatures;
    this.contamination = options.contamination ?? 'auto';
    this.seed = options.seed ?? 1;
    if (!Number.isInteger(this.nEstimators) || this.nEstimators < 1)
      throw new MlError(`nEstimators must be a positive integer, got ${this.nEstimators}`);
    if (!Number.isInteger(this.maxSamples) || this.maxSamples < 2)
      throw new MlError(`maxSamples must be an integer ≥ 2, got ${this.maxSamples}`);
    if (this.contamination !== 'auto' && !(this.contamination > 0 && this.contamination <= 0.5)) {
      throw new MlError(`contamination must be 'auto' or a fraction in (0, 0.5], got ${this.contamination}`);
    }
  }

  fit(x: Matrix): this {
    assertFinite(x);
    if (x.rows < 2) throw new MlError(`an isolation forest needs at least 2 rows, got ${x.rows}`);
    this.names = x.names;
    this.cols = x.cols;
    const maxFeatures = Math.min(x.cols, this.maxFeatures ?? x.cols);
    if (maxFeatures < 1) throw new MlError('no features to isolate on');
    this.psi = Math.min(this.maxSamples, x.rows);
    const limit = Math.ceil(Math.log2(Math.max(this.psi, 2)));
    const rng = new Rng(this.seed);
    this.trees = [];
    this.treeFeatures = [];
    for (let t = 0; t < this.nEstimators; t++) {
      const sample = sampleWithoutReplacement(rng, x.rows, this.psi);
      const features = drawFeatures(rng, x.cols, maxFeatures);
      this.treeFeatures.push(features);
      this.trees.push(growTree(x, sample, features, limit, rng));
    }
    if (this.contamination === 'auto') this.threshold = 0.5;
    else {
      const scores = Float64Array.from(this.scoreSamples(x)).sort();
      // The (1 − contamination) quantile: that share of training rows score above it.
      this.threshold = scores[Math.min(scores.length - 1, Math.floor((1 - this.contamination) * scores.length))];
    }
    return this;
  }

  /** s(x) for every row: higher is more anomalous. */
  scoreSamples(x: Matrix): Float64Array {
    this.assertFitted(x);
    const depth = new Float64Array(x.rows);
    for (const tree of this.trees) addPathLengths(x.data, x.cols, 0, x.rows, tree.feature, tree.threshold, tree.left, tree.leafPath, depth);
    return this.toScores(depth);
  }

  /**
   * The same scores computed by `threads` worker threads over row ranges (the trees are tiny;
   * the rows are many). Worth it from about 100 k rows; below that it falls back to one thread.
   */
  async scoreSamplesParallel(x: Matrix, threads = Math.min(4, availableParallelism())): Promise<Float64Array> {
    this.assertFitted(x);
    if (threads <= 1 || x.rows < 100_000) return this.scoreSamples(x);
    const shared = new Float64Array(new SharedArrayBuffer(x.data.byteLength));
    shared.set(x.data);
    const depth = new Float64Array(new SharedArrayBuffer(x.rows * 8));
    const trees = this.trees.map((t) => ({ feature: t.feature, threshold: t.threshold, left: t.left, leafPath: t.leafPath }));
    const chunk = Math.ceil(x.rows / threads);
    await Promise.all(
      Array.from({ length: threads }, (_, w) =>
        runWorker({
          data: shared,
          cols: x.cols,
          start: w * chunk,
          end: Math.min(x.rows, (w + 1) * chunk),
          trees,
          depth,
        }),
      ),
    );
    return this.toScores(depth);
  }

  private toScores(depth: Float64Array): Float64Array {
    const norm = averagePathLength(this.psi) * this.trees.length;
    const scores = new Float64Array(depth.length);
    for (let i = 0; i < depth.length; i++) scores[i] = 2 ** (-depth[i] / norm);
    return scores;
  }

  /** Mean path length E[h(x)] per row (for tests and explanations). */
  pathLengths(x: Matrix): Float64Array {
    const scores = this.scoreSamples(x);
    const c = averagePathLength(this.psi);
    return scores.map((s) => -Math.log2(s) * c);
  }

  predict(x: Matrix): Uint8Array {
    return Uint8Array.from(this.scoreSamples(x), (s) => (s > this.threshold ? 1 : 0));
  }

  /**
   * Why row i stands out: on its path through each tree, every split that separated it from
   * other training rows credits its feature with the share of the node's rows it cut away
   * ((n_node − n_child) / n_node). Credits are summed over trees and normalised to sum to 1.
   * An outlier is cut loose early by large cuts on the features where it is unusual.
   */
  explain(x: Matrix, i: number): Attribution[] {
    this.assertFitted(x);
    const credit = new Float64Array(this.cols);
    const base = i * x.cols;
    for (const tree of this.trees) {
      let node = 0;
      while (tree.feature[node] >= 0) {
        const f = tree.feature[node];
        const child = tree.left[node] + (x.data[base + f] <= tree.threshold[node] ? 0 : 1);
        credit[f] += (tree.size[node] - tree.size[child]) / tree.size[node];
        node = child;
      }
    }
    const total = credit.reduce((a, b) => a + b, 0);
    return Array.from(credit, (c, j) => ({ feature: this.names[j], share: total > 0 ? c / total : 0 })).sort(
      (a, b) => b.share - a.share || a.feature.localeCompare(b.feature),
    );
  }

  private assertFitted(x: Matrix): void {
    if (this.trees.length === 0) throw new MlError('the forest is not fitted: call fit() first');
    if (x.cols !== this.cols) throw new MlError(`the forest was fitted on ${this.cols} features, got ${x.cols}`);
  }
}

/**
 * ψ distinct row indices, uniformly: Floyd's algorithm, O(ψ) whatever n is (a full shuffle
 * of a million indices per tree would cost more than growing the tree).
 */
function sampleWithoutReplacement(rng: Rng, n: number, count: number): Int32Array {
  const chosen = new Set<number>();
  const out = new Int32Array(count);
  let k = 0;
  for (let j = n - count; j < n; j++) {
    const t = Math.floor(rng.next() * (j + 1));
    const pick = chosen.has(t) ? j : t;
    chosen.add(pick);
    out[k++] = pick;
  }
  return out;
}

/**
 * Adds each row's path length through one tree to depth[i]: edges walked to the external node
 * plus c(size) there. Self-contained (no closure, no imports) because worker threads run its
 * source text too.
 */
function addPathLengths(
  data: Float64Array,
  cols: number,
  start: number,
  end: number,
  feature: Int32Array,
  threshold: Float64Array,
  left: Int32Array,
  leafPath: Float64Array,
  depth: Float64Array,
): void {
  for (let i = start; i < end; i++) {
    const base = i * cols;
    let node = 0;
    let edges = 0;
    let f = feature[0];
    while (f >= 0) {
      // Children are allocated in pairs: right = left + 1.
      node = left[node] + (data[base + f] <= threshold[node] ? 0 : 1);
      f = feature[node];
      edges++;
    }
    depth[i] += edges + leafPath[node];
  }
}

interface WorkerJob {
  data: Float64Array;
  cols: number;
  start: number;
  end: number;
  trees: { feature: Int32Array; threshold: Float64Array; left: Int32Array; leafPath: Float64Array }[];
  depth: Float64Array;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
${addPathLengths.toString()}
const { data, cols, start, end, trees, depth } = workerData;
for (const t of trees) ${addPathLengths.name}(data, cols, start, end, t.feature, t.threshold, t.left, t.leafPath, depth);
parentPort.postMessage('done');
`;

function runWorker(job: WorkerJob): Promise<void> {
  return new Promise((resolve, reject) => {
    // Workers write disjoint row ranges of the shared depth array.
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: job });
    worker.once('message', () => resolve());
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? resolve() : reject(new MlError(`scoring worker exited with code ${code}`))));
  });
}

function drawFeatures(rng: Rng, cols: number, count: number): Int32Array {
  const all = Int32Array.from({ length: cols }, (_, j) => j);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rng.next() * (cols - i));
    const swap = all[i];
    all[i] = all[j];
    all[j] = swap;
  }
  return all.slice(0, count).sort();
}

function growTree(x: Matrix, sample: Int32Array, features: Int32Array, limit: number, rng: Rng): Tree {
  const capacity = 2 * sample.length + 1;
  const tree: Tree = {
    feature: new Int32Array(capacity).fill(-1),
    threshold: new Float64Array(capacity),
    left: new Int32Array(capacity),
    right: new Int32Array(capacity),
    size: new Int32Array(capacity),
    leafPath: new Float64Array(capacity),
    nodes: 0,
  };
  const { data, cols } = x;
  const candidates = new Int32Array(features.length);
  const mins = new Float64Array(features.length);
  const maxs = new Float64Array(features.length);
  // Iterative: (node, start, end, depth) over a shared index buffer partitioned in place.
  const stack: [number, number, number, number][] = [[0, 0, sample.length, 0]];
  tree.nodes = 1;
  while (stack.length > 0) {
    const [node, start, end, depth] = stack.pop()!;
    const n = end - start;
    tree.size[node] = n;
    tree.leafPath[node] = averagePathLength(n);
    if (depth >= limit || n <= 1) continue;
    let usable = 0;
    for (let k = 0; k < features.length; k++) {
      const f = features[k];
      let lo = Infinity;
      let hi = -Infinity;
      for (let p = start; p < end; p++) {
        const v = data[sample[p] * cols + f];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (hi > lo) {
        candidates[usable] = f;
        mins[usable] = lo;
        maxs[usable] = hi;
        usable++;
      }
    }
    if (usable === 0) continue; // every point identical on every feature: an external node
    const pick = Math.floor(rng.next() * usable);
    const f = candidates[pick];
    let split = mins[pick] + rng.next() * (maxs[pick] - mins[pick]);
    if (split >= maxs[pick]) split = mins[pick]; // keep both sides non-empty
    let mid = start;
    for (let p = start; p < end; p++) {
      if (data[sample[p] * cols + f] <= split) {
        const swap = sample[mid];
        sample[mid] = sample[p];
        sample[p] = swap;
        mid++;
      }
    }
    const left = tree.nodes++;
    const right = tree.nodes++;
    tree.feature[node] = f;
    tree.threshold[node] = split;
    tree.left[node] = left;
    tree.right[node] = right;
    stack.push([right, mid, end, depth + 1], [left, start, mid, depth + 1]);
  }
  return tree;
}
