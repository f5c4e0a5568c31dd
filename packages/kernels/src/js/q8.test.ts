// The int8 reference kernels against float64: each test dequantises the uint8/int8 operands,
// computes the layer in real numbers (explicitly padded input, patches gathered per output, so
// not the kernels' loops), and requires the kernel's uint8 to be the real result rounded to the
// output grid. Where the real value lies so close to a rounding tie that the f32 epilogue may
// legitimately fall either way (|distance| under a few f32 ulps), one step is allowed, and the
// tests require such near-ties to be rare, so they cannot pass by tolerance alone.
import { ShapeError } from '@cnn/core';
import { describe, expect, it } from 'vitest';
import { randomFloats } from '../test-helpers.js';
import {
  Q8_ROUND_LIMIT,
  activationBounds,
  adaptiveAvgPool2d,
  add,
  avgPool2d,
  conv2d,
  dequantize,
  linear,
  maxPool2d,
  quantize,
  quantizeBias,
  quantizeWeightsPerChannel,
  requantize,
  roundHalfEven,
  roundHalfEvenF32,
  type Q8Clamp,
  type Q8Tensor,
  type QuantParams,
} from './q8.js';

type Shape4 = [number, number, number, number];

/** Deterministic integers in [lo, hi]. */
function ints(length: number, seed: number, lo: number, hi: number): number[] {
  return Array.from(randomFloats(length, seed, lo, hi + 1), (v) => Math.min(hi, Math.floor(v)));
}

function tensor(shape: Shape4, seed: number, quant: QuantParams, lo = 0, hi = 255): Q8Tensor {
  const size = shape.reduce((a, d) => a * d, 1);
  return { data: Uint8Array.from(ints(size, seed, lo, hi)), shape, quant };
}

function real(t: Q8Tensor): Float64Array {
  return Float64Array.from(t.data, (q) => t.quant.scale * (q - t.quant.zeroPoint));
}

/** Output parameters that spread these real values over [0, 255] (plus some saturation at both ends). */
function fitOutput(values: Float64Array, seed: number): QuantParams {
  let lo = 0;
  let hi = 0;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const scale = Math.fround(((hi - lo) / 255) * (0.7 + 0.2 * randomFloats(1, seed, 0, 1)[0]) || 1);
  return { scale, zeroPoint: Math.max(0, Math.min(255, Math.round(-lo / scale))) };
}

/**
 * Compares a kernel's output with real-valued results: exact where the real value is decisively
 * on one side of a rounding tie, within one step otherwise. Returns the share of decisive elements.
 */
function expectOnGrid(got: Uint8Array, reals: Float64Array, out: QuantParams, clamp: Q8Clamp = [0, 255]): number {
  expect(got.length).toBe(reals.length);
  let decisive = 0;
  const wrong: string[] = [];
  for (let i = 0; i < reals.length; i++) {
    const v = reals[i] / out.scale;
    const want = Math.min(clamp[1], Math.max(clamp[0], roundHalfEven(Math.min(Q8_ROUND_LIMIT, Math.max(-Q8_ROUND_LIMIT, v))) + out.zeroPoint));
    const tieDistance = Math.abs(Math.abs(v - Math.floor(v)) - 0.5);
    const slack = 8 * 2 ** -24 * Math.max(1, Math.abs(v));
    if (tieDistance > slack) {
      decisive++;
      if (got[i] !== want) wrong.push(`[${i}] got ${got[i]}, want ${want} (real/scale ${v})`);
    } else if (Math.abs(got[i] - want) > 1) wrong.push(`[${i}] got ${got[i]}, want ${want} +-1 (near a tie: ${v})`);
  }
  expect(wrong.slice(0, 5)).toEqual([]);
  return decisive / reals.length;
}

interface ConvCase {
  shape: Shape4;
  outC: number;
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
  zx: number;
  residual: boolean;
  activation: 'none' | 'relu' | 'relu6';
}

