import { HuntbookError } from '../errors.ts';

/**
 * A numeric table for the learners: row-major Float64Array plus feature names, so an error or an
 * explanation can say which feature it means.
 */
/** A learner refused its input (too few rows for k, a NaN, a constant column): exit 1, the feature named. */
export class MlError extends HuntbookError {
  constructor(
    message: string,
    readonly feature?: string,
  ) {
    super(message, { location: feature ? { field: feature } : {} });
  }
}

export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  /** Row-major: value (i, j) at data[i * cols + j]. */
  readonly data: Float64Array;
  readonly names: readonly string[];
}

export function matrix(rows: readonly (readonly number[])[], names?: readonly string[]): Matrix {
  const cols = rows[0]?.length ?? names?.length ?? 0;
  const data = new Float64Array(rows.length * cols);
  rows.forEach((row, i) => {
    if (row.length !== cols) throw new MlError(`row ${i} has ${row.length} values, expected ${cols}`);
    data.set(row, i * cols);
  });
  return { rows: rows.length, cols, data, names: names ?? Array.from({ length: cols }, (_, j) => `x${j}`) };
}

/**
 * Rows of named numbers (feature rows a hunt computed in SQL) as a matrix of the chosen
 * columns, in that order: the one rows → matrix path every hunt uses. Missing values are 0.
 */
export function fromRecords(rows: readonly Readonly<Record<string, unknown>>[], names: readonly string[]): Matrix {
  const data = new Float64Array(rows.length * names.length);
  rows.forEach((row, i) => names.forEach((name, j) => (data[i * names.length + j] = Number(row[name] ?? 0))));
  return { rows: rows.length, cols: names.length, data, names: [...names] };
}

export function column(m: Matrix, j: number): Float64Array {
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) out[i] = m.data[i * m.cols + j];
  return out;
}

/** NaN and ±Infinity have no place in a distance or a split: refuse them, naming the feature and row. */
export function assertFinite(m: Matrix): void {
  for (let i = 0; i < m.rows; i++) {
    for (let j = 0; j < m.cols; j++) {
      const value = m.data[i * m.cols + j];
      if (!Number.isFinite(value)) {
        throw new MlError(
          `feature ${m.names[j]} is ${value} at row ${i + 1}; every value must be a finite number (filter or fill it first)`,
          m.names[j],
        );
      }
    }
  }
}

/** The matrix without columns that never vary (they carry nothing and cannot be scaled). */
export function dropConstantColumns(m: Matrix): Matrix {
  const keep: number[] = [];
  for (let j = 0; j < m.cols; j++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < m.rows; i++) {
      const v = m.data[i * m.cols + j];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (hi > lo) keep.push(j);
  }
  const data = new Float64Array(m.rows * keep.length);
  for (let i = 0; i < m.rows; i++) keep.forEach((j, c) => (data[i * keep.length + c] = m.data[i * m.cols + j]));
  return { rows: m.rows, cols: keep.length, data, names: keep.map((j) => m.names[j]) };
}
