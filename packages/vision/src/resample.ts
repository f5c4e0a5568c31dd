// Pillow's Image.resize for 8-bit images, reproduced step for step: separable convolution whose
// support widens with the downscale factor (antialiasing), coefficients rounded to 22-bit fixed
// point, horizontal pass then vertical pass, each rounded back to uint8.
import { ShapeError } from '@cnn/core';
import type { Pixels } from './pixels.js';

export type Interpolation = 'bilinear' | 'bicubic' | 'nearest';

interface Filter {
  readonly support: number;
  weight(x: number): number;
}

const FILTERS: Record<'bilinear' | 'bicubic', Filter> = {
  bilinear: {
    support: 1,
    weight(x) {
      if (x < 0) x = -x;
      return x < 1 ? 1 - x : 0;
    },
  },
  // Keys' cubic with a = -0.5, written in Pillow's operation order so the doubles agree bit for bit.
  bicubic: {
    support: 2,
    weight(x) {
      const a = -0.5;
      if (x < 0) x = -x;
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
};

/** Pillow's PRECISION_BITS for 8-bit images: 32 - 8 - 2. */
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

interface Coefficients {
  /** taps per output sample (unused tail entries are 0) */
  readonly taps: number;
  /** first input index per output sample */
  readonly start: Int32Array;
  /** number of used taps per output sample */
  readonly count: Int32Array;
  /** fixed-point weights, [outSize][taps] */
  readonly weights: Int32Array;
}

/** Pillow's precompute_coeffs followed by normalize_coeffs_8bpc. */
function coefficients(inSize: number, outSize: number, filter: Filter): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const k = new Float64Array(taps);
  const inverse = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero; both bounds are then clamped to the image
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.weight((x + xmin - center + 0.5) * inverse);
      k[x] = w;
      total += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = total !== 0 ? k[x] / total : k[x];
      weights[xx * taps + x] = Math.trunc(w < 0 ? -0.5 + w * ONE : 0.5 + w * ONE);
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { taps, start, count, weights };
}

/**
 * Pillow's clip8: arithmetic shift (floor) then clamp to 0..255. Sums stay within int32 as in
 * Pillow's C (255 x the largest absolute weight sum, 1.3 x 2^22 for bicubic, is below 2^31).
 */
function clip8(sum: number): number {
  const v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function resampleHorizontal(src: Pixels, rowFirst: number, rows: number, outWidth: number, c: Coefficients): Pixels {
  const ch = src.channels;
  const out = new Uint8Array(outWidth * rows * ch);
  const data = src.data;
  const { start, count, weights, taps } = c;
  const inRow = src.width * ch;
  for (let y = 0; y < rows; y++) {
    const rowBase = (y + rowFirst) * inRow;
    const outBase = y * outWidth * ch;
    for (let xx = 0; xx < outWidth; xx++) {
      const n = count[xx];
      const wBase = xx * taps;
      const from = rowBase + start[xx] * ch;
      const o = outBase + xx * ch;
      if (ch === 3) {
        // the three channels share each weight, as in Pillow's ImagingResampleHorizontal_8bpc
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        for (let x = 0; x < n; x++) {
          const w = weights[wBase + x];
          const p = from + x * 3;
          s0 += data[p] * w;
          s1 += data[p + 1] * w;
          s2 += data[p + 2] * w;
        }
        out[o] = clip8(s0);
        out[o + 1] = clip8(s1);
        out[o + 2] = clip8(s2);
      } else {
        for (let b = 0; b < ch; b++) {
          let sum = HALF;
          for (let x = 0; x < n; x++) sum += data[from + x * ch + b] * weights[wBase + x];
          out[o + b] = clip8(sum);
        }
      }
    }
  }
  return { width: outWidth, height: rows, channels: ch, data: out };
}

function resampleVertical(src: Pixels, rowOffset: number, outHeight: number, c: Coefficients): Pixels {
  const rowLength = src.width * src.channels;
  const out = new Uint8Array(rowLength * outHeight);
  const data = src.data;
  const { start, count, weights, taps } = c;
  // one accumulator per value of the output row, filled tap row by tap row: sequential reads
  const sums = new Int32Array(rowLength);
  for (let yy = 0; yy < outHeight; yy++) {
    const first = start[yy] - rowOffset;
    const n = count[yy];
    const wBase = yy * taps;
    sums.fill(HALF);
    for (let y = 0; y < n; y++) {
      const w = weights[wBase + y];
      const row = (first + y) * rowLength;
      for (let i = 0; i < rowLength; i++) sums[i] += data[row + i] * w;
    }
    const o = yy * rowLength;
    for (let i = 0; i < rowLength; i++) out[o + i] = clip8(sums[i]);
  }
  return { width: src.width, height: outHeight, channels: src.channels, data: out };
}

/**
 * Pillow's nearest-neighbour resize (ImagingScaleAffine): the source coordinate starts at half
 * a step and is accumulated by repeated addition, then truncated.
 */
function resizeNearest(src: Pixels, width: number, height: number): Pixels {
  const ch = src.channels;
  const column = (inSize: number, outSize: number) => {
    const step = inSize / outSize;
    const table = new Int32Array(outSize);
    let pos = step * 0.5;
    for (let i = 0; i < outSize; i++, pos += step) table[i] = Math.min(Math.trunc(pos), inSize - 1);
    return table;
  };
  const xs = column(src.width, width);
  const ys = column(src.height, height);
  const out = new Uint8Array(width * height * ch);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (ys[y] * src.width + xs[x]) * ch;
      for (let b = 0; b < ch; b++) out[(y * width + x) * ch + b] = src.data[from + b];
    }
  }
  return { width, height, channels: ch, data: out };
}

/** Resizes 8-bit pixels to width x height exactly as Pillow's `Image.resize(size, filter)` does. */
export function resizePixels(src: Pixels, width: number, height: number, interpolation: Interpolation): Pixels {
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1) {
    throw new ShapeError(`resize target must be positive integers, got ${width}x${height}`);
  }
  if (width === src.width && height === src.height) return src;
  if (interpolation === 'nearest') return resizeNearest(src, width, height);
  const filter = FILTERS[interpolation];
  if (!filter) throw new ShapeError(`interpolation must be 'bilinear', 'bicubic' or 'nearest', got '${String(interpolation)}'`);
  const horizontal = coefficients(src.width, width, filter);
  const vertical = coefficients(src.height, height, filter);
  // Like Pillow, the horizontal pass covers only the rows the vertical pass reads.
  const rowFirst = vertical.start[0];
  const rowLast = vertical.start[height - 1] + vertical.count[height - 1];
  let image = src;
  let rowOffset = 0;
  if (width !== src.width) {
    image = resampleHorizontal(src, rowFirst, rowLast - rowFirst, width, horizontal);
    rowOffset = rowFirst;
  }
  return height !== src.height ? resampleVertical(image, rowOffset, height, vertical) : image;
}
