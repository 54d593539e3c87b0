/**
 * The outlier detectors hunts can use, behind one contract (tested by one shared suite):
 * fitted and scored on the same rows, higher score = more anomalous, deterministic under a seed.
 */
import { IsolationForest } from './iforest.ts';
import { kmeans } from './kmeans.ts';
import type { Matrix } from './matrix.ts';
import { fitScaler } from './scaling.ts';

export interface Detector {
  readonly name: string;
  /** The range every score falls in, inclusive. */
  readonly range: readonly [number, number];
  fitScore(x: Matrix, seed: number): Float64Array;
}

export const isolationForestDetector: Detector = {
  name: 'isolation-forest',
  range: [0, 1],
  fitScore: (x, seed) => new IsolationForest({ seed }).fit(x).scoreSamples(x),
};

/** Distance to the nearest of k centroids on standardised features: far from every cluster = odd. */
export function kmeansDistanceDetector(k = 3): Detector {
  return {
    name: `kmeans-distance(k=${k})`,
    range: [0, Infinity],
    fitScore: (x, seed) => {
      const scaled = fitScaler('standard', x).transform(x);
      const result = kmeans(scaled, { k, seed });
      const scores = new Float64Array(x.rows);
      for (let i = 0; i < x.rows; i++) {
        const c = result.labels[i];
        let sum = 0;
        for (let j = 0; j < x.cols; j++) sum += (scaled.data[i * x.cols + j] - result.centroids[c * x.cols + j]) ** 2;
        scores[i] = Math.sqrt(sum);
      }
      return scores;
    },
  };
}

export const DETECTORS: readonly Detector[] = [isolationForestDetector, kmeansDistanceDetector(3)];
