import assert from 'node:assert/strict';
import { test } from 'node:test';
import { averagePathLength, IsolationForest } from '../src/ml/iforest.ts';
import { chooseK, kmeans, silhouette } from '../src/ml/kmeans.ts';
import { matrix, MlError, type Matrix } from '../src/ml/matrix.ts';
import { Rng } from '../src/ml/random.ts';
import { fitScaler, quantile } from '../src/ml/scaling.ts';

const close = (actual: number, expected: number, eps = 1e-9) => assert.ok(Math.abs(actual - expected) <= eps, `${actual} ≠ ${expected}`);

test('c(n), the average unsuccessful-search path length, matches the paper', () => {
  assert.equal(averagePathLength(0), 0);
  assert.equal(averagePathLength(1), 0);
  assert.equal(averagePathLength(2), 1);
  // c(3) = 2(ln 2 + γ) − 2·2/3 = 2(0.693147 + 0.577216) − 1.333333 = 1.207393
  close(averagePathLength(3), 1.2073928, 1e-6);
  // c(256) = 2(ln 255 + γ) − 2·255/256 = 12.236958 − 1.992188 = 10.244771
  close(averagePathLength(256), 10.2447709, 1e-6);
});

test('two points: every tree splits them at the root, so h = 1 and s = 2^(−1/c(2)) = 0.5', () => {
  const x = matrix([[0], [1]]);
  const forest = new IsolationForest({ seed: 3, nEstimators: 10 }).fit(x);
  assert.deepEqual(Array.from(forest.pathLengths(x)), [1, 1]);
  assert.deepEqual(Array.from(forest.scoreSamples(x)), [0.5, 0.5]);
});

test('three equal points and one far away: path lengths and scores worked out by hand', () => {
  // ψ = 4, depth limit ⌈log₂ 4⌉ = 2. The only usable split is on [0, 10]: the root always cuts
  // {0,0,0} | {10}. The far point stops at depth 1 in a node of 1: h = 1 + c(1) = 1.
  // The equal points stop at depth 1 in a node of 3 that cannot split: h = 1 + c(3) = 2.207393.
  // c(ψ) = c(4) = 2(ln 3 + γ) − 1.5 = 1.851656, so s = 2^(−1/1.851656) = 0.687744 for the far
  // point and 2^(−2.207392/1.851656) = 0.437660 for the others.
  const x = matrix([[0], [0], [0], [10]]);
  const forest = new IsolationForest({ seed: 9, nEstimators: 25 }).fit(x);
  const h = forest.pathLengths(x);
  close(h[3], 1, 1e-9);
  for (const i of [0, 1, 2]) close(h[i], 1 + averagePathLength(3), 1e-9);
  const s = forest.scoreSamples(x);
  close(s[3], 0.687744, 1e-6);
  close(s[0], 0.43766, 1e-6);
  assert.deepEqual(Array.from(forest.predict(x)), [0, 0, 0, 1], "'auto' flags s > 0.5");
  assert.deepEqual(forest.explain(x, 3), [{ feature: 'x0', share: 1 }]);
});

test('contamination turns scores into a threshold flagging that share of rows', () => {
  const rng = new Rng(5);
  const rows = Array.from({ length: 1000 }, () => [rng.normal(), rng.normal()]);
  const x = matrix(rows, ['a', 'b']);
  const forest = new IsolationForest({ seed: 1, contamination: 0.01 }).fit(x);
  const flagged = forest.predict(x).reduce((a, b) => a + b, 0);
  assert.ok(flagged >= 9 && flagged <= 11, `flagged ${flagged}`);
});

test('explain credits the feature on which a planted outlier is unusual', () => {
  const rng = new Rng(2);
  const rows = Array.from({ length: 500 }, () => [rng.normal(100, 5), rng.normal(10, 1), rng.normal(0, 1)]);
  rows.push([100, 60, 0]); // ordinary on a and c, absurd on b
  const x = matrix(rows, ['a', 'b', 'c']);
  const forest = new IsolationForest({ seed: 4 }).fit(x);
  const [top] = forest.explain(x, 500);
  assert.equal(top.feature, 'b');
  assert.ok(top.share > 0.5, JSON.stringify(forest.explain(x, 500)));
});

