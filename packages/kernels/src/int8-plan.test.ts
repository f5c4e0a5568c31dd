// Int8 plans end to end on the js backend: a small network with every op the int8 pass turns
// into int8 (convolution with batch norm, ReLU and a fused residual, depthwise, max and average
// pooling, a tabulated tanh, adaptive pooling, flatten, linear) and one that stays float (gelu),
// calibrated on random inputs and compared with its float plan.
import { describe, expect, it } from 'vitest';
import {
  Model,
  ShapeError,
  WeightsError,
  calibrate,
  decodeQuantizedModel,
  encodeQuantizedModel,
  int8SourcePlan,
  isInt8,
  useInt8,
  quantizePlan,
  validatePlan,
  type Architecture,
} from '@cnn/core';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createJsBackend } from './js/index.js';
import { createWasmBackend } from './wasm/index.js';
import { createInt8WasmBackend } from './wasm/q8.js';

const PROBE: Architecture = {
  name: 'int8_probe',
  inputShape: [3, 12, 12],
  metadata: { parameters: 0 },
  define(b, x) {
    const stem = b.relu(b.batchNorm2d(b.conv2d(x, 'conv1', { outChannels: 8, kernelSize: 3, padding: 1, bias: false }), 'bn1'));
    const branch = b.batchNorm2d(b.conv2d(b.relu(b.conv2d(stem, 'a', { outChannels: 8, kernelSize: 3, padding: 1 })), 'b', { outChannels: 8, kernelSize: 1 }), 'bn2');
    const res = b.relu(b.add(branch, stem));
    const dw = b.relu(b.conv2d(res, 'dw', { outChannels: 8, kernelSize: 3, stride: 2, padding: 1, groups: 8 }));
    const pooled = b.avgPool2d(b.tanh(b.maxPool2d(dw, { kernelSize: 2, stride: 1 })), { kernelSize: 2 });
    const g = b.activation(b.conv2d(pooled, 'c', { outChannels: 6, kernelSize: 1 }), 'gelu');
    const head = b.flatten(b.adaptiveAvgPool2d(g, 2)); // 2x2: fc1's columns are permuted to channels-last
    b.output('logits', b.linear(b.relu(b.linear(head, 'fc1', 16)), 'fc2', 5));
  },
};

/**
 * A ResNet stem and block at odd sizes: max pooling with padding over 20 channels (one full
 * vector of 16 and a tail) and a residual add of 980 codes (not a multiple of 16), which torch's
 * eager models (residualAdds 'separate') leave as a q8add.
 */
const RESIDUAL_PROBE: Architecture = {
  name: 'int8_residual_probe',
  inputShape: [3, 13, 13],
  metadata: { parameters: 0 },
  define(b, x) {
    const stem = b.relu(b.conv2d(x, 'conv1', { outChannels: 20, kernelSize: 3, padding: 1 }));
    const pooled = b.maxPool2d(stem, { kernelSize: 3, stride: 2, padding: 1 });
    const body = b.batchNorm2d(b.conv2d(b.relu(b.conv2d(pooled, 'a', { outChannels: 20, kernelSize: 3, padding: 1 })), 'b', { outChannels: 20, kernelSize: 3, padding: 1 }), 'bn');
    b.output('logits', b.linear(b.flatten(b.adaptiveAvgPool2d(b.relu(b.add(body, pooled)), 1)), 'fc', 5));
  },
};

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 4 - 2);
}

