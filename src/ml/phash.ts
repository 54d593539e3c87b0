/**
 * Perceptual hash of a picture (the DCT hash of Zauner, "Implementation and Benchmarking of
 * Perceptual Image Hash Functions", 2010, as pHash and imagehash compute it): grey levels, scaled
 * to 32 × 32 by area averaging, 2-D DCT-II, the 8 × 8 lowest frequencies, each bit set when its
 * coefficient is above their median. Resizing, re-encoding and small crops move few of the 64
 * bits; another picture differs in about half. Compared by Hamming distance.
 *
 * Pure functions over pixel arrays; decoding (JPEG, PNG) is decode-picture.ts (jpeg-js and pngjs),
 * apart so that what only compares hashes loads no decoder.
 */
export interface Picture {
  width: number;
  height: number;
  /** RGBA, 4 bytes a pixel, row by row. */
  data: Uint8Array;
}

/** Grey levels (ITU-R BT.601 luma) scaled to size × size by averaging the source area of each cell. */
export function greyThumbnail(picture: Picture, size: number): Float64Array {
  const { width, height, data } = picture;
  const out = new Float64Array(size * size);
  for (let y = 0; y < size; y++) {
    const y0 = (y * height) / size;
    const y1 = ((y + 1) * height) / size;
    for (let x = 0; x < size; x++) {
      const x0 = (x * width) / size;
      const x1 = ((x + 1) * width) / size;
      let sum = 0;
      let weight = 0;
      for (let sy = Math.floor(y0); sy < Math.ceil(y1); sy++) {
        const wy = Math.min(y1, sy + 1) - Math.max(y0, sy);
        for (let sx = Math.floor(x0); sx < Math.ceil(x1); sx++) {
          const w = wy * (Math.min(x1, sx + 1) - Math.max(x0, sx));
          const p = (sy * width + sx) * 4;
          sum += w * (0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2]);
          weight += w;
        }
      }
      out[y * size + x] = weight > 0 ? sum / weight : 0;
    }
  }
  return out;
}

/** The 64-bit DCT hash as 16 hex digits. */
export function perceptualHash(picture: Picture): string {
  const N = 32;
  const grey = greyThumbnail(picture, N);
  // Separable DCT-II, only the 8 lowest frequencies in each direction are needed.
  const K = 8;
  const cos = new Float64Array(K * N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) cos[k * N + n] = Math.cos((Math.PI * (2 * n + 1) * k) / (2 * N));
  const rows = new Float64Array(N * K);
  for (let y = 0; y < N; y++)
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let x = 0; x < N; x++) s += grey[y * N + x] * cos[k * N + x];
      rows[y * K + k] = s;
    }
  const coefficients = new Float64Array(K * K);
  for (let u = 0; u < K; u++)
    for (let v = 0; v < K; v++) {
      let s = 0;
      for (let y = 0; y < N; y++) s += rows[y * K + v] * cos[u * N + y];
      coefficients[u * K + v] = s;
    }
  const median = [...coefficients].sort((a, b) => a - b)[(K * K) / 2];
  let hex = '';
  for (let nibble = 0; nibble < 16; nibble++) {
    let value = 0;
    for (let b = 0; b < 4; b++) value = (value << 1) | (coefficients[nibble * 4 + b] > median ? 1 : 0);
    hex += value.toString(16);
  }
  return hex;
}

export function hammingDistance(a: string, b: string): number {
  if (a.length !== b.length) throw new Error('hashes of different lengths');
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    let x = parseInt(a[i], 16) ^ parseInt(b[i], 16);
    while (x) {
      d += x & 1;
      x >>= 1;
    }
  }
  return d;
}

/** At or below this many differing bits (of 64), two pictures are taken for the same photo. */
export const SAME_PICTURE_BITS = 10;