test('parallel scoring gives exactly the single-thread scores', async () => {
  const rng = new Rng(8);
  const n = 120_000;
  const data = new Float64Array(n * 3).map(() => rng.normal());
  const x: Matrix = { rows: n, cols: 3, data, names: ['a', 'b', 'c'] };
  const forest = new IsolationForest({ seed: 2, nEstimators: 20 }).fit(x);
  assert.deepEqual(await forest.scoreSamplesParallel(x, 2), forest.scoreSamples(x));
});

function plantedData(seed: number): { x: Matrix; outliers: Set<number> } {
  const rng = new Rng(seed);
  const rows: number[][] = [];
  for (let i = 0; i < 600; i++) {
    const center = i % 3;
    rows.push([center * 10 + rng.normal(0, 1), center * 5 + rng.normal(0, 1), rng.normal(50, 2)]);
  }
  const outliers = new Set<number>();
  for (const row of [
    [60, 40, 50],
    [-30, 2, 50],
    [10, 5, 120],
    [45, -20, -10],
    [5, 35, 90],
  ]) {
    outliers.add(rows.length);
    rows.push(row);
  }
  return { x: matrix(rows, ['a', 'b', 'c']), outliers };
}

const topIndices = (scores: Float64Array, k: number) =>
  Array.from(scores.keys())
    .sort((a, b) => scores[b] - scores[a] || a - b)
    .slice(0, k);

/** The outlier detectors the hunts use, held to one contract (today: the isolation forest). */
const DETECTORS = [
  {
    name: 'isolation-forest',
    range: [0, 1] as const,
    fitScore: (x: Matrix, seed: number) => new IsolationForest({ seed }).fit(x).scoreSamples(x),
  },
];

