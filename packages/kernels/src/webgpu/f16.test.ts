// Half precision (weights and activations stored as f16, accumulation in f32) where the adapter
// has 'shader-f16'. SwiftShader has none, so CI skips this file visibly; run it on a GPU or on
// Mesa's lavapipe (VK_ICD_FILENAMES pointing at lvp_icd.json) to exercise it.
// Criterion: max |ours - reference| / max |reference| < 5e-3 for an op chain (vs the js kernels)
// and < 1e-2 for whole networks' logits (vs torchvision). f16 keeps 11 significant bits (2^-11 =
// 4.9e-4 per rounding); measured on lavapipe: 6.4e-4 for the op chain, 6.5e-4 to 1.1e-3 for the logits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Tensor, counterInput, type Model, type PlanOp } from '@cnn/core';
import { relativeError, type GoldenFixture } from '@cnn/core/testing';
import { convnext_tiny } from '../../../convnext/src/index.js';
import { mobilenet_v3_small } from '../../../mobilenet/src/index.js';
import { resnet } from '../../../resnet/src/index.js';
import { createWebGpuBackend, type WebGpuBackend } from './index.js';
import { nodeGpu } from './test-gpu.js';
import { ArenaBuilder, compareWithReference, randomFloats } from '../test-helpers.js';

const gpu = await nodeGpu();
const adapter = await gpu.requestAdapter();
const hasF16 = adapter?.features.has('shader-f16') ?? false;

const fixture = (pkg: string, name: string) =>
  JSON.parse(readFileSync(new URL(`../../../${pkg}/fixtures/${name}.json`, import.meta.url), 'utf8')) as GoldenFixture;

describe.skipIf(!hasF16)(`f16 storage on ${adapter?.info.description ?? 'this adapter'}`, () => {
  let half: WebGpuBackend;
  const measured: string[] = [];
  beforeAll(async () => {
    half = await createWebGpuBackend({ gpu, precision: 'f16', warmup: false });
    expect(half.precision).toBe('f16');
  });
  afterAll(() => {
    console.log(`f16 errors (max |diff| / max |ref|):\n${measured.join('\n')}`);
    half?.destroy();
  });

  it('runs every kind of op within 5e-3 of the reference', async () => {
    const a = new ArenaBuilder();
    const x = a.slot([2, 6, 7, 32]);
    const conv = a.slot([2, 6, 7, 24]);
    const dw = a.slot([2, 6, 7, 24]);
    const pooled = a.slot([2, 3, 3, 24]);
    const gap = a.slot([2, 1, 1, 24]);
    const fc = a.slot([2, 1, 1, 10]);
    const ln = a.slot([2, 6, 7, 24]);
    const lrn = a.slot([2, 6, 7, 24]);
    const cat = a.slot([2, 6, 7, 48]);
    let seed = 50;
    const ops: PlanOp[] = [
      { kind: 'conv2d', input: x, output: conv, weight: randomFloats(24 * 32 * 9, seed++, -0.06, 0.06), bias: randomFloats(24, seed++), kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1, activation: 'relu' },
      { kind: 'conv2d', input: conv, output: dw, residual: conv, weight: randomFloats(24 * 9, seed++, -0.3, 0.3), bias: randomFloats(24, seed++), kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 24, activation: 'gelu' },
      { kind: 'pool2d', mode: 'max', input: dw, output: pooled, kernel: [3, 3], stride: [2, 2], padding: [0, 0], countIncludePad: false, activation: 'none' },
      { kind: 'adaptiveAvgPool2d', input: pooled, output: gap },
      { kind: 'linear', input: gap, output: fc, weight: randomFloats(240, seed++, -0.2, 0.2), bias: randomFloats(10, seed++), activation: 'none' },
      { kind: 'layerNorm', input: dw, output: ln, weight: randomFloats(24, seed++), bias: randomFloats(24, seed++), eps: 1e-6, activation: 'none' },
      { kind: 'localResponseNorm', input: ln, output: lrn, size: 5, alpha: 1e-4, beta: 0.75, k: 2 },
      { kind: 'copyChannels', input: conv, output: cat, channelOffset: 0 },
      { kind: 'copyChannels', input: lrn, output: cat, channelOffset: 24 },
    ];
    const error = await compareWithReference(half, ops, a.size + 1, seed++);
    measured.push(`  op chain: ${error.toExponential(2)}`);
    expect(error).toBeLessThan(5e-3);
  });

  const cases: [string, string, () => Model][] = [
    ['resnet', 'resnet18_64', () => resnet('resnet18')],
    ['mobilenet', 'mobilenet_v3_small_97x65', mobilenet_v3_small],
    ['convnext', 'convnext_tiny_64', convnext_tiny],
  ];
  for (const [pkg, name, build] of cases) {
    it(`${name}: logits within 1e-2 of torchvision`, async () => {
      const fx = fixture(pkg, name);
      const [n, , h, w] = fx.input.shape;
      const runner = await build().useGeneratedWeights(fx.seed).compile(half, { batch: n, inputSize: [h, w] });
      const logits = await runner.run(new Tensor(fx.input.shape, counterInput(fx.input.shape, fx.seed)));
      const error = relativeError(logits.data, fx.logits.data);
      measured.push(`  ${name} logits: ${error.toExponential(2)}`);
      expect(error).toBeLessThan(1e-2);
      runner.dispose();
    });
  }
});

it.runIf(!hasF16)('has no shader-f16 here, so the f16 cases above are skipped (see backend.test.ts for the f32 fallback)', () => {
  expect(hasF16).toBe(false);
});
