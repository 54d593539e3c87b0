/**
 * bench/social: the social hunt on a real labelled follower export (InstaFake, genuine accounts
 * with ~3 % fakes, several seeded samples), ROC AUC beside scikit-learn's IsolationForest
 * (Debian's python3-sklearn 1.2.1, /usr/bin/python3) fitted on exactly the features the hunt used.
 *
 *   npm run bench:social -- [seeds=1,2,3,4,5] [--record]
 *
 * --record writes the scikit-learn AUCs to test/data/instafake/reference.json, which the tests
 * compare huntbook with (so they need no Python).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { socialHunt } from '../src/hunts/social/social.ts';
import { ingest } from '../src/ingest/ingest.ts';
import { rocAuc } from '../src/ml/metrics.ts';
import { Workspace } from '../src/store/workspace.ts';
import { TEST_DATA } from '../test/helpers.ts';
import { writeInstafakeSet } from '../test/instafake.ts';

const seeds = (process.argv.slice(2).find((a) => !a.startsWith('--')) ?? '1,2,3,4,5').split(',').map(Number);
const record = process.argv.includes('--record');
const out = join(process.cwd(), '.bench', 'social');
mkdirSync(out, { recursive: true });

const PY = `
import sys, numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
X = np.fromfile(sys.argv[1], dtype='<f8').reshape(-1, int(sys.argv[3])); y = np.fromfile(sys.argv[2], dtype='u1')
print(round(roc_auc_score(y, -IsolationForest(random_state=int(sys.argv[4])).fit(X).score_samples(X)), 4))
`;

const rows: Record<string, unknown>[] = [];
for (const seed of seeds) {
  const set = writeInstafakeSet(out, seed);
  const db = join(out, `social-${seed}.duckdb`);
  for (const suffix of ['', '.wal']) rmSync(db + suffix, { force: true });
  const ws = await Workspace.open(db);
  try {
    await ingest(ws, [set.path]);
    const t0 = performance.now();
    const hunt = await socialHunt(ws, { seed }, 0);
    const seconds = (performance.now() - t0) / 1000;
    const ranked = await ws.query(
      `SELECT r.score, CAST(r.features AS VARCHAR) AS features, CAST(p.extra->>'isFake' AS INTEGER) AS fake
      FROM results r JOIN profiles p ON lower(p.profile_id) = r.entity WHERE r.run_id = $1 ORDER BY r.rank`,
      [hunt.runId],
    );
    const labels = Uint8Array.from(ranked.map((r) => Number(r.fake)));
    const auc = rocAuc(
      ranked.map((r) => Number(r.score)),
      labels,
    );
    const names = Object.keys(JSON.parse(String(ranked[0].features)));
    const x = new Float64Array(ranked.length * names.length);
    ranked.forEach((r, i) => {
      const f = JSON.parse(String(r.features));
      names.forEach((n, j) => (x[i * names.length + j] = Number(f[n])));
    });
    writeFileSync(join(out, `X${seed}.f64`), Buffer.from(x.buffer));
    writeFileSync(join(out, `y${seed}.u8`), labels);
    const sk = Number(
      execFileSync(
        '/usr/bin/python3',
        ['-c', PY, join(out, `X${seed}.f64`), join(out, `y${seed}.u8`), String(names.length), String(seed)],
        { encoding: 'utf8' },
      ).trim(),
    );
    rows.push({
      seed,
      profiles: set.rows,
      fakes: set.fakes,
      features: names.join(','),
      huntbook_auc: Math.round(auc * 1e4) / 1e4,
      sklearn_auc: sk,
      hunt_s: Math.round(seconds * 1000) / 1000,
    });
  } finally {
    ws.close();
  }
}
console.table(rows);
const mean = (k: string) => rows.reduce((a, r) => a + Number(r[k]), 0) / rows.length;
console.log(
  JSON.stringify({
    bench: 'social',
    huntbook_auc_mean: Math.round(mean('huntbook_auc') * 1e4) / 1e4,
    sklearn_auc_mean: Math.round(mean('sklearn_auc') * 1e4) / 1e4,
  }),
);
if (record) {
  const file = join(TEST_DATA, 'instafake', 'reference.json');
  writeFileSync(
    file,
    `${JSON.stringify({ recorded_with: "Debian 12 python3-sklearn 1.2.1, IsolationForest(random_state=seed) on the hunt's own features", sets: rows.map((r) => ({ seed: r.seed, features: r.features, sklearn_auc: r.sklearn_auc })) }, null, 2)}\n`,
  );
  console.log(`recorded ${file}`);
}
