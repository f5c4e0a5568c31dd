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
  { resizeSize: 32, cropSize: 32, interpolation: 'bilinear', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], channels: 1 }, // 32x32 grayscale, no preset
  { resizeSize: 28, cropSize: 32, interpolation: 'bilinear', mean: [0.286, 0.286, 0.286], std: [0.353, 0.353, 0.353], channels: 1 }, // lenet5 (Fashion-MNIST weights): the crop pads
];
const JPEGS = ['rocket.jpg', 'retina.jpg', 'hubble_deep_field.jpg'];
const PHOTOS = ['astronaut.png', 'chelsea.png', 'coffee.png', 'camera.png', 'horse.png', 'green_palette.png', 'foo3x5x4indexed.png', 'checker_bilevel.png', ...JPEGS];

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
      if (JPEGS.includes(file.split('/').pop()!)) continue;
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

  it('decodes JPEG a few levels from Pillow (libjpeg-turbo), and the network input within 3 levels', async () => {
    for (const name of JPEGS) {
      const i = files.findIndex((f) => f.endsWith(name));
      const ours = toRgb(await readImage(files[i]));
      const r = reference[i];
      const decoded = maxDiff(ours.data, r.decoded);
      const mean = ours.data.reduce((s, v, k) => s + Math.abs(v - r.decoded[k]), 0) / ours.data.length;
      const tensor = maxDiff(preprocessBatch([ours], PRESETS[0]).data, r.presets[0].tensor);
      console.log(`${name}: jpeg-js vs Pillow decode max ${decoded} levels, mean ${mean.toFixed(2)}; network input max ${tensor.toFixed(4)} (${(tensor * 0.224 * 255).toFixed(1)} levels)`);
      expect(decoded, name).toBeLessThanOrEqual(JPEG_DECODE_MAX_LEVELS);
      expect(mean, name).toBeLessThan(1);
      expect(tensor, name).toBeLessThanOrEqual(JPEG_INPUT_LEVELS / 255 / 0.224);
    }
  });
});

// jpeg-js replicates subsampled chroma where libjpeg-turbo interpolates it ("fancy upsampling"),
// and rounds its IDCT differently: single pixels at sharp colour edges move by up to 19 levels
// (retina.jpg), the mean by about half a level, and the resize averages that to <= 2 (README).
const JPEG_DECODE_MAX_LEVELS = 24;
const JPEG_INPUT_LEVELS = 3;
