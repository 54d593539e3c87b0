/**
 * `huntbook outliers`: an isolation forest over chosen numeric columns of any table, query or
 * file, as the seed's notebooks did, with each row's score and the features that isolated it.
 */
import { IsolationForest } from '../ml/iforest.ts';
import { fitScaler, type ScalerKind } from '../ml/scaling.ts';
import type { Matrix } from '../ml/matrix.ts';
import type { Row, Workspace } from '../store/workspace.ts';
import { featureMatrix, loadSource, parseFeatures, sourceRows } from './source.ts';

export interface OutliersOptions {
  features: string;
  contamination?: 'auto' | number;
  trees?: number;
  maxSamples?: number;
  seed?: number;
  /** Rows to return; default: the flagged rows, at least 20. */
  top?: number;
  scale?: ScalerKind;
}

export interface OutliersResult {
  columns: string[];
  rows: Row[];
  flagged: number;
  total: number;
  threshold: number;
}

function median(m: Matrix, j: number): number {
  const values = Array.from({ length: m.rows }, (_, i) => m.data[i * m.cols + j]).sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)];
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(4));

export async function findOutliers(ws: Workspace, source: string, options: OutliersOptions): Promise<OutliersResult> {
  const { columns } = await loadSource(ws, source);
  const features = parseFeatures(options.features, columns);
  const raw = await featureMatrix(ws, features);
  const x = options.scale && options.scale !== 'none' ? fitScaler(options.scale, raw).transform(raw) : raw;
  const forest = new IsolationForest({
    nEstimators: options.trees ?? 100,
    maxSamples: options.maxSamples ?? 256,
    contamination: options.contamination ?? 'auto',
    seed: options.seed ?? 1,
  }).fit(x);
  const scores = await forest.scoreSamplesParallel(x);
  const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
  const flagged = order.filter((i) => scores[i] > forest.threshold).length;
  const top = Math.min(x.rows, options.top ?? Math.max(20, flagged));
  const chosen = order.slice(0, top);
  const medians = features.map((_, j) => median(raw, j));
  const { columns: sourceColumns, rows } = await sourceRows(ws, chosen);
  const out = chosen.map((i, rank) => {
    const why = forest
      .explain(x, i)
      .filter((a) => a.share >= 0.05)
      .slice(0, 3)
      .map((a) => {
        const j = features.indexOf(a.feature);
        return `${a.feature} ${Math.round(a.share * 100)}% (${fmt(raw.data[i * raw.cols + j])} vs median ${fmt(medians[j])})`;
      });
    return {
      rank: rank + 1,
      score: Math.round(scores[i] * 1e6) / 1e6,
      outlier: scores[i] > forest.threshold,
      ...rows.get(i),
      reasons: why.join('; '),
    } as Row;
  });
  return {
    columns: ['rank', 'score', 'outlier', ...sourceColumns, 'reasons'],
    rows: out,
    flagged,
    total: x.rows,
    threshold: forest.threshold,
  };
}
