// Test-only: runs tools/vision/reference.py (torchvision's pipeline) and reads back what it wrote.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend, Model, Preprocessing } from '@cnn/core';
import { resnet18 } from '@cnn/resnet';
import { createClassifier } from './classifier.js';
import type { Pixels } from './pixels.js';
import { machinePaths } from '@cnn/core/testing';
import { loadWeights } from '@cnn/core';

export const SKIMAGE = machinePaths.skimageData;
const SCRIPT = fileURLToPath(new URL('../../../tools/vision/reference.py', import.meta.url));

export interface ReferencePreset extends Preprocessing {
  channels?: 1 | 3;
}

export interface ReferenceImage {
  path: string;
  mode: string;
  size: [number, number];
  /** Pillow's convert('RGB'), HWC uint8 */
  decoded: Uint8Array;
  /** per preset: resized and cropped uint8 (HWC), and torchvision's normalised CHW tensor */
  presets: { resized: Uint8Array; tensor: Float32Array }[];
}

export interface ReferenceModel {
  logits: number[][];
  probabilities: number[][];
  embedding: number[][];
}

export function runReference(job: { images: string[]; presets: ReferencePreset[]; model?: string; weights?: string; /** also torch.save the model's state dict here */ pth?: string }): {
  images: ReferenceImage[];
  model?: ReferenceModel;
} {
  const out = mkdtempSync(join(tmpdir(), 'cnn-vision-'));
  try {
    const stdout = execFileSync(machinePaths.python, [SCRIPT], { input: JSON.stringify({ ...job, out }), encoding: 'utf8', maxBuffer: 1 << 28 });
    const result = JSON.parse(stdout) as { images: { path: string; mode: string; size: [number, number] }[]; model?: ReferenceModel };
    const read = (name: string) => new Uint8Array(readFileSync(join(out, name)));
    const images = result.images.map((image, i) => ({
      ...image,
      decoded: read(`${i}.decoded`),
      presets: job.presets.map((_, j) => {
        const t = read(`${i}-${j}.tensor`);
        return { resized: read(`${i}-${j}.resized`), tensor: new Float32Array(t.buffer, t.byteOffset, t.length / 4) };
      }),
    }));
    return { images, model: result.model };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Writes small PNGs in modes skimage's data lacks: 'LA', 16-bit gray, interlaced RGB, 4-bit palette, 16-bit RGBA. */
export function writeModeImages(dir: string): string[] {
  const script = `
import numpy as np, sys
from PIL import Image
d = sys.argv[1]
rng = np.random.default_rng(7)
Image.fromarray(rng.integers(0, 256, (37, 53, 2), dtype=np.uint8), 'LA').save(d + '/la.png')
Image.fromarray(rng.integers(0, 700, (41, 29), dtype=np.uint16)).save(d + '/gray16.png')
Image.fromarray(rng.integers(0, 256, (33, 45, 3), dtype=np.uint8)).save(d + '/rgb-interlaced.png', interlace=1)
Image.fromarray(rng.integers(0, 256, (30, 31), dtype=np.uint8)).convert('P').save(d + '/p-from-l.png', bits=4)
# Pillow cannot write 16-bit colour PNGs, so this one is assembled by hand (colour type 6, RGBA)
import struct, zlib
def chunk(kind, body):
    return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body) & 0xffffffff)
pixels = rng.integers(0, 65536, (19, 23, 4), dtype=np.uint16).astype('>u2')
raw = b''.join(b'\\x00' + row.tobytes() for row in pixels)
png = b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 23, 19, 16, 6, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
open(d + '/rgba16.png', 'wb').write(png)
`;
  execFileSync(machinePaths.python, ['-c', script, dir]);
  return ['la.png', 'gray16.png', 'rgb-interlaced.png', 'p-from-l.png', 'rgba16.png'].map((f) => join(dir, f));
}

export interface ResizeCase {
  mode: 'L' | 'RGB';
  size: [number, number];
  to: [number, number];
  interpolation: 'bilinear' | 'bicubic' | 'nearest';
  data: Uint8Array;
}

/** Pillow's Image.resize of each raw image. */
export function pillowResize(cases: ResizeCase[]): Uint8Array[] {
  const dir = mkdtempSync(join(tmpdir(), 'cnn-vision-resize-'));
  try {
    const job = cases.map((c, i) => {
      const file = join(dir, `${i}.raw`);
      writeFileSync(file, c.data);
      return { file, mode: c.mode, size: c.size, to: c.to, interpolation: c.interpolation };
    });
    execFileSync(machinePaths.python, [SCRIPT], { input: JSON.stringify({ resize: job }), encoding: 'utf8' });
    return job.map((j) => new Uint8Array(readFileSync(`${j.file}.out`)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Generated ResNet-18 weights whose classes tell the images apart: fc row i points from the mean
 * embedding to image i's embedding (bias cancels the mean), so image i comes out as class i
 * with logit 8, and a test that mixes images up fails.
 */
export async function discriminativeResnet18(images: readonly Pixels[], backend: Backend): Promise<Model> {
  const model = resnet18().useGeneratedWeights(3);
  const probe = await createClassifier(model, { backend });
  const e = await probe.embed(images as Pixels[]);
  probe.dispose();
  const size = e[0].length;
  const mean = new Float32Array(size).map((_, k) => e.reduce((s, v) => s + v[k], 0) / e.length);
  const fc = model.getWeights().get('fc.weight')!;
  const fcBias = model.getWeights().get('fc.bias')!;
  const weight = fc.data.slice();
  const bias = fcBias.data.slice();
  e.forEach((v, i) => {
    const d = v.map((x, k) => x - mean[k]);
    const norm2 = d.reduce((s, x) => s + x * x, 0);
    weight.set(d.map((x) => (x * 8) / norm2), i * size);
    bias[i] = (-8 * d.reduce((s, x, k) => s + x * mean[k], 0)) / norm2;
  });
  const tensors = new Map(model.getWeights());
  tensors.set('fc.weight', { shape: fc.shape, data: weight });
  tensors.set('fc.bias', { shape: fcBias.shape, data: bias });
  return loadWeights(model, tensors);
}
