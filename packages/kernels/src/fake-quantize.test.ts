// fakeQuantize end to end: a network built with GraphBuilder.fakeQuantize, compiled on every
// backend, against torch.fake_quantize_per_tensor_affine (tools/golden/cases/kernels.py). The
// quantised taps must equal torch's float32 values exactly: every backend computes x * (1 / scale)
// in float32 and rounds half to even, as torch does, so any difference is a wrong grid point.
import { describe, expect, it } from 'vitest';
import { Model, Tensor, counterInput, summarize, type Architecture, type Backend } from '@cnn/core';
import { GOLDEN_TOLERANCE, readFixture, runGolden } from '@cnn/core/testing';
import { createJsBackend } from './js/index.js';
import { createWasmBackend } from './wasm/index.js';
import { createWebGpuBackend } from './webgpu/index.js';
import { nodeGpu } from './webgpu/test-gpu.js';

const fx = readFixture(new URL('../fixtures/', import.meta.url), 'fake_quantize_probe.json');

/** The probe of tools/golden/cases/kernels.py (FakeQuantizeProbe), layer for layer. */
const FAKE_QUANTIZE_PROBE: Architecture = {
  name: 'fake_quantize_probe',
  inputShape: [3, 8, 8],
  metadata: { parameters: 40 },
  define(b, x) {
    const uint8 = b.output('uint8', b.fakeQuantize(x, 0.05, 3, 0, 255));
    const int8 = b.output('int8', b.fakeQuantize(x, 0.0371, -5, -128, 127));
    const narrow = b.output('narrow', b.fakeQuantize(x, 0.1, 0, -7, 7));
    const fine = b.output('fine', b.fakeQuantize(x, 1 / 128, 0, -1024, 1023));
    const ties = b.output('ties', b.fakeQuantize(fine, 1 / 64, 0, -1024, 1023));
    const sum = b.add(b.add(b.add(uint8, int8), narrow), ties);
    b.output('logits', b.linear(b.flatten(b.adaptiveAvgPool2d(sum, 1)), 'fc', 10));
  },
};
const TAPS = ['uint8', 'int8', 'narrow', 'fine', 'ties'];

const backends: Record<string, { make: () => Promise<Backend>; tolerance: number }> = {
  js: { make: async () => createJsBackend(), tolerance: GOLDEN_TOLERANCE.js },
  wasm: { make: async () => createWasmBackend(), tolerance: GOLDEN_TOLERANCE.wasm },
  'wasm (threads)': { make: async () => createWasmBackend({ threads: 2, shareTinyOps: true }), tolerance: GOLDEN_TOLERANCE.wasm },
  webgpu: { make: async () => createWebGpuBackend({ gpu: await nodeGpu(), warmup: false }), tolerance: GOLDEN_TOLERANCE.wasm },
};

describe('fakeQuantize against torch.fake_quantize_per_tensor_affine', () => {
  it('the fixture covers ties, clamping at both ends and every tap element', () => {
    const fine = fx.taps.fine.sample;
    const ties = fine.filter((v) => Number.isInteger(v * 128) && !Number.isInteger(v * 64));
    expect(ties.length).toBeGreaterThan(50);
    expect(fx.taps.narrow.sample).toContain(-0.7);
    expect(fx.taps.narrow.sample.filter((v) => Math.fround(v) === Math.fround(0.7)).length).toBeGreaterThan(10);
    expect(fx.taps.uint8.sample.filter((v) => Math.fround(v) === Math.fround(-0.15)).length).toBeGreaterThan(10);
    for (const tap of TAPS) expect(fx.taps[tap].stride, tap).toBe(1);
  });

  for (const [name, { make, tolerance }] of Object.entries(backends)) {
    it(`${name}: every quantised value equals torch's, and the logits are within ${tolerance}`, async () => {
      const model = new Model(FAKE_QUANTIZE_PROBE).useGeneratedWeights(fx.seed);
      expect(summarize(model).totalParameters).toBe(fx.params);
      expect(summarize(model).totalMultiplyAdds).toBe(fx.macs);
      const backend = await make();
      const r = await runGolden(model, fx, backend, TAPS);
      expect(r.logitsError).toBeLessThan(tolerance);

      const runner = await model.compile(backend, { outputs: TAPS });
      const out = await runner.runAll(new Tensor(fx.input.shape, counterInput(fx.input.shape, fx.seed)));
      runner.dispose();
      for (const tap of TAPS) {
        expect(out[tap].shape, tap).toEqual(fx.taps[tap].shape);
        const mismatches = fx.taps[tap].sample.flatMap((v, i) => (out[tap].data[i] === Math.fround(v) ? [] : [`[${i}] ${out[tap].data[i]} vs ${v}`]));
        expect(mismatches, tap).toEqual([]);
      }
    });
  }
});
