// 8-bit pixel buffers and Pillow's mode conversions to 'RGB' and 'L' (what torchvision's
// pipelines call before resizing: `Image.open(f).convert('RGB')`, or 'L' for grayscale nets).
import { ShapeError } from '@cnn/core';

/** Interleaved 8-bit pixels: 1 = gray ('L'), 2 = gray + alpha ('LA'), 3 = RGB, 4 = RGBA. */
export interface Pixels {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
  readonly data: Uint8Array;
}

/** Raw pixels as an app has them; `channels` defaults to data.length / (width * height). */
export interface PixelsInput {
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
  readonly channels?: 1 | 2 | 3 | 4;
}

/** Checks sizes and wraps raw pixels without copying. */
export function toPixels(input: PixelsInput): Pixels {
  const { width, height } = input;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1) {
    throw new ShapeError(`image width and height must be positive integers, got ${width}x${height}`);
  }
  const data = input.data;
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new ShapeError(`image data must be a Uint8Array or Uint8ClampedArray, got ${describe(data)}`);
  }
  const count = width * height;
  const channels = (input.channels ?? data.length / count) as Pixels['channels'];
  if (![1, 2, 3, 4].includes(channels)) {
    throw new ShapeError(
      input.channels === undefined
        ? `${data.length} bytes is not 1, 2, 3 or 4 channels of a ${width}x${height} image (expected ${count}, ${2 * count}, ${3 * count} or ${4 * count})`
        : `channels must be 1, 2, 3 or 4, got ${input.channels}`,
    );
  }
  if (data.length !== count * channels) {
    throw new ShapeError(`expected ${count * channels} bytes for a ${width}x${height} image with ${channels} channel(s), got ${data.length}`);
  }
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.length);
  return { width, height, channels, data: bytes };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return (v as object).constructor?.name ?? 'object';
}

/**
 * Pillow's convert('RGB'): gray is replicated, alpha is dropped (not composited over a
 * background), so transparent pixels keep whatever colour they store.
 */
export function toRgb(p: Pixels): Pixels {
  if (p.channels === 3) return p;
  const n = p.width * p.height;
  const out = new Uint8Array(n * 3);
  const ch = p.channels;
  for (let i = 0; i < n; i++) {
    if (ch <= 2) {
      const v = p.data[i * ch];
      out[i * 3] = v;
      out[i * 3 + 1] = v;
      out[i * 3 + 2] = v;
    } else {
      out[i * 3] = p.data[i * ch];
      out[i * 3 + 1] = p.data[i * ch + 1];
      out[i * 3 + 2] = p.data[i * ch + 2];
    }
  }
  return { width: p.width, height: p.height, channels: 3, data: out };
}

/** Pillow's convert('L'): ITU-R 601-2 luma in 16-bit fixed point (L24 in Convert.c); alpha dropped. */
export function toGray(p: Pixels): Pixels {
  if (p.channels === 1) return p;
  const n = p.width * p.height;
  const out = new Uint8Array(n);
  const ch = p.channels;
  for (let i = 0; i < n; i++) {
    const o = i * ch;
    out[i] = ch <= 2 ? p.data[o] : (p.data[o] * 19595 + p.data[o + 1] * 38470 + p.data[o + 2] * 7471 + 0x8000) >>> 16;
  }
  return { width: p.width, height: p.height, channels: 1, data: out };
}