for (const detector of DETECTORS) {
  test(`detector contract: ${detector.name}`, () => {
    const { x, outliers } = plantedData(7);
    const a = detector.fitScore(x, 1);
    const b = detector.fitScore(x, 1);
    assert.deepEqual(a, b, 'deterministic under a seed');
    assert.ok(
      a.every((s) => s >= detector.range[0] && s <= detector.range[1]),
      'scores in range',
    );
    assert.deepEqual(new Set(topIndices(a, outliers.size)), outliers, 'planted outliers rank on top');
    // Row order: the same rows come out on top when the input is shuffled (scores are not
    // bit-identical: the seed draws rows by position).
    const rng = new Rng(3);
    const order = Array.from({ length: x.rows }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const shuffled = matrix(
      order.map((i) => Array.from(x.data.subarray(i * x.cols, i * x.cols + x.cols))),
      x.names,
    );
    const c = detector.fitScore(shuffled, 1);
    assert.deepEqual(new Set(topIndices(c, outliers.size).map((i) => order[i])), outliers, 'order-invariant flagging');
    assert.throws(
      () =>
        detector.fitScore(
          matrix(
            [
              [1, NaN],
              [2, 3],
            ],
            ['p', 'q'],
          ),
          1,
        ),
      /feature q is NaN at row 1/,
    );
  });
}

test('k-means: blobs recovered, seeded, labels numbered by size, empty clusters refilled', () => {
  const rng = new Rng(4);
  const rows: number[][] = [];
  const truth: number[] = [];
  [
    [0, 0, 300],
    [20, 0, 200],
    [0, 20, 100],
  ].forEach(([cx, cy, n], c) => {
    for (let i = 0; i < n; i++) {
      rows.push([cx + rng.normal(), cy + rng.normal()]);
      truth.push(c);
    }
  });
  const x = matrix(rows, ['a', 'b']);
  const result = kmeans(x, { k: 3, seed: 1 });
  assert.deepEqual(Array.from(result.labels), truth, 'largest cluster is 0, then 1, then 2');
  assert.deepEqual(Array.from(result.sizes), [300, 200, 100]);
  assert.deepEqual(kmeans(x, { k: 3, seed: 1 }), result);
  close(result.centroids[2], 20, 0.3);
  // k larger than the number of distinct points: the empty clusters take far points, none stays empty.
  const few = matrix([[0], [0], [0], [5], [5], [9]]);
  const r = kmeans(few, { k: 3, seed: 2 });
  assert.deepEqual(Array.from(r.sizes), [3, 2, 1]);
  assert.equal(r.inertia, 0);
  assert.throws(() => kmeans(few, { k: 7 }), /k = 7 is more than the 6 rows/);
});

test('weighted k-means: distinct rows with their counts give the partition, centroids and inertia of all the rows', () => {
  // Integer-valued data with many repeats, as entity-window metrics are.
  const rng = new Rng(9);
  const rows: number[][] = [];
  for (let i = 0; i < 600; i++) rows.push([rng.int(0, 4), rng.int(0, 2) * 10 + (i % 50 === 0 ? 40 : 0)]);
  const keyOf = (r: number[]) => r.join(',');
  const distinct = [...new Map(rows.map((r) => [keyOf(r), r])).values()];
  const counts = Float64Array.from(distinct, (d) => rows.filter((r) => keyOf(r) === keyOf(d)).length);
  const all = kmeans(matrix(rows, ['a', 'b']), { k: 3, seed: 1 });
  const weighted = kmeans(matrix(distinct, ['a', 'b']), { k: 3, seed: 1, weights: counts });
  close(weighted.inertia, all.inertia, 1e-6);
  assert.deepEqual(Array.from(weighted.sizes), Array.from(all.sizes));
  Array.from(all.centroids).forEach((c, j) => close(weighted.centroids[j], c, 1e-9));
  // Every row lands in the cluster of its distinct vector.
  const label = new Map(distinct.map((d, i) => [keyOf(d), weighted.labels[i]]));
  assert.deepEqual(
    rows.map((r) => label.get(keyOf(r))),
    Array.from(all.labels),
  );
  // The standard scaler weighs rows the same way.
  const scaled = fitScaler('standard', matrix(distinct, ['a', 'b']), counts);
  const plain = fitScaler('standard', matrix(rows, ['a', 'b']));
  [0, 1].forEach((j) => {
    close(scaled.center[j], plain.center[j]);
    close(scaled.scale[j], plain.scale[j]);
  });
  assert.throws(
    () => kmeans(matrix(distinct, ['a', 'b']), { k: 3, weights: counts.map((c, i) => (i === 0 ? 0.5 : c)) }),
    /positive whole counts/,
  );
});

test('chooseK picks the true k on separated blobs, by silhouette, and reports the elbow', () => {
  const rng = new Rng(6);
  const rows: number[][] = [];
  for (const [cx, cy] of [
    [0, 0],
    [15, 0],
    [0, 15],
    [15, 15],
  ])
    for (let i = 0; i < 80; i++) rows.push([cx + rng.normal(), cy + rng.normal()]);
  const choice = chooseK(matrix(rows), { maxK: 7, seed: 1 });
  assert.equal(choice.k, 4);
  assert.equal(choice.elbow, 4);
  assert.equal(choice.candidates.length, 6);
  // Silhouette of a perfect two-point split: a = 0 for both, b = distance, s = 1.
  close(silhouette(matrix([[0], [0], [10], [10]]), Int32Array.from([0, 0, 1, 1]), 2), 1);
});

test('scalers: known values, constant and non-finite features refused by name', () => {
  const x = matrix(
    [
      [1, 10],
      [2, 20],
      [3, 30],
      [4, 1000],
    ],
    ['count', 'bytes'],
  );
  const standard = fitScaler('standard', x).transform(x);
  // mean 2.5, population sd √1.25 = 1.118034 → (1 − 2.5)/1.118034 = −1.341641
  close(standard.data[0], -1.3416408, 1e-6);
  const robust = fitScaler('robust', x);
  // bytes: median 25, IQR = q75 − q25 = 272.5 − 17.5 = 255
  assert.deepEqual([robust.center[1], robust.scale[1]], [25, 255]);
  close(fitScaler('minmax', x).transform(x).data[7], 1);
  close(fitScaler('log1p', x).transform(x).data[0], Math.log(2));
  assert.deepEqual(Array.from(fitScaler('standard', x).inverse(Float64Array.from([0, 0]))), [2.5, 265]);
  assert.equal(quantile(Float64Array.from([1, 2, 3, 4]), 0.25), 1.75);
  assert.throws(
    () =>
      fitScaler(
        'standard',
        matrix(
          [
            [1, 5],
            [2, 5],
          ],
          ['a', 'flat'],
        ),
      ),
    (e: unknown) =>
      e instanceof MlError && e.feature === 'flat' && /feature flat cannot be standard-scaled: it is constant/.test(e.message),
  );
  assert.throws(() => fitScaler('robust', matrix([[1], [1], [1], [1], [9]], ['mostly'])), /interquartile range is 0/);
  assert.throws(() => fitScaler('none', matrix([[1], [Infinity]], ['inf'])), /feature inf is Infinity at row 2/);
  assert.throws(() => fitScaler('log1p', matrix([[-2], [1]], ['neg'])), /log1p needs values above -1/);
});
