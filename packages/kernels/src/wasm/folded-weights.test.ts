// Folded batch norms and layer scales reach the wasm backend as the unscaled weights and their
// factors (@cnn/core's unfoldedWeight), and the binary scales them while packing (scale_rows):
// the packed weights, and so the outputs, must be the bits the plan's own (JavaScript-scaled)
// weights give.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Model, unfoldedWeight, validatePlan, type Architecture, type ExecutionPlan } from '@cnn/core';
import { createWasmBackend, hasRelaxedSimd, type WasmBackendOptions } from './index.js';
import { randomFloats } from '../test-helpers.js';

/** Every kind of layer a scale folds into: direct k x k, Winograd, depthwise, grouped, pointwise linear (layer scale), classifier. */
const folds: Architecture = {
  name: 'folds',
  inputShape: [8, 12, 12],
  metadata: { parameters: 0 },
  define(b, x) {
    let y = b.relu(b.batchNorm2d(b.conv2d(x, 'direct', { outChannels: 24, kernelSize: 3, padding: 1, bias: false }), 'bn1'));
    y = b.relu(b.batchNorm2d(b.conv2d(y, 'winograd', { outChannels: 24, kernelSize: 3, padding: 1, bias: false }), 'bn2'));
    y = b.relu(b.batchNorm2d(b.conv2d(y, 'depthwise', { outChannels: 24, kernelSize: 3, stride: 2, padding: 1, groups: 24, bias: false }), 'bn3'));
    y = b.batchNorm2d(b.conv2d(y, 'grouped', { outChannels: 20, kernelSize: 1, groups: 2 }), 'bn4');
    y = b.layerScale(b.pointwiseLinear(y, 'pointwise', 12), 'gamma');
    b.output('logits', b.linear(b.flatten(b.adaptiveAvgPool2d(b.relu(y), 2)), 'fc', 5));
  },
};

const VARIANTS: [string, WasmBackendOptions][] = [
  ['simd', { relaxedSimd: false }],
  ['simd-threads', { relaxedSimd: false, threads: 2, shareTinyOps: true }],
  ...(hasRelaxedSimd() ? ([['relaxed-simd', { relaxedSimd: true }]] as [string, WasmBackendOptions][]) : []),
];

async function run(plan: ExecutionPlan, options: WasmBackendOptions, input: Float32Array): Promise<Float32Array[]> {
  const executable = await createWasmBackend(options).compile(plan);
  try {
    return (await executable.run(input)).map((o) => o.slice());
  } finally {
    executable.dispose();
  }
}

describe('folded weights on the wasm backend', () => {
  const model = new Model(folds).useGeneratedWeights(3);
  const lazy = model.plan();
  // the same plan with its weights read, so scaled in JavaScript: plain data, no factors apart
  const eager = validatePlan({ ...lazy, ops: lazy.ops.map((op) => ({ ...op })) });
  const input = randomFloats(12 * 12 * 8, 11, -1, 1); // NHWC, as the plan's input slot

  it('keeps the factors of all five folds apart in the plan, none in its read copy', () => {
    const apart = (plan: ExecutionPlan) => plan.ops.filter((op) => (op.kind === 'conv2d' || op.kind === 'linear') && unfoldedWeight(op).scale !== undefined).length;
    expect(apart(lazy)).toBe(5);
    expect(apart(eager)).toBe(0);
  });

  it.each(VARIANTS)('%s: scaling while packing gives the bits of the JavaScript-scaled weights', async (_name, options) => {
    const [a, b] = [await run(lazy, options, input), await run(eager, options, input)];
    expect(a[0].length).toBe(5);
    expect(a[0].some((v) => v !== 0)).toBe(true);
    expect(Buffer.from(a[0].buffer).equals(Buffer.from(b[0].buffer))).toBe(true);
  });
});

describe('scale_rows', () => {
  const binary = readFileSync(new URL('../../wasm/cnn_kernels.wasm', import.meta.url));
  const ex = new WebAssembly.Instance(new WebAssembly.Module(binary), {}).exports as unknown as {
    memory: WebAssembly.Memory;
    __heap_base: WebAssembly.Global;
    scale_rows(w: number, rows: number, per: number, scale: number): void;
  };

  it('is fround(w * scale) in double precision, for every row length, sign, subnormal and overflow', () => {
    const per = 11; // two vectors of 4 and a tail of 3
    const w = Float32Array.from([1 / 3, -0, 0, 1.4e-45, -3.4e38, 3.4e38, 1e-40, 7, -2.5, 1e10, 0.1]);
    const scales = Float64Array.from([1, 1 / 3, -0.7, 1e-30, 3.0000001, 1e30, 0.99999999, -1e-320, 2 ** -149, Math.PI]);
    const rows = scales.length;
    const at = (ex.__heap_base.value as number) + 4096;
    const f32 = new Float32Array(ex.memory.buffer, at, rows * per);
    for (let r = 0; r < rows; r++) f32.set(w, r * per);
    const scaleAt = at + rows * per * 4 + 8 - ((rows * per * 4) % 8);
    new Float64Array(ex.memory.buffer, scaleAt, rows).set(scales);
    ex.scale_rows(at, rows, per, scaleAt);
    const got = new Float32Array(ex.memory.buffer, at, rows * per);
    for (let r = 0; r < rows; r++)
      for (let i = 0; i < per; i++) expect(Object.is(got[r * per + i], Math.fround(w[i] * scales[r])), `row ${r}, ${w[i]} * ${scales[r]}: ${got[r * per + i]}`).toBe(true);
  });
});