describe('int8 plans on the js backend', () => {
  it('quantises every layer, keeps gelu float, and stays within a few output steps of fp32', async () => {
    const model = new Model(PROBE).useGeneratedWeights(3);
    const size = 3 * 12 * 12;
    const inputs = [1, 2, 3, 4, 5, 6].map((s) => random(size, s));
    const { parameters, plan } = await calibrate(model, createJsBackend(), inputs);
    validatePlan(plan);
    expect(plan.ops.map((op) => op.kind)).toEqual([
      'quantize', 'q8conv2d', 'q8conv2d', 'q8conv2d', 'q8conv2d', 'q8pool2d', 'q8lookup', 'q8pool2d', 'q8conv2d',
      'dequantize', 'activation', 'adaptiveAvgPool2d', 'quantize', 'q8linear', 'q8linear', 'dequantize',
    ]);
    const residual = plan.ops.find((op) => op.kind === 'q8conv2d' && op.name === 'b');
    expect(residual).toMatchObject({ activation: 'relu', residual: { quant: parameters.activations.get('conv1') } });
    expect([...parameters.layers.keys()].sort()).toEqual(['a', 'b', 'c', 'conv1', 'dw', 'fc1', 'fc2']);

    const fp32 = await createJsBackend().compile(int8SourcePlan(model));
    const int8 = await createJsBackend().compile(plan);
    const step = parameters.activations.get('fc2')!.scale;
    for (const x of [...inputs, random(size, 99)]) {
      const [want] = await fp32.run(x);
      const [got] = await int8.run(x);
      const worst = Math.max(...want.map((v, i) => Math.abs(v - got[i])));
      // not exact: every layer rounds; a handful of steps of the logits' scale over 8 layers
      expect(worst).toBeLessThan(6 * step);
      expect(worst).toBeLessThan(0.1 * Math.max(...want.map(Math.abs)));
    }
  });

  it('round-trips the parameters through W.int8.safetensors and runs the same bytes from the file', async () => {
    const model = new Model(PROBE).useGeneratedWeights(3);
    const inputs = [1, 2, 3].map((s) => random(3 * 12 * 12, s));
    const { parameters, plan } = await calibrate(model, createJsBackend(), inputs);
    const bytes = encodeQuantizedModel(parameters);
    const decoded = decodeQuantizedModel(bytes);
    expect(decoded.activations).toEqual(parameters.activations);
    expect([...decoded.layers.keys()].sort()).toEqual([...parameters.layers.keys()].sort());
    // a fresh model knows nothing but the architecture and the file
    const fromFile = useInt8(new Model(PROBE), decoded);
    const a = await (await createJsBackend().compile(plan)).run(inputs[0]);
    const runner = await fromFile.compile(createJsBackend());
    const b = await runner.run(Float32Array.from(inputs[0]));
    expect(isInt8(fromFile)).toBe(true);
    expect(b.data.length).toBe(5);
    // the runner takes NCHW; the executable NHWC: compare through the plan
    const direct = await (await createJsBackend().compile(fromFile.plan())).run(inputs[0]);
    expect(Array.from(direct[0])).toEqual(Array.from(a[0]));
  });

  it('refuses files that lack a layer or a tensor, and plans that mix up uint8 and float slots', async () => {
    const model = new Model(PROBE).useGeneratedWeights(3);
    const { parameters, plan } = await calibrate(model, createJsBackend(), [random(3 * 12 * 12, 1)]);
    const source = int8SourcePlan(model);
    const noLayer = { ...parameters, layers: new Map([...parameters.layers].filter(([k]) => k !== 'dw')) };
    expect(() => quantizePlan(source, noLayer)).toThrow(WeightsError);
    expect(() => quantizePlan(source, noLayer)).toThrow(/no layer 'dw'/);
    const noInput = { ...parameters, activations: new Map([...parameters.activations].filter(([k]) => k !== 'quant')) };
    expect(() => quantizePlan(source, noInput)).toThrow(/no 'quant.scale'/);
    const floatInput = { ...plan, ops: plan.ops.map((op) => (op.kind === 'q8conv2d' ? { ...op, input: { ...op.input, quant: undefined } } : op)) };
    expect(() => validatePlan(floatInput)).toThrow(ShapeError);
    expect(() => validatePlan(floatInput)).toThrow(/input must be quantised/);
    const wrongWeights = { ...plan, ops: plan.ops.map((op) => (op.kind === 'q8linear' ? { ...op, weight: new Int8Array(3) } : op)) };
    expect(() => validatePlan(wrongWeights)).toThrow(/weight has 3 values/);
  });

  it('the float wasm backend refuses an int8 plan, naming the op it has no kernel for', async () => {
    const model = new Model(PROBE).useGeneratedWeights(3);
    const { plan } = await calibrate(model, createJsBackend(), [random(3 * 12 * 12, 1)]);
    await expect((await createWasmBackend()).compile(plan)).rejects.toThrow(/wasm: no kernel for op 'quantize'/);
  });

  it('runs max pooling and unfused residual adds in wasm bit for bit as the js reference', async () => {
    const model = new Model(RESIDUAL_PROBE).useGeneratedWeights(5);
    const size = 3 * 13 * 13;
    const inputs = [1, 2, 3].map((s) => random(size, s));
    const binary = await readFile(new URL('../wasm/cnn_q8.wasm', import.meta.url));
    for (const residualAdds of ['separate', 'fused'] as const) {
      const { plan } = await calibrate(model, createJsBackend(), inputs, { residualAdds });
      const kinds = plan.ops.map((op) => op.kind);
      expect(kinds, residualAdds).toContain('q8pool2d');
      expect(kinds.includes('q8add'), residualAdds).toBe(residualAdds === 'separate');
      const wasm = await createInt8WasmBackend(binary).compile(plan);
      const js = await createJsBackend().compile(plan);
      for (const x of [...inputs, random(size, 41), random(size, 42)]) {
        expect(Array.from((await wasm.run(x))[0]), residualAdds).toEqual(Array.from((await js.run(x))[0]));
      }
    }
  });

  it('runs on the int8 wasm binary bit for bit as on the js reference (wasm-int8 backend)', async () => {
    const model = new Model(PROBE).useGeneratedWeights(3);
    const inputs = [1, 2, 3].map((s) => random(3 * 12 * 12, s));
    const { plan } = await calibrate(model, createJsBackend(), inputs);
    const binary = await readFile(new URL('../wasm/cnn_q8.wasm', import.meta.url));
    const wasm = await createInt8WasmBackend(binary).compile(plan);
    const js = await createJsBackend().compile(plan);
    for (const x of [...inputs, random(3 * 12 * 12, 77)]) expect(Array.from((await wasm.run(x))[0])).toEqual(Array.from((await js.run(x))[0]));
    // profile(): one time per plan op, and the pass it times computes what run() does
    const times = await (wasm as unknown as { profile(x: Float32Array): Promise<number[]> }).profile(inputs[1]);
    expect(times).toHaveLength(plan.ops.length);
    expect(times.every((t) => Number.isFinite(t) && t >= 0)).toBe(true);
    expect(Array.from((await wasm.run(inputs[2]))[0])).toEqual(Array.from((await js.run(inputs[2]))[0]));
    await expect(wasm.run(new Float32Array(5))).rejects.toThrow(ShapeError);
    // the input quantised in wasm: a NaN is refused as the reference refuses it
    const withNaN = inputs[0].slice();
    withNaN[123] = NaN;
    await expect(wasm.run(withNaN)).rejects.toThrow(/quantize: element 123 is NaN/);
    await expect(js.run(withNaN)).rejects.toThrow(/quantize: element 123 is NaN/);
    await expect(createInt8WasmBackend(binary).compile(int8SourcePlan(model))).rejects.toThrow(/expected an int8 plan/);
    wasm.dispose();
    await expect(wasm.run(inputs[0])).rejects.toThrow(/disposed/);
  });
});

