import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { IsolationForest } from '../src/ml/iforest.ts';
import { kmeans } from '../src/ml/kmeans.ts';
import { adjustedRand, ranks, rocAuc, spearman } from '../src/ml/metrics.ts';
import { ROOT, sharedData, tempDir } from './helpers.ts';

test('metrics: AUC, ranks with ties, Spearman, adjusted Rand on hand-checked inputs', () => {
  assert.equal(rocAuc([0.1, 0.2, 0.9, 0.8], [0, 0, 1, 1]), 1);
  assert.equal(rocAuc([0.5, 0.5], [0, 1]), 0.5);
  // positives at ranks 2 and 4 of 4: U = (2 + 4) − 3 = 3 of 4 pairs
  assert.equal(rocAuc([1, 2, 3, 4], [0, 1, 0, 1]), 0.75);
  assert.deepEqual(Array.from(ranks([10, 20, 20, 5])), [2, 3.5, 3.5, 1]);
  assert.equal(spearman([1, 2, 3, 4], [10, 100, 1000, 10000]), 1);
  assert.equal(spearman([1, 2, 3], [3, 2, 1]), -1);
  assert.equal(adjustedRand([0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 9, 9]), 1);
  // a = {0,0,1,1}, b = {0,1,0,1}: index 0, expected (2·2)/6 = 0.667, max 2 → ARI = −0.5
  assert.ok(Math.abs(adjustedRand([0, 0, 1, 1], [0, 1, 0, 1]) + 0.5) < 1e-12);
});

const sklearnReady = spawnSync('/usr/bin/python3', ['-c', 'import sklearn, numpy'], { encoding: 'utf8' }).status === 0;

test('agrees with scikit-learn on the peers\' data: AUC within 0.01, Spearman ≥ 0.95; k-means ARI ≥ 0.99', { skip: !sklearnReady && !process.env.CI ? 'Debian python3-sklearn not installed (.ci/run installs it; apt-get install python3-sklearn)' : false }, (t) => {
  const out = tempDir(t);
  mkdirSync(out, { recursive: true });
  const n = 20_000;
  const result = JSON.parse(execFileSync('/usr/bin/python3', [join(ROOT, 'bench', 'ml_sklearn.py'), sharedData('..', 'peers'), out, String(n)], { encoding: 'utf8' }).trim().split('\n').at(-1)!) as {
    iforest: { auc: number }[];
  };
  const f64 = (name: string) => { const b = readFileSync(join(out, name)); return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8); };
  const i32 = (name: string) => { const b = readFileSync(join(out, name)); return new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4); };
  const x = { rows: n, cols: 4, data: f64(`X${n}.f64`), names: ['a', 'b', 'c', 'd'] };
  const y = readFileSync(join(out, `y${n}.u8`));
  const scores = new IsolationForest({ seed: 0 }).fit(x).scoreSamples(x);
  const auc = rocAuc(scores, y);
  assert.ok(Math.abs(auc - result.iforest[0].auc) <= 0.01, `AUC ${auc} vs sklearn ${result.iforest[0].auc}`);
  const rho = spearman(scores, f64(`sk${n}.f64`));
  assert.ok(rho >= 0.95, `Spearman ${rho}`);
  const blobs = { rows: 100_000, cols: 4, data: f64('blobs.f64'), names: ['a', 'b', 'c', 'd'] };
  const ari = adjustedRand(kmeans(blobs, { k: 6, seed: 0, nInit: 3 }).labels, i32('blobs_sk.i32'));
  assert.ok(ari >= 0.99, `ARI ${ari}`);
});
