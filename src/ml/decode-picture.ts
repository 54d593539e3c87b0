/** JPEG and PNG bytes to RGBA pixels for the perceptual hash (jpeg-js and pngjs). */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { Picture } from './phash.ts';

/** Pictures larger than this (pixels) are refused: a profile picture is small, a bomb is not. */
const MAX_PIXELS = 40_000_000;

export function decodePicture(bytes: Uint8Array): Picture {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 512 });
    return { width: image.width, height: image.height, data: image.data };
  }
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    const image = PNG.sync.read(Buffer.from(bytes));
    if (image.width * image.height > MAX_PIXELS) throw new Error(`picture of ${image.width} × ${image.height} pixels is too large`);
    return { width: image.width, height: image.height, data: new Uint8Array(image.data) };
  }
  throw new Error('not a JPEG or PNG picture');
}
