// torchvision's ImageClassification preset on 8-bit pixels: resize of the shorter side, centre
// crop (zero padding when the image is smaller), /255, (x - mean) / std, NCHW float32, batched.
import { ShapeError, Tensor, type Architecture, type Preprocessing } from '@cnn/core';
import { resizePixels } from './resample.js';
import { toGray, toRgb, type Pixels } from './pixels.js';

/** torchvision's _compute_resized_output_size for one requested size: [height, width]. */
export function shorterSideSize(width: number, height: number, size: number): [number, number] {
  const [short, long] = width <= height ? [width, height] : [height, width];
  // Python's int(size * long / short): a float division, then truncation
  const newLong = Math.trunc((size * long) / short);
  return width <= height ? [newLong, size] : [size, newLong];
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision's center_crop on a PIL image: pad with zeros if smaller, then crop around the centre. */
export function centerCrop(p: Pixels, cropHeight: number, cropWidth: number): Pixels {
  let src = p;
  if (cropWidth > p.width || cropHeight > p.height) {
    const left = cropWidth > p.width ? Math.floor((cropWidth - p.width) / 2) : 0;
    const top = cropHeight > p.height ? Math.floor((cropHeight - p.height) / 2) : 0;
    const width = Math.max(cropWidth, p.width);
    const height = Math.max(cropHeight, p.height);
    const data = new Uint8Array(width * height * p.channels);
    const row = p.width * p.channels;
    for (let y = 0; y < p.height; y++) data.set(p.data.subarray(y * row, (y + 1) * row), ((y + top) * width + left) * p.channels);
    src = { width, height, channels: p.channels, data };
    if (width === cropWidth && height === cropHeight) return src;
  }
  const top = roundHalfEven((src.height - cropHeight) / 2);
  const left = roundHalfEven((src.width - cropWidth) / 2);
  const ch = src.channels;
  const out = new Uint8Array(cropWidth * cropHeight * ch);
  for (let y = 0; y < cropHeight; y++) {
    const from = ((y + top) * src.width + left) * ch;
    out.set(src.data.subarray(from, from + cropWidth * ch), y * cropWidth * ch);
  }
  return { width: cropWidth, height: cropHeight, channels: ch, data: out };
}

/**
 * The 8-bit image a preset feeds the network: converted to `channels` (3: Pillow's 'RGB', 1: 'L'),
 * shorter side resized to `resizeSize`, centre-cropped to `cropSize`.
 */
export function resizeAndCrop(p: Pixels, preset: Preprocessing, channels: 1 | 3 = 3): Pixels {
  const converted = channels === 3 ? toRgb(p) : toGray(p);
  const [h, w] = shorterSideSize(converted.width, converted.height, preset.resizeSize);
  return centerCrop(resizePixels(converted, w, h, preset.interpolation), preset.cropSize, preset.cropSize);
}

/**
 * Writes cropped 8-bit pixels into `out` at image `index` of an NCHW batch, in float32 exactly as
 * torch computes it: convert_image_dtype (x / 255), then normalize's sub_(mean).div_(std).
 */
export function normalizeInto(p: Pixels, preset: Preprocessing, out: Float32Array, index: number): void {
  const plane = p.width * p.height;
  const ch = p.channels;
  const base = index * plane * ch;
  for (let c = 0; c < ch; c++) {
    const mean = Math.fround(preset.mean[c]);
    const std = Math.fround(preset.std[c]);
    const dst = base + c * plane;
    // double arithmetic rounded to float32 after each step is float32 arithmetic (53 >= 2*24 + 2 bits)
    for (let i = 0; i < plane; i++) out[dst + i] = Math.fround(Math.fround(p.data[i * ch + c] / 255) - mean) / std;
  }
}

/** Preprocesses a batch of images into one [n, channels, crop, crop] tensor. */
export function preprocessBatch(images: readonly Pixels[], preset: Preprocessing, channels: 1 | 3 = 3): Tensor {
  if (images.length === 0) throw new ShapeError('expected at least one image, got none');
  checkPreset(preset, channels);
  const size = preset.cropSize;
  const out = new Float32Array(images.length * channels * size * size);
  images.forEach((image, i) => normalizeInto(resizeAndCrop(image, preset, channels), preset, out, i));
  return new Tensor([images.length, channels, size, size], out);
}

function checkPreset(preset: Preprocessing, channels: number): void {
  for (const key of ['resizeSize', 'cropSize'] as const) {
    const v = preset[key];
    if (!Number.isSafeInteger(v) || v < 1) throw new ShapeError(`preprocessing.${key} must be a positive integer, got ${v}`);
  }
  if (preset.mean.length < channels || preset.std.length < channels) {
    throw new ShapeError(`preprocessing mean and std need ${channels} values, got ${preset.mean.length} and ${preset.std.length}`);
  }
}

/**
 * The preset of an architecture: its torchvision weights preset when it has one; otherwise (LeNet)
 * a plain resize to the input size, mean 0.5 and std 0.5 per channel, as MNIST-style training uses.
 */
export function presetFor(architecture: Architecture): Preprocessing {
  if (architecture.metadata.preprocessing) return architecture.metadata.preprocessing;
  const [, h, w] = architecture.inputShape;
  if (h !== w) throw new ShapeError(`${architecture.name} has no preprocessing preset and a non-square input ${h}x${w}; pass one`);
  return { resizeSize: h, cropSize: h, interpolation: 'bilinear', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
}