/** Real-valued convolution over an explicitly zero-padded input, from gathered patches. */
function convReal(x: Q8Tensor, w: Int8Array, ws: Float32Array, bias: Int32Array, c: ConvCase): { values: Float64Array; shape: Shape4 } {
  const [n, h, wd, inC] = x.shape;
  const [ph, pw] = c.padding;
  const H = h + 2 * ph;
  const W = wd + 2 * pw;
  const padded = new Float64Array(n * H * W * inC);
  const xr = real(x);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < wd; j++)
        for (let ch = 0; ch < inC; ch++) padded[((b * H + i + ph) * W + j + pw) * inC + ch] = xr[((b * h + i) * wd + j) * inC + ch];
  const [kh, kw] = c.kernel;
  const outH = Math.floor((H - c.dilation[0] * (kh - 1) - 1) / c.stride[0]) + 1;
  const outW = Math.floor((W - c.dilation[1] * (kw - 1) - 1) / c.stride[1]) + 1;
  const inCg = inC / c.groups;
  const outCg = c.outC / c.groups;
  const values = new Float64Array(n * outH * outW * c.outC);
  const patch = new Float64Array(inCg * kh * kw); // torch order: [ic][ky][kx]
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < outH; oy++)
      for (let ox = 0; ox < outW; ox++)
        for (let g = 0; g < c.groups; g++) {
          for (let ic = 0; ic < inCg; ic++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * c.stride[0] + ky * c.dilation[0];
                const ix = ox * c.stride[1] + kx * c.dilation[1];
                patch[(ic * kh + ky) * kw + kx] = padded[((b * H + iy) * W + ix) * inC + g * inCg + ic];
              }
          for (let o = g * outCg; o < (g + 1) * outCg; o++) {
            let sum = x.quant.scale * ws[o] * bias[o];
            for (let i = 0; i < patch.length; i++) sum += patch[i] * ws[o] * w[o * patch.length + i];
            values[((b * outH + oy) * outW + ox) * c.outC + o] = sum;
          }
        }
  return { values, shape: [n, outH, outW, c.outC] };
}

function runConvCase(c: ConvCase, seed: number): number {
  const inQ = { scale: Math.fround(0.01 + 0.05 * randomFloats(1, seed, 0, 1)[0]), zeroPoint: c.zx };
  const x = tensor(c.shape, seed + 1, inQ);
  const k = (c.shape[3] / c.groups) * c.kernel[0] * c.kernel[1];
  const { weight, scales } = quantizeWeightsPerChannel(randomFloats(c.outC * k, seed + 2, -0.5, 0.5), c.outC);
  const bias = quantizeBias(randomFloats(c.outC, seed + 3, -1, 1), inQ.scale, scales);
  const ref = convReal(x, weight, scales, bias, c);
  let residual: Q8Tensor | undefined;
  if (c.residual) {
    residual = tensor(ref.shape, seed + 4, { scale: Math.fround(0.02 + 0.03 * randomFloats(1, seed + 5, 0, 1)[0]), zeroPoint: ints(1, seed + 6, 0, 255)[0] });
    const rr = real(residual);
    ref.values.forEach((v, i) => (ref.values[i] = v + rr[i]));
  }
  const output = fitOutput(ref.values, seed + 7);
  const clamp = activationBounds(c.activation, output);
  const got = conv2d({ input: x, weight, weightScales: scales, bias, outChannels: c.outC, kernel: c.kernel, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, output, clamp, residual });
  expect(got.shape).toEqual(ref.shape);
  return expectOnGrid(got.data, ref.values, output, clamp);
}

