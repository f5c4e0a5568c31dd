// Preprocessing against torchvision's transforms on Pillow images: decode, convert('RGB'/'L'),
// resize of the shorter side, centre crop, normalisation, on skimage's photographs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImage } from './node.js';
import { preprocessBatch, resizeAndCrop } from './preprocess.js';
import { toRgb, type Pixels } from './pixels.js';
import { runReference, SKIMAGE, writeModeImages, type ReferenceImage, type ReferencePreset } from './test-reference.js';

const imagenet = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;
const PRESETS: ReferencePreset[] = [
  { resizeSize: 256, cropSize: 224, interpolation: 'bilinear', ...imagenet }, // resnet18, mobilenet_v2 ...
  { resizeSize: 256, cropSize: 224, interpolation: 'bicubic', ...imagenet }, // efficientnet_b0
  { resizeSize: 342, cropSize: 299, interpolation: 'bilinear', ...imagenet }, // inception_v3 (upscales small images)
  { resizeSize: 232, cropSize: 224, interpolation: 'nearest', ...imagenet },
  { resizeSize: 32, cropSize: 32, interpolation: 'bilinear', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], channels: 1 }, // lenet5
];
const PHOTOS = ['astronaut.png', 'chelsea.png', 'coffee.png', 'camera.png', 'horse.png', 'green_palette.png', 'foo3x5x4indexed.png', 'checker_bilevel.png', 'rocket.jpg'];
const JPEGS = new Set(['rocket.jpg']);

let dir: string;
let files: string[];
let reference: ReferenceImage[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cnn-vision-modes-'));
  files = [...PHOTOS.map((f) => join(SKIMAGE, f)), ...writeModeImages(dir)];
  reference = runReference({ images: files, presets: PRESETS }).images;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

const pillowRgb = (r: ReferenceImage): Pixels => ({ width: r.size[0], height: r.size[1], channels: 3, data: r.decoded });

describe('preprocessing matches torchvision on Pillow images', () => {
  it('decodes every PNG to the bytes Pillow gives after convert("RGB")', async () => {
    for (const [i, file] of files.entries()) {
      if (JPEGS.has(file.split('/').pop()!)) continue;
      const ours = await readImage(file);
      expect([ours.width, ours.height], file).toEqual(reference[i].size);
      expect(maxDiff(toRgb(ours).data, reference[i].decoded), `${file} (${reference[i].mode})`).toBe(0);
    }
  });

  it('resizes and crops Pillow-decoded pixels to the same uint8 values as Pillow (all presets)', () => {
    for (const r of reference) {
      PRESETS.forEach((preset, j) => {
        const ours = resizeAndCrop(pillowRgb(r), preset, preset.channels ?? 3);
        expect(maxDiff(ours.data, r.presets[j].resized), `${r.path} ${preset.interpolation} ${preset.resizeSize}/${preset.cropSize}`).toBe(0);
      });
    }
  });

  it('normalises to torchvision’s float32 tensor bit for bit, batched', () => {
    PRESETS.forEach((preset, j) => {
      const batch = preprocessBatch(reference.map(pillowRgb), preset, preset.channels ?? 3);
      const per = batch.data.length / reference.length;
      reference.forEach((r, i) => {
        expect(maxDiff(batch.data.subarray(i * per, (i + 1) * per), r.presets[j].tensor), `${r.path} preset ${j}`).toBe(0);
      });
    });
  });

  it('decodes JPEG within a few levels of Pillow (libjpeg-turbo), and the network input within 4 levels', async () => {
    const i = files.findIndex((f) => f.endsWith('rocket.jpg'));
    const ours = await readImage(files[i]);
    const decoded = maxDiff(toRgb(ours).data, reference[i].decoded);
    const tensor = maxDiff(preprocessBatch([ours], PRESETS[0]).data, reference[i].presets[0].tensor);
    console.log(`rocket.jpg: jpeg-js vs Pillow decode max ${decoded} levels; after resize+crop+normalise max ${tensor.toFixed(4)}`);
    expect(decoded).toBeLessThanOrEqual(JPEG_DECODE_LEVELS);
    expect(tensor).toBeLessThanOrEqual(JPEG_TENSOR);
  });
});

// jpeg-js's IDCT and chroma upsampling are not libjpeg-turbo's: a few levels apart (README).
const JPEG_DECODE_LEVELS = 4;
const JPEG_TENSOR = 4 / 255 / 0.224;
