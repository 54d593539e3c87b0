/**
 * Feature scaling, fitted on one matrix and applied to any other with the same features.
 * - standard: (x − mean) / standard deviation
 * - robust:   (x − median) / IQR, so a few huge outliers do not squash everyone else
 * - minmax:   (x − min) / (max − min)
 * - log1p:    ln(1 + x), for counts and byte sizes (heavy right tails); needs x > −1
 * A constant feature cannot be scaled (its spread is 0) and carries no information: it is an
 * error naming the feature, not a silent division by zero.
 */
import { assertFinite, MlError, type Matrix } from './matrix.ts';

export const SCALERS = ['none', 'standard', 'robust', 'minmax', 'log1p'] as const;
export type ScalerKind = (typeof SCALERS)[number];

export interface Scaler {
  kind: ScalerKind;
  center: Float64Array;
  scale: Float64Array;
  transform(m: Matrix): Matrix;
  /** Back to original units (cluster centroids are shown in them). */
  inverse(values: Float64Array): Float64Array;
}

function sortedColumn(m: Matrix, j: number): Float64Array {
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) out[i] = m.data[i * m.cols + j];
  return out.sort();
}

/** Quantile by linear interpolation between closest ranks (numpy's default). */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const position = (sorted.length - 1) * q;
  const lo = Math.floor(position);
  const hi = Math.ceil(position);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo);
}

/** `weights` (row multiplicities) are for the standard and min-max scalers: as if each row came that many times. */
export function fitScaler(kind: ScalerKind, m: Matrix, weights?: Float64Array): Scaler {
  assertFinite(m);
  if (weights && kind !== 'standard' && kind !== 'minmax' && kind !== 'none') throw new MlError(`the ${kind} scaler takes no row weights`);
  const w = (i: number) => (weights ? weights[i] : 1);
  const center = new Float64Array(m.cols);
  const scale = new Float64Array(m.cols).fill(1);
  for (let j = 0; j < m.cols; j++) {
    const name = m.names[j];
    if (kind === 'log1p') {
      const sorted = sortedColumn(m, j);
      if (sorted[0] <= -1) throw new MlError(`feature ${name} has ${sorted[0]}; log1p needs values above -1`, name);
      continue;
    }
    if (kind === 'none') continue;
    const sorted = sortedColumn(m, j);
    let spread: number;
    if (kind === 'standard') {
      // In row order (not sorted) so that a weight stays with its row.
      let sum = 0;
      let count = 0;
      for (let i = 0; i < m.rows; i++) {
        sum += w(i) * m.data[i * m.cols + j];
        count += w(i);
      }
      const mean = sum / count;
      let squares = 0;
      for (let i = 0; i < m.rows; i++) squares += w(i) * (m.data[i * m.cols + j] - mean) ** 2;
      center[j] = mean;
      spread = Math.sqrt(squares / count);
    } else if (kind === 'robust') {
      center[j] = quantile(sorted, 0.5);
      spread = quantile(sorted, 0.75) - quantile(sorted, 0.25);
    } else {
      center[j] = sorted[0];
      spread = sorted[sorted.length - 1] - sorted[0];
    }
    if (!(spread > 0)) {
      const why = kind === 'robust' ? 'its interquartile range is 0 (most values are equal)' : 'it is constant';
      throw new MlError(`feature ${name} cannot be ${kind}-scaled: ${why}; drop it or choose another scaler`, name);
    }
    scale[j] = spread;
  }
  const transform = (input: Matrix): Matrix => {
    if (input.cols !== m.cols) throw new MlError(`expected ${m.cols} features, got ${input.cols}`);
    assertFinite(input);
    const data = new Float64Array(input.data.length);
    for (let i = 0; i < input.rows; i++) {
      for (let j = 0; j < input.cols; j++) {
        const v = input.data[i * input.cols + j];
        data[i * input.cols + j] = kind === 'log1p' ? Math.log1p(v) : (v - center[j]) / scale[j];
      }
    }
    return { rows: input.rows, cols: input.cols, data, names: input.names };
  };
  const inverse = (values: Float64Array): Float64Array =>
    values.map((v, j) => (kind === 'log1p' ? Math.expm1(v) : v * scale[j] + center[j]));
  return { kind, center, scale, transform, inverse };
}
