/**
 * "Dynamic Correlation, ML and Hunting": the scored pairs of this run, together with the pairs
 * kept from earlier runs (the seed's MySQL table), ranked by an isolation forest over
 * distinct_event_count, time_count, above and addedweight, or clustered with k-means.
 */
import { IsolationForest } from '../../ml/iforest.ts';
import { clusterStandardised } from '../../ml/kmeans.ts';
import { fromRecords } from '../../ml/matrix.ts';
import { CORRELATION_FEATURES } from './params.ts';

export interface Correlated {
  /** Per current row: the outlier score (iforest) or the distance-based cluster rarity (kmeans). */
  scores: Float64Array;
  /** Per current row: the features that isolated it, strongest first. */
  reasons: string[][];
  /** Per current row, kmeans only: cluster number and size. */
  clusters?: { cluster: number; size: number }[];
}

export function correlate(
  current: Record<string, number>[],
  history: Record<string, number>[],
  model: 'iforest' | 'kmeans',
  seed: number,
  k = 3,
): Correlated {
  const x = fromRecords([...current, ...history], CORRELATION_FEATURES);
  const scores = new Float64Array(current.length);
  const reasons: string[][] = current.map(() => []);
  if (x.rows < 2) return { scores, reasons };
  if (model === 'iforest') {
    const forest = new IsolationForest({ seed }).fit(x);
    const all_scores = forest.scoreSamples(x);
    for (let i = 0; i < current.length; i++) {
      scores[i] = all_scores[i];
      reasons[i] = forest
        .explain(x, i)
        .filter((a) => a.share >= 0.1)
        .map((a) => `${a.feature} isolates (${Math.round(a.share * 100)}%)`);
    }
    return { scores, reasons };
  }
  // k-means on standardised features; a row's score is how rare its cluster is (1 − share).
  const result = clusterStandardised(x, { k, seed });
  if (!result) return { scores, reasons };
  const clusters = current.map((_, i) => ({ cluster: result.labels[i], size: result.sizes[result.labels[i]] }));
  for (let i = 0; i < current.length; i++) {
    scores[i] = 1 - clusters[i].size / x.rows;
    reasons[i] = [`cluster ${clusters[i].cluster} of ${result.k} holds ${clusters[i].size} of ${x.rows} pairs`];
  }
  return { scores, reasons, clusters };
}