// Run by q8.test.ts's child vitests (Node 20 needs --experimental-wasm-relaxed-simd), with V8's
// default tiers, Liftoff only and TurboFan only.
const relaxedBinary = () => readFile(new URL('../wasm/cnn_q8-relaxed.wasm', import.meta.url));
const relaxedRuns = WebAssembly.validate(readFileSync(new URL('../wasm/cnn_q8-relaxed.wasm', import.meta.url)));

describe.runIf(relaxedRuns)('int8 plans on cnn_q8-relaxed.wasm', () => {
  it('stays bit for bit the js reference while it times both dot forms and after it chose', async () => {
    const model = new Model(RESIDUAL_PROBE).useGeneratedWeights(7);
    const size = 3 * 13 * 13;
    const inputs = [1, 2, 3].map((s) => random(size, s));
    // 7-bit codes: the relaxed dot product's operand, so igemm takes it (and may take the fused form)
    const { plan } = await calibrate(model, createJsBackend(), inputs, { reduceRange: true });
    const wasm = await createInt8WasmBackend(await relaxedBinary()).compile(plan);
    const js = await createJsBackend().compile(plan);
    const flags = (process.env.CNN_V8_FLAGS ?? '').split(' ');
    const forms = new Set<boolean>();
    for (let i = 0; i < 14; i++) {
      const x = random(size, 100 + i);
      expect(Array.from((await wasm.run(x))[0]), `run ${i}`).toEqual(Array.from((await js.run(x))[0]));
      forms.add((wasm as unknown as { fusedDot: boolean }).fusedDot);
    }
    // Liftoff (V8 11.x's first tier) computes the fused form wrong: never taken there; TurboFan
    // alone computes it right, and the trial runs take both forms
    if (flags.includes('--no-liftoff')) expect(forms).toEqual(new Set([true, false]));
    else if (process.versions.v8.startsWith('11.')) expect(forms).toEqual(new Set([false]));
  });
});

