/**
 * bench/ml: huntbook's isolation forest and k-means against scikit-learn 1.2.1 (Debian's
 * python3-sklearn, run with /usr/bin/python3) on the same data in the same run.
 *
 *   npm run bench:ml -- [sizes=100000,1000000]
 *
 * Prints fit+score time of both (sklearn scored in 100k chunks, its faster mode in 1.2.1), the
 * speed ratio, ROC AUC of both on the planted outliers, the Spearman correlation of the two
 * score vectors, and k-means' adjusted Rand index against sklearn's KMeans on blobs.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { IsolationForest } from '../src/ml/iforest.ts';
import { kmeans } from '../src/ml/kmeans.ts';
import { adjustedRand, rocAuc, spearman } from '../src/ml/metrics.ts';

const sizes = (process.argv[2] ?? '100000,1000000').split(',').map(Number);
const peers = resolve(process.cwd(), '..', 'shared', 'peers');
const out = join(process.cwd(), '.bench', 'ml');
mkdirSync(out, { recursive: true });

const readF64 = (path: string) => {
  const b = readFileSync(path);
  return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
};
const readI32 = (path: string) => {
  const b = readFileSync(path);
  return new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

console.log(`scikit-learn side (${sizes.join(', ')} rows)...`);
const sk = JSON.parse(
  execFileSync('/usr/bin/python3', [join(process.cwd(), 'bench', 'ml_sklearn.py'), peers, out, ...sizes.map(String)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  })
    .trim()
    .split('\n')
    .at(-1)!,
) as {
  iforest: { n: number; fit_s: number; score_chunked_s: number; auc: number }[];
  kmeans: { n: number; k: number; fit_s: number; inertia: number };
};

const results: Record<string, unknown>[] = [];
for (const peer of sk.iforest) {
  const n = peer.n;
  const x = { rows: n, cols: 4, data: readF64(join(out, `X${n}.f64`)), names: ['a', 'b', 'c', 'd'] };
  const y = readFileSync(join(out, `y${n}.u8`));
  const t0 = performance.now();
  const forest = new IsolationForest({ nEstimators: 100, maxSamples: 256, seed: 0 }).fit(x);
  const t1 = performance.now();
  const scores = await forest.scoreSamplesParallel(x);
  const t2 = performance.now();
  const ours = (t2 - t0) / 1000;
  const theirs = peer.fit_s + peer.score_chunked_s;
  const row = {
    n,
    huntbook_fit_s: +((t1 - t0) / 1000).toFixed(3),
    huntbook_score_s: +((t2 - t1) / 1000).toFixed(3),
    huntbook_total_s: +ours.toFixed(3),
    sklearn_fit_s: peer.fit_s,
    sklearn_score_chunked_s: peer.score_chunked_s,
    sklearn_total_s: +theirs.toFixed(3),
    speedup: +(theirs / ours).toFixed(2),
    auc_huntbook: +rocAuc(scores, y).toFixed(5),
    auc_sklearn: peer.auc,
    spearman: +spearman(scores, readF64(join(out, `sk${n}.f64`))).toFixed(4),
  };
  results.push(row);
  console.log(JSON.stringify(row));
}

const blobs = { rows: sk.kmeans.n, cols: 4, data: readF64(join(out, 'blobs.f64')), names: ['a', 'b', 'c', 'd'] };
const t0 = performance.now();
const km = kmeans(blobs, { k: sk.kmeans.k, nInit: 10, seed: 0 });
const kmRow = {
  kmeans_n: sk.kmeans.n,
  k: sk.kmeans.k,
  huntbook_s: +((performance.now() - t0) / 1000).toFixed(3),
  sklearn_s: sk.kmeans.fit_s,
  ari_vs_sklearn: +adjustedRand(km.labels, readI32(join(out, 'blobs_sk.i32'))).toFixed(5),
  ari_vs_truth: +adjustedRand(km.labels, readI32(join(out, 'blobs_true.i32'))).toFixed(5),
  inertia_ratio: +(km.inertia / sk.kmeans.inertia).toFixed(6),
};
console.log(JSON.stringify(kmRow));
console.log(
  JSON.stringify({ bench: 'ml', iforest: results, kmeans: kmRow, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) }),
);
