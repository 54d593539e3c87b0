import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, emptyWorkspaceFile, tempDir } from './helpers.ts';

function seedCsv(dir: string): string {
  // The seed's "It's all in the numbers" output: hosts with tweight, phasemult, scount.
  const rows = ['hostname,tweight,phasemult,scount'];
  for (let i = 0; i < 40; i++) rows.push(`ws${i},${20 + (i % 7) * 5},${i % 3 === 0 ? 10 : 0},${1 + (i % 4)}`);
  rows.push('dc01,900,40,14', 'web02,850,30,12');
  const path = join(dir, 'cluster.csv');
  writeFileSync(path, `${rows.join('\n')}\n`);
  return path;
}

test('outliers on a CSV: the planted hosts rank first with reasons; json keys are the columns', async (t) => {
  const path = seedCsv(tempDir(t));
  const result = await cli('outliers', path, '--features', 'tweight,phasemult,scount', '--contamination', '0.05', '--format', 'json');
  assert.equal(result.code, 0, result.stderr);
  const rows = JSON.parse(result.stdout) as Record<string, unknown>[];
  assert.deepEqual(new Set(rows.slice(0, 2).map((r) => r.hostname)), new Set(['dc01', 'web02']));
  assert.deepEqual(Object.keys(rows[0]), ['rank', 'score', 'outlier', 'hostname', 'tweight', 'phasemult', 'scount', 'reasons']);
  assert.equal(rows[0].outlier, true);
  assert.match(String(rows[0].reasons), /^(tweight|scount|phasemult) \d+% \(\d+ vs median \d+\)/);
  assert.match(result.stderr, /2 of 42 rows flagged/);
  const again = await cli('outliers', path, '--features', 'tweight,phasemult,scount', '--contamination', '0.05', '--format', 'json');
  assert.equal(again.stdout, result.stdout, 'same seed, same output');
});

test('cluster on a CSV: summary by cluster, the two heavy hosts alone in the small cluster', async (t) => {
  const path = seedCsv(tempDir(t));
  const summary = await cli('cluster', path, '--features', 'tweight,phasemult,scount', '--k', '3', '--summary', '--format', 'json');
  assert.equal(summary.code, 0, summary.stderr);
  const clusters = JSON.parse(summary.stdout) as { cluster: number; size: number; mean_tweight: number }[];
  assert.deepEqual(
    clusters.map((c) => c.size).reduce((a, b) => a + b),
    42,
  );
  const smallest = clusters.at(-1)!;
  assert.equal(smallest.size, 2);
  assert.equal(smallest.mean_tweight, 875);
  const rows = await cli('cluster', path, '--features', 'tweight,phasemult,scount', '--k', '3', '--format', 'csv');
  const lines = rows.stdout.trim().split('\n');
  assert.equal(lines[0], 'cluster,cluster_size,hostname,tweight,phasemult,scount');
  assert.deepEqual(
    lines
      .slice(1, 3)
      .map((l) => l.split(',')[2])
      .sort(),
    ['dc01', 'web02'],
  );
  const auto = await cli('cluster', path, '--features', 'tweight,phasemult,scount', '--k', 'auto', '--summary', '--format', 'json');
  assert.match(auto.stderr, /k = \d by silhouette .*elbow at k = \d/);
});

test('bad features are refused by name: unknown, NULL, text, constant', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'x.csv');
  writeFileSync(path, 'name,a,b,c,flat\nx,1,,q,5\ny,2,3,r,5\nz,3,4,s,5\n');
  const unknown = await cli('outliers', path, '--features', 'a,nope');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /--features: no column "nope" in the source; columns are name, a, b, c, flat/);
  const nulls = await cli('outliers', path, '--features', 'a,b');
  assert.match(nulls.stderr, /feature b has 1 empty \(NULL\) values, first at row 1/);
  const text = await cli('cluster', path, '--features', 'a,c');
  assert.match(text.stderr, /feature c is not numeric/);
  const flat = await cli('cluster', path, '--features', 'a,flat', '--k', '2');
  assert.match(flat.stderr, /feature flat cannot be standard-scaled: it is constant/);
  const table = await cli('outliers', 'no_such_table', '--features', 'a', '--db', await emptyWorkspaceFile(dir));
  assert.match(table.stderr, /no table "no_such_table" in the workspace/);
});

test('learner errors come from the one error root: exit 1 with one line, not "unexpected error" 70', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'three.csv');
  writeFileSync(path, 'a,b\n1,2\n3,4\n5,7\n');
  const result = await cli('cluster', path, '--features', 'a,b', '--k', '5');
  assert.equal(result.code, 1);
  assert.equal(result.stderr, 'huntbook: k = 5 is more than the 3 rows to cluster\n');
});