describe('q8 conv2d against float64', () => {
  const cases: [string, ConvCase][] = [
    ['1x1', { shape: [1, 5, 4, 13], outC: 7, kernel: [1, 1], stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, zx: 128, residual: false, activation: 'none' }],
    ['3x3 padded, ReLU, batch 2', { shape: [2, 6, 5, 5], outC: 9, kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1, zx: 3, residual: false, activation: 'relu' }],
    ['3x3 stride 2, residual', { shape: [1, 9, 8, 4], outC: 6, kernel: [3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 1, zx: 77, residual: true, activation: 'relu' }],
    ['depthwise 3x3, ReLU6, zero point 0', { shape: [1, 7, 7, 11], outC: 11, kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 11, zx: 0, residual: false, activation: 'relu6' }],
    ['depthwise 5x5 stride 2, zero point 255', { shape: [1, 11, 10, 6], outC: 6, kernel: [5, 5], stride: [2, 2], padding: [2, 2], dilation: [1, 1], groups: 6, zx: 255, residual: false, activation: 'none' }],
    ['grouped, dilated, asymmetric', { shape: [1, 9, 7, 6], outC: 4, kernel: [3, 2], stride: [1, 2], padding: [2, 0], dilation: [2, 1], groups: 2, zx: 200, residual: false, activation: 'none' }],
    ['depthwise multiplier 2 with residual', { shape: [1, 6, 6, 3], outC: 6, kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 3, zx: 10, residual: true, activation: 'relu6' }],
  ];
  it.each(cases)('%s', (_name, c) => {
    expect(runConvCase(c, 11)).toBeGreaterThan(0.97);
  });

  it('random shapes, groups and zero points', () => {
    let decisive = 0;
    const runs = 25;
    for (let r = 0; r < runs; r++) {
      const [g, cpg, opg, k, s, d, p, h, w, zx, act, res] = ints(12, 100 + r, 0, 1 << 20);
      const groups = 1 + (g % 3 === 0 ? cpg % 5 : 0);
      const inC = groups * (1 + (cpg % 4));
      const outC = groups * (1 + (opg % 3));
      const kernel = 1 + (k % 4);
      const dil = 1 + (d % 2);
      const c: ConvCase = {
        shape: [1, kernel * dil + (h % 5), kernel * dil + (w % 5), inC],
        outC,
        kernel: [kernel, kernel],
        stride: [1 + (s % 2), 1 + ((s >> 1) % 2)],
        padding: [p % (kernel + 1), (p >> 2) % (kernel + 1)],
        dilation: [dil, dil],
        groups,
        zx: zx % 3 === 0 ? 0 : zx % 3 === 1 ? 255 : zx % 256,
        residual: res % 2 === 0,
        activation: (['none', 'relu', 'relu6'] as const)[act % 3],
      };
      decisive += runConvCase(c, 1000 + r * 10);
    }
    expect(decisive / runs).toBeGreaterThan(0.97);
  });

  it('saturates at both ends of the output grid', () => {
    const x = tensor([1, 3, 3, 4], 5, { scale: 0.5, zeroPoint: 0 });
    const weight = new Int8Array(2 * 4).fill(127);
    weight.fill(-127, 4);
    const got = conv2d({ input: x, weight, weightScales: new Float32Array([1, 1]), outChannels: 2, kernel: [1, 1], output: { scale: 0.01, zeroPoint: 128 } });
    for (let i = 0; i < 9; i++) {
      const sum = x.data.slice(i * 4, i * 4 + 4).reduce((a, v) => a + v, 0);
      expect([got.data[2 * i], got.data[2 * i + 1]]).toEqual(sum === 0 ? [128, 128] : [255, 0]);
    }
  });

  it('saturates values beyond 2^22 steps instead of wrapping', () => {
    // 1 * 255 * 127 real units on a grid of 2^-20: about 3.4e10 steps, clamped to +-2^22 then to [0, 255]
    const x: Q8Tensor = { data: new Uint8Array([255, 0]), shape: [1, 1, 2, 1], quant: { scale: 1, zeroPoint: 0 } };
    const got = conv2d({ input: x, weight: new Int8Array([127, -127]), weightScales: new Float32Array([1, 1]), outChannels: 2, kernel: [1, 1], output: { scale: 2 ** -20, zeroPoint: 0 } });
    expect(Array.from(got.data)).toEqual([255, 0, 0, 0]);
  });

  it('refuses bad parameters with a ShapeError naming what was expected', () => {
    const x = tensor([1, 4, 4, 4], 1, { scale: 0.1, zeroPoint: 10 });
    const base = { input: x, weight: new Int8Array(2 * 4 * 9), weightScales: new Float32Array([1, 1]), outChannels: 2, kernel: [3, 3] as const, output: { scale: 0.1, zeroPoint: 0 } };
    expect(() => conv2d({ ...base, groups: 3 })).toThrow(/groups 3 must divide input channels 4/);
    expect(() => conv2d({ ...base, weight: new Int8Array(5) })).toThrow(/expected 72 int8 weights/);
    expect(() => conv2d({ ...base, weightScales: new Float32Array([1, 0]) })).toThrow(/weight scale 1: expected a finite scale > 0, got 0/);
    expect(() => conv2d({ ...base, output: { scale: 0.1, zeroPoint: 256 } })).toThrow(/zero point in \[0, 255\], got 256/);
    expect(() => conv2d({ ...base, output: { scale: Number.NaN, zeroPoint: 0 } })).toThrow(ShapeError);
    expect(() => conv2d({ ...base, kernel: [5, 5] })).toThrow(/smaller than the dilated kernel/);
    expect(() => conv2d({ ...base, stride: [0, 1] })).toThrow(/stride: expected two integers >= 1/);
    expect(() => conv2d({ ...base, clamp: [10, 5] })).toThrow(/0 <= lo <= hi <= 255/);
    expect(() => conv2d({ ...base, bias: new Int32Array(3) })).toThrow(/expected 2 int32 biases/);
    expect(() => conv2d({ ...base, weight: new Int8Array(72).fill(-128) })).toThrow(/is -128/);
    expect(() => conv2d({ ...base, residual: tensor([1, 2, 2, 3], 1, { scale: 1, zeroPoint: 0 }) })).toThrow(/residual of the output's shape \[1, 2, 2, 2\], got \[1, 2, 2, 3\]/);
    expect(() => conv2d({ ...base, input: { ...x, data: new Uint8Array(3) } })).toThrow(/holds 64 values, but the data has 3/);
    expect(() => conv2d({ ...base, bias: new Int32Array([2 ** 31 - 1, 0]), weight: new Int8Array(72).fill(1) })).toThrow(expect.objectContaining({ name: 'ShapeError', code: 'limit' }));
    // multipliers over 2^64 (an output scale far too small): refused, not rounded from infinity
    expect(() => conv2d({ ...base, output: { scale: 1e-30, zeroPoint: 0 } })).toThrow(expect.objectContaining({ name: 'ShapeError', code: 'limit', message: expect.stringMatching(/channel 0's requantisation multiplier is 1\.0\d*e\+29, over 2\^64/) }));
    expect(() => conv2d({ ...base, output: { scale: 0.1 * 2 ** -64, zeroPoint: 0 } })).not.toThrow();
    expect(() => conv2d({ ...base, residual: tensor([1, 2, 2, 2], 1, { scale: 1e30, zeroPoint: 0 }) })).toThrow(/residual multiplier is .* over 2\^64/);
  });
});

describe('q8 linear against float64', () => {
  it('matches the real product on odd sizes, with residual and ReLU', () => {
    const n = 3;
    const inF = 37;
    const outF = 11;
    const x = tensor([n, 1, 1, inF], 21, { scale: 0.03, zeroPoint: 131 });
    const { weight, scales } = quantizeWeightsPerChannel(randomFloats(outF * inF, 22, -0.3, 0.3), outF);
    const bias = quantizeBias(randomFloats(outF, 23), x.quant.scale, scales);
    const residual = tensor([n, 1, 1, outF], 24, { scale: 0.05, zeroPoint: 90 });
    const xr = real(x);
    const rr = real(residual);
    const values = new Float64Array(n * outF);
    for (let b = 0; b < n; b++)
      for (let o = 0; o < outF; o++) {
        let s = x.quant.scale * scales[o] * bias[o] + rr[b * outF + o];
        for (let i = 0; i < inF; i++) s += xr[b * inF + i] * scales[o] * weight[o * inF + i];
        values[b * outF + o] = s;
      }
    const output = fitOutput(values, 25);
    const clamp = activationBounds('relu', output);
    const got = linear({ input: x, weight, weightScales: scales, bias, outFeatures: outF, output, clamp, residual });
    expect(got.shape).toEqual([n, 1, 1, outF]);
    expect(expectOnGrid(got.data, values, output, clamp)).toBeGreaterThan(0.97);
  });
});

describe('q8 pooling', () => {
  it('max pool takes the largest code of each window, padding never wins', () => {
    const x = tensor([2, 7, 6, 5], 31, { scale: 0.1, zeroPoint: 200 });
    const got = maxPool2d(x, { kernel: [3, 3], stride: [2, 2], padding: [1, 1], ceilMode: true });
    expect(got.shape).toEqual([2, 4, 4, 5]);
    expect(got.quant).toEqual(x.quant);
    for (let b = 0; b < 2; b++)
      for (let oy = 0; oy < 4; oy++)
        for (let ox = 0; ox < 4; ox++)
          for (let c = 0; c < 5; c++) {
            const cells: number[] = [];
            for (let iy = oy * 2 - 1; iy < oy * 2 + 2; iy++)
              for (let ix = ox * 2 - 1; ix < ox * 2 + 2; ix++) if (iy >= 0 && iy < 7 && ix >= 0 && ix < 6) cells.push(x.data[((b * 7 + iy) * 6 + ix) * 5 + c]);
            expect(got.data[((b * 4 + oy) * 4 + ox) * 5 + c]).toBe(Math.max(...cells));
          }
  });

  it.each([true, false])('avg pool is the real mean on the output grid (countIncludePad %s)', (includePad) => {
    const x = tensor([1, 6, 7, 3], 41, { scale: 0.07, zeroPoint: 60 });
    const xr = real(x);
    const output = { scale: 0.05, zeroPoint: 100 };
    const got = avgPool2d(x, { kernel: [3, 3], stride: [2, 2], padding: [1, 1], countIncludePad: includePad, output });
    expect(got.shape).toEqual([1, 3, 4, 3]);
    const values = new Float64Array(got.data.length);
    for (let oy = 0; oy < 3; oy++)
      for (let ox = 0; ox < 4; ox++)
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          let count = 0;
          for (let iy = oy * 2 - 1; iy < oy * 2 + 2; iy++)
            for (let ix = ox * 2 - 1; ix < ox * 2 + 2; ix++) {
              const inside = iy >= 0 && iy < 6 && ix >= 0 && ix < 7;
              if (inside) sum += xr[(iy * 7 + ix) * 3 + c];
              if (inside || includePad) count++;
            }
          values[(oy * 4 + ox) * 3 + c] = sum / count;
        }
    expect(expectOnGrid(got.data, values, output)).toBeGreaterThan(0.97);
  });

  it('avg pool with equal parameters rounds the mean half to even', () => {
    // windows of 2: means 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -1.5 -> -2 (codes relative to the zero point 7)
    const x: Q8Tensor = { data: new Uint8Array([7, 8, 8, 9, 9, 10, 6, 5]), shape: [1, 1, 8, 1], quant: { scale: 1, zeroPoint: 7 } };
    const got = avgPool2d(x, { kernel: [1, 2], output: x.quant });
    expect(Array.from(got.data)).toEqual([7, 9, 9, 5]);
  });

  it('global (adaptive 1x1) average pooling matches the real mean', () => {
    const x = tensor([2, 7, 7, 9], 51, { scale: 0.02, zeroPoint: 0 });
    const xr = real(x);
    const output = { scale: 0.011, zeroPoint: 3 };
    const got = adaptiveAvgPool2d(x, [1, 1], output);
    const values = new Float64Array(18);
    for (let b = 0; b < 2; b++)
      for (let c = 0; c < 9; c++) {
        let s = 0;
        for (let i = 0; i < 49; i++) s += xr[(b * 49 + i) * 9 + c];
        values[b * 9 + c] = s / 49;
      }
    expect(got.shape).toEqual([2, 1, 1, 9]);
    expect(expectOnGrid(got.data, values, output)).toBeGreaterThan(0.9);
  });

  it('refuses padding over half the kernel and a window larger than the input', () => {
    const x = tensor([1, 2, 2, 1], 1, { scale: 1, zeroPoint: 0 });
    expect(() => maxPool2d(x, { kernel: [2, 2], padding: [2, 0] })).toThrow(/at most half the kernel/);
    expect(() => avgPool2d(x, { kernel: [3, 3], output: x.quant })).toThrow(/smaller than the 3x3 window/);
  });
});

describe('q8 add, requantize, quantize, dequantize', () => {
  it('add sums two tensors with their own parameters on the output grid', () => {
    const a = tensor([1, 4, 5, 7], 61, { scale: 0.04, zeroPoint: 255 });
    const b = tensor([1, 4, 5, 7], 62, { scale: 0.09, zeroPoint: 0 });
    const ar = real(a);
    const br = real(b);
    const values = ar.map((v, i) => v + br[i]);
    const output = fitOutput(values, 63);
    const clamp = activationBounds('relu', output);
    expect(expectOnGrid(add(a, b, output, clamp).data, values, output, clamp)).toBeGreaterThan(0.97);
    expect(() => add(a, tensor([1, 4, 5, 6], 1, a.quant), output)).toThrow(/one shape, got \[1, 4, 5, 7\] and \[1, 4, 5, 6\]/);
    expect(() => add(a, b, { scale: 1e-25, zeroPoint: 0 })).toThrow(expect.objectContaining({ code: 'limit', message: expect.stringMatching(/first input multiplier is .* over 2\^64/) }));
  });

  it('requantize moves codes to a new grid', () => {
    const x = tensor([1, 3, 3, 8], 71, { scale: 0.3, zeroPoint: 40 });
    const output = { scale: 0.17, zeroPoint: 120 };
    expect(expectOnGrid(requantize(x, output).data, real(x), output)).toBeGreaterThan(0.97);
  });

  it('quantize rounds x / scale half to even, saturates, and refuses NaN; dequantize inverts it on the grid', () => {
    const q = { scale: 0.5, zeroPoint: 10 };
    const x = new Float32Array([0, 0.25, 0.75, -0.25, -0.75, 1.25, 200, -200, Infinity, -Infinity]);
    const got = quantize(x, [1, 1, 1, x.length], q);
    expect(Array.from(got.data)).toEqual([10, 10, 12, 10, 8, 12, 255, 0, 255, 0]);
    expect(Array.from(dequantize(got))).toEqual([0, 0, 1, 0, -1, 1, 122.5, -5, 122.5, -5]);
    expect(() => quantize(new Float32Array([1, Number.NaN]), [1, 1, 1, 2], q)).toThrow(/element 1 is NaN/);
    expect(() => quantize(x, [1, 1, 1, 3], q)).toThrow(/holds 3 values, but the data has 10/);
  });
});

describe('rounding and parameter helpers', () => {
  it('roundHalfEvenF32 rounds ties to even across the whole documented range', () => {
    const cases: [number, number][] = [
      [0.5, 0], [1.5, 2], [2.5, 2], [-0.5, 0], [-1.5, -2], [-2.5, -2], [0.49999997, 0], [3.7, 4], [-3.7, -4],
      [4194303.5, 4194304], [4194302.5, 4194302], [-4194303.5, -4194304], [4194304, 4194304], [-4194304, -4194304],
      [4194305, 4194304], [1e12, 4194304], [-1e12, -4194304], [Infinity, 4194304], [-Infinity, -4194304],
    ];
    for (const [v, want] of cases) expect([v, roundHalfEvenF32(v) + 0]).toEqual([v, want]);
  });

  it('per-channel weights are symmetric in [-127, 127], zero channels get scale 1', () => {
    const { weight, scales } = quantizeWeightsPerChannel(new Float32Array([0.5, -1, 0.25, 0, 0, 0]), 2);
    expect(Array.from(weight)).toEqual([64, -127, 32, 0, 0, 0]);
    expect(Array.from(scales)).toEqual([Math.fround(1 / 127), 1]);
    expect(() => quantizeWeightsPerChannel(new Float32Array(5), 2)).toThrow(/5 weights do not split into 2/);
  });

  it('activation bounds clamp ReLU at the zero point and ReLU6 at 6', () => {
    const q = { scale: 0.05, zeroPoint: 20 };
    expect(activationBounds('none', q)).toEqual([0, 255]);
    expect(activationBounds('relu', q)).toEqual([20, 255]);
    expect(activationBounds('relu6', q)).toEqual([20, 140]);
    expect(activationBounds({ min: -1, max: 1 }, q)).toEqual([0, 40]);
    expect(() => activationBounds({ min: 1, max: -1 }, q)).toThrow(/min <= max/);
  });
});
