// Whole networks on the WebGPU backend (Dawn on SwiftShader) against the torchvision golden
// fixtures, at reduced input sizes so the CPU-emulated GPU keeps the suite short.
// Criterion, as for the wasm backend: max |ours - torchvision| / max |torchvision| < 1e-4 for the
// logits and every tap (f32 storage and accumulation, in a different order than torch's kernels).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '@cnn/core';
import { readFixture, runGolden } from '@cnn/core/testing';
// The model packages depend on @cnn/kernels, so they are imported by path rather than declared
// as dependencies (which would make the workspace graph cyclic).
import { convnext_tiny, CONVNEXT_TAPS } from '../../../convnext/src/index.js';
import { mobilenet_v3_small, MOBILENET_TAPS } from '../../../mobilenet/src/index.js';
import { resnet, RESNET_TAPS } from '../../../resnet/src/index.js';
import { googlenet, GOOGLENET_TAPS } from '../../../inception/src/index.js';
import { createWebGpuBackend, type WebGpuBackend } from './index.js';
import { nodeGpu } from './test-gpu.js';

const TOLERANCE = 1e-4;

const fixture = (pkg: string, name: string) => readFixture(new URL(`../../../${pkg}/fixtures/`, import.meta.url), name);

const CASES: [string, string, () => Model, readonly string[]][] = [
  ['resnet', 'resnet18_64', () => resnet('resnet18'), RESNET_TAPS],
  ['mobilenet', 'mobilenet_v3_small_97x65', mobilenet_v3_small, MOBILENET_TAPS],
  ['convnext', 'convnext_tiny_64', convnext_tiny, CONVNEXT_TAPS],
  // concatenations as channel views: branch outputs written in place into their channel range
  // (DenseNet's strided channel-prefix reads are in ops.test.ts; densenet121_64 takes over 5 min here)
  ['inception', 'googlenet_64', () => googlenet(), GOOGLENET_TAPS],
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
      const t0 = performance.now();
      // the golden weights (generated, calibrated), compiled, run on the fixture's input and a second one
      const r = await runGolden(build().useGeneratedWeights(fx.seed), fx, backend, taps);
      const tapErrors = taps.map((t) => r.tapErrors[t]);
      measured.push(
        `  ${name}: logits ${r.logitsError.toExponential(2)}, worst tap ${Math.max(...tapErrors).toExponential(2)} ` +
          `(compile and two runs ${(performance.now() - t0).toFixed(0)} ms on SwiftShader)`,
      );
      expect(r.logitsShape).toEqual(fx.logits.shape);
      expect(r.logitsError).toBeLessThan(TOLERANCE);
      taps.forEach((t, i) => expect(tapErrors[i], t).toBeLessThan(TOLERANCE));
    });
  }
});
