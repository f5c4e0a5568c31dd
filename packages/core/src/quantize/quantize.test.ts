// The int8 arithmetic, observers and file format on their own (the pass end to end, with the
// kernels, is tested in @cnn/kernels: int8-plan.test.ts).
import { describe, expect, it } from 'vitest';
import { ShapeError, WeightsError } from '../errors.js';
import { writeSafetensors } from '../safetensors.js';
import type { ExecutionPlan, Slot } from '../plan.js';
import { validatePlan } from '../validate-plan.js';
import { activationQuant, lookupTable, quantizeBias, quantizeWeights, roundHalfEven } from './numbers.js';
import { ActivationObserver } from './observers.js';
import { decodeQuantizedModel, encodeQuantizedModel } from './format.js';
import { permuteColumns, type QuantizedModel } from './plan.js';

describe('int8 numbers', () => {
  it('rounds half to even, both signs', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, -2.5001].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2, -3]);
  });

  it('activation parameters cover the range and zero, with an exact zero point', () => {
    const q = activationQuant({ min: -1, max: 3 });
    expect(q.scale).toBe(Math.fround(4 / 255));
    expect(q.zeroPoint).toBe(64); // round(1 / (4 / 255)) = round(63.75)
    expect(activationQuant({ min: 0.5, max: 2 })).toEqual({ scale: Math.fround(2 / 255), zeroPoint: 0 });
    expect(activationQuant({ min: -2, max: -1 })).toEqual({ scale: Math.fround(2 / 255), zeroPoint: 255 });
    expect(activationQuant({ min: -1, max: 1 }, { reduceRange: true })).toEqual({ scale: Math.fround(2 / 127), zeroPoint: 64 });
    expect(activationQuant({ min: 0, max: 0 }).scale).toBeGreaterThan(0);
    expect(() => activationQuant({ min: NaN, max: 1 })).toThrow(ShapeError);
    expect(() => activationQuant({ min: 2, max: 1 })).toThrow(/min <= max, got \[2, 1\]/);
  });

  it('weights per output channel: scale max|w| / 127, a zero channel scale 1, codes within +-127', () => {
    const w = Float32Array.from([0.5, -1.27, 0.01, 0, 0, 0, 2, 1, -2]);
    const q = quantizeWeights('conv', w, Float32Array.from([0.1, 0, -1]), 0.02);
    expect(Array.from(q.weightScale)).toEqual([Math.fround(1.27 / 127), 1, Math.fround(2 / 127)]);
    expect(Array.from(q.weight)).toEqual([50, -127, 1, 0, 0, 0, 127, 64, -127]);
    expect(Array.from(q.bias)).toEqual([roundHalfEven(0.1 / (Math.fround(0.02) * q.weightScale[0])), 0, roundHalfEven(-1 / (Math.fround(0.02) * q.weightScale[2]))]);
    expect(() => quantizeBias('fc', Float32Array.of(1e6), 1e-6, Float32Array.of(1e-6))).toThrow(/'fc': bias\[0\] .* beyond int32/);
    expect(() => quantizeWeights('conv', Float32Array.of(Infinity), Float32Array.of(0), 1)).toThrow(/not finite/);
  });

  it('tabulates a function between two quantisations', () => {
    const input = { scale: 0.05, zeroPoint: 128 };
    const output = { scale: 1 / 127, zeroPoint: 127 };
    const t = lookupTable('tanh', input, output);
    expect(t[128]).toBe(127); // tanh(0) = 0
    expect(t[0]).toBe(0); // tanh(-6.4) = -0.99999 -> -127 steps
    expect(t[255]).toBe(254);
    for (let q = 1; q < 256; q++) expect(t[q]).toBeGreaterThanOrEqual(t[q - 1]);
    expect(() => lookupTable('gelu', input, output)).toThrow(/no int8 table/);
  });

  it('moves linear columns between torch.flatten order and channels-last and back', () => {
    const w = Int8Array.from({ length: 2 * 12 }, (_, i) => i);
    const hwc = permuteColumns(w, 2, [3, 2, 2], true);
    expect(Array.from(hwc.slice(0, 6))).toEqual([0, 4, 8, 1, 5, 9]);
    expect(Array.from(permuteColumns(hwc, 2, [3, 2, 2], false))).toEqual(Array.from(w));
  });
});

const slot = (id: number, c: number, offset: number, quant?: Slot['quant']): Slot => ({ id, shape: [1, 1, 1, c], offset, size: c, ...(quant ? { quant } : {}) });

describe('observers', () => {
  const plan = { batch: 1, input: slot(0, 4, 0), outputs: [slot(0, 4, 0), slot(1, 4, 16)], ops: [], arenaSize: 32 } as ExecutionPlan;
  it('minmax keeps the extremes seen, per slot', () => {
    const o = new ActivationObserver(plan);
    o.observe([Float32Array.of(1, 2, 3, 4), Float32Array.of(0, 0, 0, 0)]);
    o.observe([Float32Array.of(-1, 2, 3, 9), Float32Array.of(0, 0, 0, 0)]);
    expect(o.ranges()).toEqual(new Map([[0, { min: -1, max: 9 }], [1, { min: 0, max: 0 }]]));
  });
  it('percentile averages per-batch percentiles, ignoring a rare outlier', () => {
    const o = new ActivationObserver(plan, 'percentile', 90);
    const values = Float32Array.from({ length: 4 }, (_, i) => i);
    o.observe([values, values]);
    expect(o.ranges().get(0)).toEqual({ min: 0, max: 3 });
    expect(() => new ActivationObserver(plan, 'percentile', 40)).toThrow(/percentile must lie in \(50, 100\]/);
  });
  it('refuses NaN, a wrong number of outputs and no data', () => {
    const o = new ActivationObserver(plan);
    expect(() => o.ranges()).toThrow(/no calibration data/);
    expect(() => o.observe([Float32Array.of(1, NaN, 0, 0), Float32Array.of(0, 0, 0, 0)])).toThrow(/slot 0 holds NaN/);
    expect(() => o.observe([Float32Array.of(1)])).toThrow(/expected 2 outputs/);
  });
});

