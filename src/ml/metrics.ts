/** Agreement and quality measures for benchmarks and tests (ranking, correlation, partitions). */

/** Average ranks (1-based), ties sharing the mean of their positions. */
export function ranks(values: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const out = new Float64Array(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]] === values[order[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k]] = rank;
    i = j + 1;
  }
  return out;
}

/** ROC AUC of scores against 0/1 labels (Mann–Whitney U; ties count half). */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const r = ranks(scores);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]) {
      positives++;
      rankSum += r[i];
    }
  }
  const negatives = labels.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    cov += (a[i] - ma) * (b[i] - mb);
    va += (a[i] - ma) ** 2;
    vb += (b[i] - mb) ** 2;
  }
  return cov / Math.sqrt(va * vb);
}

export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(ranks(a), ranks(b));
}

/** Adjusted Rand index of two partitions (1 = identical up to renaming, ~0 = chance). */
export function adjustedRand(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const table = new Map<string, number>();
  const rowSums = new Map<number, number>();
  const colSums = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    const key = `${a[i]}:${b[i]}`;
    table.set(key, (table.get(key) ?? 0) + 1);
    rowSums.set(a[i], (rowSums.get(a[i]) ?? 0) + 1);
    colSums.set(b[i], (colSums.get(b[i]) ?? 0) + 1);
  }
  const pairs = (n: number) => (n * (n - 1)) / 2;
  let index = 0;
  for (const n of table.values()) index += pairs(n);
  let sumA = 0;
  let sumB = 0;
  for (const n of rowSums.values()) sumA += pairs(n);
  for (const n of colSums.values()) sumB += pairs(n);
  const expected = (sumA * sumB) / pairs(a.length);
  const max = (sumA + sumB) / 2;
  return max === expected ? 1 : (index - expected) / (max - expected);
}
