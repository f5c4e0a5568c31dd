// Whole networks on the WebGPU backend (Dawn on SwiftShader) against the torchvision golden
// fixtures, at reduced input sizes so the CPU-emulated GPU keeps the suite short.
// Criterion, as for the wasm backend: max |ours - torchvision| / max |torchvision| < 1e-4 for the
// logits and every tap (f32 storage and accumulation, in a different order than torch's kernels).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Tensor, counterInput, type Model } from '@cnn/core';
import { relativeError, tapError, type GoldenFixture } from '@cnn/core/testing';
// The model packages depend on @cnn/kernels, so they are imported by path rather than declared
// as dependencies (which would make the workspace graph cyclic).
import { convnext_tiny, CONVNEXT_TAPS } from '../../../convnext/src/index.js';
import { mobilenet_v3_small, MOBILENET_TAPS } from '../../../mobilenet/src/index.js';
import { resnet, RESNET_TAPS } from '../../../resnet/src/index.js';
import { createWebGpuBackend, type WebGpuBackend } from './index.js';
import { nodeGpu } from './test-gpu.js';

const TOLERANCE = 1e-4;

const fixture = (pkg: string, name: string) =>
  JSON.parse(readFileSync(new URL(`../../../${pkg}/fixtures/${name}.json`, import.meta.url), 'utf8')) as GoldenFixture;

const CASES: [string, string, () => Model, readonly string[]][] = [
  ['resnet', 'resnet18_64', () => resnet('resnet18'), RESNET_TAPS],
  ['mobilenet', 'mobilenet_v3_small_97x65', mobilenet_v3_small, MOBILENET_TAPS],
  ['convnext', 'convnext_tiny_64', convnext_tiny, CONVNEXT_TAPS],
];

let backend: WebGpuBackend;
const measured: string[] = [];
beforeAll(async () => {
  backend = await createWebGpuBackend({ gpu: await nodeGpu(), warmup: false });
});
afterAll(() => {
  console.log(`webgpu f32 vs torchvision (max |diff| / max |ref|):\n${measured.join('\n')}`);
  backend.destroy();
});

describe('models on the WebGPU backend match torchvision', () => {
  for (const [pkg, name, build, taps] of CASES) {
    it(`${name}: logits and taps`, async () => {
      const fx = fixture(pkg, name);
      const [n, , h, w] = fx.input.shape;
      const t0 = performance.now();
      const runner = await build().useGeneratedWeights(fx.seed).compile(backend, { batch: n, inputSize: [h, w], outputs: ['logits', ...taps] });
      const t1 = performance.now();
      const out = await runner.runAll(new Tensor(fx.input.shape, counterInput(fx.input.shape, fx.seed)));
      const t2 = performance.now();
      const logits = relativeError(out.logits.data, fx.logits.data);
      const tapErrors = taps.map((t) => tapError(out[t], fx.taps[t]));
      measured.push(
        `  ${name}: logits ${logits.toExponential(2)}, worst tap ${Math.max(...tapErrors).toExponential(2)} ` +
          `(compile ${(t1 - t0).toFixed(0)} ms, first run ${(t2 - t1).toFixed(0)} ms on SwiftShader)`,
      );
      expect(out.logits.shape).toEqual(fx.logits.shape);
      expect(logits).toBeLessThan(TOLERANCE);
      taps.forEach((t, i) => expect(tapErrors[i], t).toBeLessThan(TOLERANCE));
      runner.dispose();
    });
  }
});