describe('W.int8.safetensors', () => {
  const model: QuantizedModel = {
    layers: new Map([['conv1', { weight: Int8Array.of(1, -2, 3, -127), weightScale: Float32Array.of(0.5, 0.25), bias: Int32Array.of(7, -(2 ** 31) + 1), shape: [2, 2, 1, 1] }]]),
    activations: new Map([['conv1', { scale: 0.125, zeroPoint: 3 }], ['quant', { scale: 0.5, zeroPoint: 255 }]]),
    residualAdds: 'separate',
  };

  it('round-trips layers, tensors and how residual adds were planned', () => {
    const back = decodeQuantizedModel(encodeQuantizedModel(model, { model: 'test' }));
    expect(back).toEqual(model);
  });

  it('refuses files that are not int8 models or break their layout, naming the key', () => {
    expect(() => decodeQuantizedModel(writeSafetensors(new Map([['a', { shape: [1], data: Float32Array.of(1) }]])))).toThrow(/not an int8 model: expected .safetensors metadata format 'cnn-int8', got none/);
    const bytes = encodeQuantizedModel(model);
    const end = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const edit = (from: string, to: string) => {
      const header = new TextDecoder().decode(bytes.subarray(8, end));
      expect(header).toContain(from);
      expect(from.length).toBe(to.length);
      const out = bytes.slice();
      out.set(new TextEncoder().encode(header.replace(from, to)), 8);
      return out;
    };
    // a header edit that keeps the byte layout
    expect(() => decodeQuantizedModel(edit('"conv1.bias":{"dtype":"I64"', '"conv1.bias":{"dtype":"F64"'))).toThrow(/'conv1.bias': expected dtype I64, got F64/);
    expect(() => decodeQuantizedModel(edit('"conv1.weight_scale"', '"conv1.weight_scalx"'))).toThrow(WeightsError);
    expect(() => decodeQuantizedModel(edit('"conv1.bias"', '"convX.bias"'))).toThrow(/int8 layer 'conv1' needs '.weight', '.weight_scale' and '.bias'/);
    expect(() => decodeQuantizedModel(edit('"residual-adds":"separate"', '"residual-adds":"separatX"'))).toThrow(/'residual-adds' must be 'fused' or 'separate'/);
    const badZero = encodeQuantizedModel({ ...model, activations: new Map([['quant', { scale: 0.5, zeroPoint: 300 }]]) });
    expect(() => decodeQuantizedModel(badZero)).toThrow(/'quant': expected a positive finite scale and a zero point in \[0, 255\], got 0.5 and 300/);
    const badScale = encodeQuantizedModel({ ...model, layers: new Map([['fc', { ...model.layers.get('conv1')!, weightScale: Float32Array.of(0.5, 0) }]]) });
    expect(() => decodeQuantizedModel(badScale)).toThrow(/'fc': weight_scale\[1\] must be positive and finite, got 0/);
  });
});

describe('validatePlan on int8 ops', () => {
  const q = { scale: 0.1, zeroPoint: 10 };
  const base = (ops: ExecutionPlan['ops'], outputs = [slot(2, 4, 32)]): ExecutionPlan => ({ batch: 1, input: slot(0, 4, 0), outputs, ops, arenaSize: 64 });
  it('accepts quantised slots where Q8_FIELDS says, and float ones elsewhere', () => {
    validatePlan(base([{ kind: 'quantize', input: slot(0, 4, 0), output: slot(1, 4, 16, q) }, { kind: 'dequantize', input: slot(1, 4, 16, q), output: slot(2, 4, 32) }]));
  });
  it('names the field that holds the wrong kind of tensor, and refuses bad parameters', () => {
    expect(() => validatePlan(base([{ kind: 'quantize', input: slot(0, 4, 0), output: slot(1, 4, 16) }]))).toThrow(/plan.ops\[0\] \(quantize\): output must be quantised/);
    expect(() => validatePlan(base([{ kind: 'activation', input: slot(0, 4, 0, q), output: slot(2, 4, 32), activation: 'relu' }]))).toThrow(/input is quantised \(uint8\), but this field holds float32/);
    expect(() => validatePlan(base([{ kind: 'quantize', input: slot(0, 4, 0), output: slot(1, 4, 16, { scale: 0.1, zeroPoint: 256 }) }]))).toThrow(/zeroPoint must be an integer in \[0, 255\], got 256/);
    expect(() => validatePlan(base([], [slot(1, 4, 16, q)]))).toThrow(/an output must be float32/);
    const table = new Uint8Array(10);
    expect(() => validatePlan(base([{ kind: 'q8lookup', input: slot(1, 4, 16, q), output: slot(2, 4, 32, q), activation: 'tanh', table }]))).toThrow(/table must be a Uint8Array of 256 entries/);
    expect(() => validatePlan(base([{ kind: 'q8add', a: slot(1, 4, 16, q), b: slot(1, 4, 16, q), output: slot(2, 4, 32, q), activation: 'tanh' as never }]))).toThrow(/activation 'tanh' is not an int8 clamp/);
  });
});
