/**
 * `huntbook cluster`: k-means over chosen numeric columns (k given or chosen by silhouette), with
 * per-cluster summaries a hunter reads first: size, share, centroid and mean of each feature.
 */
import { chooseK, kmeans, type KChoice } from '../ml/kmeans.ts';
import { fitScaler, type ScalerKind } from '../ml/scaling.ts';
import type { Row, Workspace } from '../store/workspace.ts';
import { featureMatrix, loadSource, parseFeatures, sourceRows } from './source.ts';

export interface ClusterOptions {
  features: string;
  k: number | 'auto';
  seed?: number;
  nInit?: number;
  scale?: ScalerKind;
  maxK?: number;
}

export interface ClusterResult {
  columns: string[];
  rows: Row[];
  summaryColumns: string[];
  summary: Row[];
  choice?: KChoice;
}

const round = (v: number) => Math.round(v * 1e4) / 1e4;

export async function clusterSource(ws: Workspace, source: string, options: ClusterOptions): Promise<ClusterResult> {
  const { columns } = await loadSource(ws, source);
  const features = parseFeatures(options.features, columns);
  const raw = await featureMatrix(ws, features);
  const scaler = fitScaler(options.scale ?? 'standard', raw);
  const x = scaler.transform(raw);
  const seed = options.seed ?? 1;
  const choice = options.k === 'auto' ? chooseK(x, { seed, maxK: options.maxK }) : undefined;
  const k = choice?.k ?? (options.k as number);
  const result = kmeans(x, { k, seed, nInit: options.nInit ?? 10 });
  const summary: Row[] = [];
  for (let c = 0; c < k; c++) {
    const centroid = scaler.inverse(result.centroids.slice(c * x.cols, (c + 1) * x.cols));
    const means = new Float64Array(x.cols);
    for (let i = 0; i < x.rows; i++) if (result.labels[i] === c) for (let j = 0; j < x.cols; j++) means[j] += raw.data[i * x.cols + j];
    const row: Row = { cluster: c, size: result.sizes[c], share: round(result.sizes[c] / x.rows) };
    features.forEach((f, j) => {
      row[`centroid_${f}`] = round(centroid[j]);
      row[`mean_${f}`] = round(means[j] / Math.max(1, result.sizes[c]));
    });
    summary.push(row);
  }
  const all = Array.from({ length: x.rows }, (_, i) => i);
  const { columns: sourceColumns, rows } = await sourceRows(ws, all);
  // Smallest clusters first: the outlying groups are what a hunter looks at.
  const order = all.sort(
    (a, b) => result.sizes[result.labels[a]] - result.sizes[result.labels[b]] || result.labels[a] - result.labels[b] || a - b,
  );
  const out = order.map((i) => ({ cluster: result.labels[i], cluster_size: result.sizes[result.labels[i]], ...rows.get(i) }) as Row);
  return {
    columns: ['cluster', 'cluster_size', ...sourceColumns],
    rows: out,
    summaryColumns: ['cluster', 'size', 'share', ...features.flatMap((f) => [`centroid_${f}`, `mean_${f}`])],
    summary,
    choice,
  };
}
