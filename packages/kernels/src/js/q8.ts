// Int8 reference kernels (issue 15): scalar NHWC loops that define, bit for bit, what every int8
// kernel (wasm plain SIMD, wasm relaxed SIMD) must output.
//
// Weights are int8 per output channel (symmetric, values in [-127, 127]); activations are uint8
// per tensor (real = scale * (q - zeroPoint)). Accumulation is exact int32; requantisation runs
// in f32 with Math.fround after every step, so that wasm's f32 instructions reproduce it exactly
// (an f32 add, multiply or divide computed in f64 and rounded once equals the f32 instruction).
// The full semantics, and what they add to the helper spec: packages/kernels/INT8.md.
import { ShapeError, adaptiveCell } from '@cnn/core';

/** real = scale * (q - zeroPoint); scale > 0 and finite, zeroPoint an integer in [0, 255]. */
export interface QuantParams {
  readonly scale: number;
  readonly zeroPoint: number;
}

/** A uint8 NHWC tensor with its quantisation parameters. 2-D tensors are [n, 1, 1, features]. */
export interface Q8Tensor {
  readonly data: Uint8Array;
  readonly shape: readonly [number, number, number, number];
  readonly quant: QuantParams;
}

/** Quantised clamp bounds [lo, hi] of an output, 0 <= lo <= hi <= 255 (see activationBounds). */
export type Q8Clamp = readonly [number, number];

/** Activations that an int8 epilogue applies as a clamp; {min, max} is hardtanh. */
export type Q8Activation = 'none' | 'relu' | 'relu6' | { readonly min: number; readonly max: number };

/** Largest |v| that roundHalfEvenF32 rounds exactly; larger values saturate to +-2^22. */
export const Q8_ROUND_LIMIT = 4194304; // 2^22
const MAGIC = 12582912; // 1.5 * 2^23: adding it leaves no fraction bits in [2^23, 2^24]
/** Most cells a pooling window may sum: 65536 * 255 < 2^24, so the f32 mean's dividend is exact. */
export const Q8_MAX_POOL_CELLS = 65536;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

const fr = Math.fround;

/**
 * Rounds an f32 value to the nearest integer, ties to even, exactly as the wasm kernels do:
 * v is clamped to [-2^22, 2^22], then fround(fround(v + 1.5 * 2^23) - 1.5 * 2^23). In
 * [2^23, 2^24] the f32 spacing is 1, so the add rounds to an integer (ties to even).
 * NaN is not handled here; the kernels never produce it (their inputs are integers).
 */
export function roundHalfEvenF32(v: number): number {
  const c = v > Q8_ROUND_LIMIT ? Q8_ROUND_LIMIT : v < -Q8_ROUND_LIMIT ? -Q8_ROUND_LIMIT : fr(v);
  return fr(fr(c + MAGIC) - MAGIC);
}

/** Round half to even in f64 (for bias and weight quantisation, computed once at pack time). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The epilogue's f32 multiplier: fround(inputScale * weightScale / outputScale). */
export function requantMultiplier(inputScale: number, weightScale: number, outputScale: number): number {
  return fr((inputScale * weightScale) / outputScale);
}

/**
 * The largest multiplier an epilogue takes (`checkedMultiplier`): up to it, a multiplier times
 * an int32 sum or a code difference stays finite in f32, which the wasm kernels' rounding relies
 * on (kernels-wasm/src/q8/requant.rs). Real ones are near 1.
 */
export const MAX_MULTIPLIER = 2 ** 64;

/** `m` if it is at most MAX_MULTIPLIER; otherwise a ShapeError (code 'limit') naming `what`. */
export function checkedMultiplier(m: number, what: string, where: string): number {
  if (!(m <= MAX_MULTIPLIER)) {
    throw new ShapeError(`${where}: the ${what} multiplier is ${m}, over 2^64: the output scale is too small for the input's (and weights') scales`, { code: 'limit' });
  }
  return m;
}

/** An add's two multipliers, fround(s_a / s_y) and fround(s_b / s_y), each checked. */
export function addMultipliers(a: QuantParams, b: QuantParams, output: QuantParams, where: string): [number, number] {
  return [checkedMultiplier(fr(a.scale / output.scale), 'first input', where), checkedMultiplier(fr(b.scale / output.scale), 'second input', where)];
}

/**
 * The quantised clamp bounds of an activation for an output with these parameters: 'none' is
 * [0, 255], 'relu' [z, 255], 'relu6' [z, z + round(6 / s)] and {min, max} (hardtanh)
 * [z + round(min / s), z + round(max / s)], each bound clamped to [0, 255]; round is
 * roundHalfEvenF32 of the f32 quotient.
 */
export function activationBounds(activation: Q8Activation, quant: QuantParams): Q8Clamp {
  checkQuant(quant, 'activationBounds output');
  const z = quant.zeroPoint;
  const at = (real: number) => clampInt(z + roundHalfEvenF32(fr(real / quant.scale)), 0, 255);
  if (activation === 'none') return [0, 255];
  if (activation === 'relu') return [z, 255];
  if (activation === 'relu6') return [z, at(6)];
  if (typeof activation === 'object' && Number.isFinite(activation.min) && Number.isFinite(activation.max) && activation.min <= activation.max) {
    return [at(activation.min), at(activation.max)];
  }
  throw new ShapeError(`activationBounds: expected 'none', 'relu', 'relu6' or {min, max} with min <= max, got ${JSON.stringify(activation)}`);
}

/** Per-output-channel symmetric int8 weights: scale = max|w| / 127 (1 for a channel of zeros). */
export function quantizeWeightsPerChannel(weight: Float32Array, outChannels: number): { weight: Int8Array; scales: Float32Array } {
  checkPositiveInt(outChannels, 'quantizeWeightsPerChannel outChannels');
  if (weight.length % outChannels !== 0) {
    throw new ShapeError(`quantizeWeightsPerChannel: ${weight.length} weights do not split into ${outChannels} output channels`);
  }
  const per = weight.length / outChannels;
  const q = new Int8Array(weight.length);
  const scales = new Float32Array(outChannels);
  for (let c = 0; c < outChannels; c++) {
    let max = 0;
    for (let i = c * per; i < (c + 1) * per; i++) {
      const a = Math.abs(weight[i]);
      if (!Number.isFinite(a)) throw new ShapeError(`quantizeWeightsPerChannel: weight ${i} is ${weight[i]}, expected a finite number`);
      if (a > max) max = a;
    }
    const s = max === 0 ? 1 : fr(max / 127);
    scales[c] = s;
    for (let i = c * per; i < (c + 1) * per; i++) q[i] = clampInt(roundHalfEven(weight[i] / s), -127, 127);
  }
  return { weight: q, scales };
}

/** int32 bias b_q[c] = roundHalfEven(b[c] / (inputScale * weightScales[c])), computed in f64. */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: Float32Array): Int32Array {
  if (bias.length !== weightScales.length) {
    throw new ShapeError(`quantizeBias: expected one bias per weight scale (${weightScales.length}), got ${bias.length}`);
  }
  checkScale(inputScale, 'quantizeBias inputScale');
  const out = new Int32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    const q = roundHalfEven(bias[c] / (inputScale * weightScales[c]));
    if (!(q >= INT32_MIN && q <= INT32_MAX)) {
      throw new ShapeError(`quantizeBias: bias ${c} (${bias[c]}) is ${q} quantisation steps, outside int32`, { code: 'limit' });
    }
    out[c] = q;
  }
  return out;
}

/**
 * f32 -> uint8 as torch.quantize_per_tensor: q = clamp(roundHalfEvenF32(fround(x * fround(1 / scale)))
 * + zeroPoint, 0, 255). NaN is refused (uint8 has no place for it); infinities saturate.
 */
export function quantize(x: Float32Array, shape: readonly [number, number, number, number], quant: QuantParams): Q8Tensor {
  checkShape(shape, x.length, 'quantize input');
  checkQuant(quant, 'quantize output');
  const out = new Uint8Array(x.length);
  const inverse = fr(1 / quant.scale);
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i])) throw new ShapeError(`quantize: element ${i} is NaN, which uint8 cannot hold`);
    out[i] = clampInt(roundHalfEvenF32(fr(x[i] * inverse)) + quant.zeroPoint, 0, 255);
  }
  return { data: out, shape: [...shape], quant };
}

/** uint8 -> f32: x = fround(scale * (q - zeroPoint)). */
export function dequantize(t: Q8Tensor): Float32Array {
  checkTensor(t, 'dequantize input');
  const out = new Float32Array(t.data.length);
  const s = fr(t.quant.scale);
  for (let i = 0; i < out.length; i++) out[i] = fr(s * (t.data[i] - t.quant.zeroPoint));
  return out;
}

/** uint8 -> uint8 with new parameters: v = fround((q - z_x) * m), m = fround(s_x / s_y). */
export function requantize(t: Q8Tensor, output: QuantParams, clamp: Q8Clamp = [0, 255]): Q8Tensor {
  checkTensor(t, 'requantize input');
  checkQuant(output, 'requantize output');
  checkClamp(clamp, 'requantize');
  const m = fr(t.quant.scale / output.scale);
  const out = new Uint8Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = finish(fr((t.data[i] - t.quant.zeroPoint) * m), output.zeroPoint, clamp);
  return { data: out, shape: [...t.shape], quant: output };
}

export interface Q8Conv2dParams {
  readonly input: Q8Tensor;
  /** int8 in [-127, 127], torch's layout [outC][inC / groups][kh][kw] */
  readonly weight: Int8Array;
  /** one per output channel, > 0 */
  readonly weightScales: Float32Array;
  /** int32 per output channel (quantizeBias); none means zeros */
  readonly bias?: Int32Array;
  readonly outChannels: number;
  readonly kernel: readonly [number, number];
  readonly stride?: readonly [number, number];
  /** zero padding on both sides, [rows, columns]; padded cells are real zeros (q = z_x) */
  readonly padding?: readonly [number, number];
  readonly dilation?: readonly [number, number];
  readonly groups?: number;
  readonly output: QuantParams;
  /** quantised output bounds, default [0, 255] (activationBounds gives ReLU's and ReLU6's) */
  readonly clamp?: Q8Clamp;
  /** a tensor of the output's shape added before the clamp (ResNet's shortcut) */
  readonly residual?: Q8Tensor;
}

/**
 * Convolution, NHWC. Per output: acc = bias + sum (q_x - z_x) * q_w (exact int32);
 * v = fround(fround(acc) * m[c]), m[c] = requantMultiplier(s_x, s_w[c], s_y);
 * with a residual r: v = fround(v + fround((q_r - z_r) * fround(s_r / s_y)));
 * q_y = clamp(roundHalfEvenF32(v) + z_y, lo, hi).
 */
/** A convolution's checked geometry and epilogue constants (what every int8 kernel needs). */
export interface Q8ConvPlan {
  readonly n: number;
  readonly inH: number;
  readonly inW: number;
  readonly inC: number;
  readonly outH: number;
  readonly outW: number;
  readonly outC: number;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
  readonly clamp: Q8Clamp;
  /** requantMultiplier per output channel */
  readonly mult: Float32Array;
  /** fround(s_r / s_y), 0 without a residual */
  readonly residualMult: number;
  readonly outShape: readonly [number, number, number, number];
}

/** Checks a convolution's parameters (ShapeError naming what was expected) and derives its plan. */
export function planConv2d(p: Q8Conv2dParams): Q8ConvPlan {
  const where = 'q8 conv2d';
  checkTensor(p.input, `${where} input`);
  checkQuant(p.output, `${where} output`);
  const [n, inH, inW, inC] = p.input.shape;
  const outC = p.outChannels;
  checkPositiveInt(outC, `${where} outChannels`);
  const kernel = checkPair(p.kernel, 1, `${where} kernel`);
  const stride = checkPair(p.stride ?? [1, 1], 1, `${where} stride`);
  const padding = checkPair(p.padding ?? [0, 0], 0, `${where} padding`);
  const dilation = checkPair(p.dilation ?? [1, 1], 1, `${where} dilation`);
  const [kh, kw] = kernel;
  const groups = p.groups ?? 1;
  checkPositiveInt(groups, `${where} groups`);
  if (inC % groups !== 0 || outC % groups !== 0) {
    throw new ShapeError(`${where}: groups ${groups} must divide input channels ${inC} and output channels ${outC}`);
  }
  const outH = Math.floor((inH + 2 * padding[0] - dilation[0] * (kh - 1) - 1) / stride[0]) + 1;
  const outW = Math.floor((inW + 2 * padding[1] - dilation[1] * (kw - 1) - 1) / stride[1]) + 1;
  if (outH < 1 || outW < 1) {
    throw new ShapeError(`${where}: input ${formatShape(p.input.shape)} is smaller than the dilated kernel ${formatShape(kernel)} with padding ${formatShape(padding)}`);
  }
  checkWeights(p.weight, p.weightScales, p.bias, outC, (inC / groups) * kh * kw, where);
  const clamp = p.clamp ?? [0, 255];
  checkClamp(clamp, where);
  const outShape = [n, outH, outW, outC] as const;
  const residual = p.residual && checkResidual(p.residual, outShape, p.output, where);
  const mult = p.weightScales.map((s, c) => checkedMultiplier(requantMultiplier(p.input.quant.scale, s, p.output.scale), `channel ${c}'s requantisation`, where));
  return { n, inH, inW, inC, outH, outW, outC, kernel, stride, padding, dilation, groups, clamp, mult, residualMult: residual?.mult ?? 0, outShape };
}

/**
 * Convolution, NHWC. Per output: acc = bias + sum (q_x - z_x) * q_w (exact int32);
 * v = fround(fround(acc) * m[c]), m[c] = requantMultiplier(s_x, s_w[c], s_y);
 * with a residual r: v = fround(v + fround((q_r - z_r) * fround(s_r / s_y)));
 * q_y = clamp(roundHalfEvenF32(v) + z_y, lo, hi).
 */
export function conv2d(p: Q8Conv2dParams): Q8Tensor {
  const { n, inH, inW, inC, outH, outW, outC, groups, clamp, mult, residualMult, outShape } = planConv2d(p);
  const [kh, kw] = p.kernel;
  const [sh, sw] = p.stride ?? [1, 1];
  const [ph, pw] = p.padding ?? [0, 0];
  const [dh, dw] = p.dilation ?? [1, 1];
  const inCg = inC / groups;
  const outCg = outC / groups;
  const residual = p.residual && { data: p.residual.data, zeroPoint: p.residual.quant.zeroPoint, mult: residualMult };
  const x = p.input.data;
  const zx = p.input.quant.zeroPoint;
  const y = new Uint8Array(n * outH * outW * outC);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const pixel = (b * outH + oy) * outW + ox;
        for (let oc = 0; oc < outC; oc++) {
          const g = Math.floor(oc / outCg);
          let acc = p.bias ? p.bias[oc] : 0;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh - ph + ky * dh;
            if (iy < 0 || iy >= inH) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * sw - pw + kx * dw;
              if (ix < 0 || ix >= inW) continue;
              const inBase = ((b * inH + iy) * inW + ix) * inC + g * inCg;
              const wBase = (oc * inCg * kh + ky) * kw + kx;
              for (let ic = 0; ic < inCg; ic++) acc += (x[inBase + ic] - zx) * p.weight[wBase + ic * kh * kw];
            }
          }
          y[pixel * outC + oc] = epilogue(acc, mult[oc], residual, pixel * outC + oc, p.output.zeroPoint, clamp);
        }
      }
    }
  }
  return { data: y, shape: outShape, quant: p.output };
}

export interface Q8LinearParams {
  /** [n, 1, 1, inFeatures] (any [n, h, w, c] is flattened per sample) */
  readonly input: Q8Tensor;
  /** int8 in [-127, 127], [outFeatures][inFeatures] */
  readonly weight: Int8Array;
  readonly weightScales: Float32Array;
  readonly bias?: Int32Array;
  readonly outFeatures: number;
  readonly output: QuantParams;
  readonly clamp?: Q8Clamp;
  readonly residual?: Q8Tensor;
}

/** A linear layer as the 1x1 convolution it is, over [n, 1, 1, inFeatures] (how the wasm kernels run it). */
export function linearAsConv2d(p: Q8LinearParams): Q8Conv2dParams {
  checkTensor(p.input, 'q8 linear input');
  const n = p.input.shape[0];
  const input = { ...p.input, shape: [n, 1, 1, p.input.data.length / n] as const };
  return { ...p, input, outChannels: p.outFeatures, kernel: [1, 1] };
}

/** Fully connected layer with conv2d's epilogue; the output is [n, 1, 1, outFeatures]. */
export function linear(p: Q8LinearParams): Q8Tensor {
  const where = 'q8 linear';
  checkTensor(p.input, `${where} input`);
  checkQuant(p.output, `${where} output`);
  checkPositiveInt(p.outFeatures, `${where} outFeatures`);
  const n = p.input.shape[0];
  const inF = p.input.data.length / n;
  const outF = p.outFeatures;
  checkWeights(p.weight, p.weightScales, p.bias, outF, inF, where);
  const clamp = p.clamp ?? [0, 255];
  checkClamp(clamp, where);
  const outShape = [n, 1, 1, outF] as const;
  const residual = p.residual && checkResidual(p.residual, outShape, p.output, where);
  const mult = p.weightScales.map((s, o) => checkedMultiplier(requantMultiplier(p.input.quant.scale, s, p.output.scale), `output ${o}'s requantisation`, where));
  const zx = p.input.quant.zeroPoint;
  const y = new Uint8Array(n * outF);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < outF; o++) {
      let acc = p.bias ? p.bias[o] : 0;
      for (let i = 0; i < inF; i++) acc += (p.input.data[b * inF + i] - zx) * p.weight[o * inF + i];
      y[b * outF + o] = epilogue(acc, mult[o], residual, b * outF + o, p.output.zeroPoint, clamp);
    }
  }
  return { data: y, shape: outShape, quant: p.output };
}

export interface Q8Pool2dParams {
  readonly kernel: readonly [number, number];
  /** default: the kernel */
  readonly stride?: readonly [number, number];
  /** [rows, columns] on both sides, at most half the kernel (as PyTorch) */
  readonly padding?: readonly [number, number];
  readonly ceilMode?: boolean;
}

/** Max pooling; padded cells never win. The output keeps the input's parameters (max commutes with them). */
export function maxPool2d(input: Q8Tensor, p: Q8Pool2dParams): Q8Tensor {
  const where = 'q8 maxPool2d';
  const g = poolGeometry(input, p, where);
  const [n, inH, inW, c] = input.shape;
  const x = input.data;
  // zeros to start from: every code is >= 0, and padded cells never count
  const y = new Uint8Array(n * g.outH * g.outW * c);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        const y0 = Math.max(oy * g.sh - g.ph, 0);
        const y1 = Math.min(oy * g.sh - g.ph + g.kh, inH);
        const x0 = Math.max(ox * g.sw - g.pw, 0);
        const x1 = Math.min(ox * g.sw - g.pw + g.kw, inW);
        const out = ((b * g.outH + oy) * g.outW + ox) * c;
        // window cells outside, channels inside: each cell's channels are contiguous
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) {
            const at = ((b * inH + iy) * inW + ix) * c;
            for (let ch = 0; ch < c; ch++) if (x[at + ch] > y[out + ch]) y[out + ch] = x[at + ch];
          }
        }
      }
    }
  }
  return { data: y, shape: [n, g.outH, g.outW, c], quant: input.quant };
}

export interface Q8AvgPool2dParams extends Q8Pool2dParams {
  /** whether padded cells count in the divisor (PyTorch's count_include_pad, default true) */
  readonly countIncludePad?: boolean;
  readonly output: QuantParams;
  readonly clamp?: Q8Clamp;
}

/**
 * Average pooling: acc = sum (q_x - z_x) over the window's cells (padded cells add 0);
 * mean = fround(acc / divisor) (correctly rounded f32 division); v = fround(mean * fround(s_x / s_y));
 * q_y = clamp(roundHalfEvenF32(v) + z_y, lo, hi). With equal input and output parameters this is
 * the round-half-even of the f32 mean. The divisor follows PyTorch (windows clipped to the padded
 * input; count_include_pad chooses whether padded cells count).
 */
export function avgPool2d(input: Q8Tensor, p: Q8AvgPool2dParams): Q8Tensor {
  const where = 'q8 avgPool2d';
  const g = poolGeometry(input, p, where);
  checkQuant(p.output, `${where} output`);
  const clamp = p.clamp ?? [0, 255];
  checkClamp(clamp, where);
  const includePad = p.countIncludePad ?? true;
  const [n, inH, inW, c] = input.shape;
  const m = fr(input.quant.scale / p.output.scale);
  const zx = input.quant.zeroPoint;
  const y = new Uint8Array(n * g.outH * g.outW * c);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        const ys = oy * g.sh - g.ph;
        const xs = ox * g.sw - g.pw;
        const padded = (Math.min(ys + g.kh, inH + g.ph) - ys) * (Math.min(xs + g.kw, inW + g.pw) - xs);
        const y0 = Math.max(ys, 0);
        const y1 = Math.min(ys + g.kh, inH);
        const x0 = Math.max(xs, 0);
        const x1 = Math.min(xs + g.kw, inW);
        const divisor = includePad ? padded : (y1 - y0) * (x1 - x0);
        for (let ch = 0; ch < c; ch++) {
          let acc = 0;
          for (let iy = y0; iy < y1; iy++) {
            for (let ix = x0; ix < x1; ix++) acc += input.data[((b * inH + iy) * inW + ix) * c + ch] - zx;
          }
          y[((b * g.outH + oy) * g.outW + ox) * c + ch] = finish(fr(fr(acc / divisor) * m), p.output.zeroPoint, clamp);
        }
      }
    }
  }
  return { data: y, shape: [n, g.outH, g.outW, c], quant: p.output };
}

/**
 * PyTorch's AdaptiveAvgPool2d to [outH, outW] (cell i spans [floor(i*H/oh), ceil((i+1)*H/oh))),
 * with avgPool2d's arithmetic (divisor = the cell's size). [1, 1] is global average pooling.
 */
export function adaptiveAvgPool2d(input: Q8Tensor, outSize: readonly [number, number], output: QuantParams, clamp: Q8Clamp = [0, 255]): Q8Tensor {
  const where = 'q8 adaptiveAvgPool2d';
  checkTensor(input, `${where} input`);
  checkQuant(output, `${where} output`);
  checkClamp(clamp, where);
  const [outH, outW] = checkPair(outSize, 1, `${where} output size`);
  const [n, inH, inW, c] = input.shape;
  if (inH * inW > Q8_MAX_POOL_CELLS) throw new ShapeError(`${where}: ${inH * inW} cells per window is over the ${Q8_MAX_POOL_CELLS} an exact f32 mean allows`, { code: 'limit' });
  const m = fr(input.quant.scale / output.scale);
  const zx = input.quant.zeroPoint;
  const y = new Uint8Array(n * outH * outW * c);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < outH; oy++) {
      const [y0, y1] = adaptiveCell(oy, inH, outH);
      for (let ox = 0; ox < outW; ox++) {
        const [x0, x1] = adaptiveCell(ox, inW, outW);
        for (let ch = 0; ch < c; ch++) {
          let acc = 0;
          for (let iy = y0; iy < y1; iy++) {
            for (let ix = x0; ix < x1; ix++) acc += input.data[((b * inH + iy) * inW + ix) * c + ch] - zx;
          }
          y[((b * outH + oy) * outW + ox) * c + ch] = finish(fr(fr(acc / ((y1 - y0) * (x1 - x0))) * m), output.zeroPoint, clamp);
        }
      }
    }
  }
  return { data: y, shape: [n, outH, outW, c], quant: output };
}

/**
 * Elementwise sum of two uint8 tensors of one shape, each with its own parameters:
 * v = fround(fround((q_a - z_a) * m_a) + fround((q_b - z_b) * m_b)), m = fround(s / s_y);
 * q_y = clamp(roundHalfEvenF32(v) + z_y, lo, hi).
 */
export function add(a: Q8Tensor, b: Q8Tensor, output: QuantParams, clamp: Q8Clamp = [0, 255]): Q8Tensor {
  const where = 'q8 add';
  checkTensor(a, `${where} first input`);
  checkTensor(b, `${where} second input`);
  checkQuant(output, `${where} output`);
  checkClamp(clamp, where);
  if (!sameShape(a.shape, b.shape)) {
    throw new ShapeError(`${where}: expected inputs of one shape, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  const [ma, mb] = addMultipliers(a.quant, b.quant, output, where);
  const y = new Uint8Array(a.data.length);
  for (let i = 0; i < y.length; i++) {
    const v = fr(fr((a.data[i] - a.quant.zeroPoint) * ma) + fr((b.data[i] - b.quant.zeroPoint) * mb));
    y[i] = finish(v, output.zeroPoint, clamp);
  }
  return { data: y, shape: [...a.shape], quant: output };
}

interface Residual {
  readonly data: Uint8Array;
  readonly zeroPoint: number;
  readonly mult: number;
}

function epilogue(acc: number, mult: number, residual: Residual | undefined, at: number, zy: number, clamp: Q8Clamp): number {
  let v = fr(fr(acc) * mult);
  if (residual) v = fr(v + fr((residual.data[at] - residual.zeroPoint) * residual.mult));
  return finish(v, zy, clamp);
}

function finish(v: number, zy: number, clamp: Q8Clamp): number {
  return clampInt(roundHalfEvenF32(v) + zy, clamp[0], clamp[1]);
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function clampInt(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function checkScale(s: number, where: string): void {
  if (!(typeof s === 'number' && Number.isFinite(s) && s > 0)) throw new ShapeError(`${where}: expected a finite scale > 0, got ${s}`);
}

function checkQuant(q: QuantParams, where: string): void {
  checkScale(q?.scale, `${where} scale`);
  if (!(Number.isInteger(q.zeroPoint) && q.zeroPoint >= 0 && q.zeroPoint <= 255)) {
    throw new ShapeError(`${where}: expected an integer zero point in [0, 255], got ${q.zeroPoint}`);
  }
}

function checkPositiveInt(v: number, where: string): void {
  if (!(Number.isInteger(v) && v >= 1)) throw new ShapeError(`${where}: expected a positive integer, got ${v}`);
}

function checkPair(p: readonly number[], min: number, where: string): readonly [number, number] {
  if (!(Array.isArray(p) && p.length === 2 && p.every((v) => Number.isInteger(v) && v >= min))) {
    throw new ShapeError(`${where}: expected two integers >= ${min}, got ${JSON.stringify(p)}`);
  }
  return [p[0], p[1]];
}

function checkShape(shape: readonly number[], length: number, where: string): void {
  if (!(shape.length === 4 && shape.every((d) => Number.isInteger(d) && d >= 1))) {
    throw new ShapeError(`${where}: expected an NHWC shape of four positive integers, got ${JSON.stringify(shape)}`);
  }
  const size = shape.reduce((a, d) => a * d, 1);
  if (size !== length) throw new ShapeError(`${where}: shape ${formatShape(shape)} holds ${size} values, but the data has ${length}`);
}

function checkTensor(t: Q8Tensor, where: string): void {
  if (!(t?.data instanceof Uint8Array)) throw new ShapeError(`${where}: expected uint8 data (a Uint8Array)`);
  checkShape(t.shape, t.data.length, where);
  checkQuant(t.quant, where);
}

function checkClamp(c: Q8Clamp, where: string): void {
  if (!(Array.isArray(c) && c.length === 2 && Number.isInteger(c[0]) && Number.isInteger(c[1]) && c[0] >= 0 && c[0] <= c[1] && c[1] <= 255)) {
    throw new ShapeError(`${where}: expected a clamp [lo, hi] with 0 <= lo <= hi <= 255, got ${JSON.stringify(c)}`);
  }
}

function checkWeights(w: Int8Array, scales: Float32Array, bias: Int32Array | undefined, outC: number, k: number, where: string): void {
  if (!(w instanceof Int8Array) || w.length !== outC * k) {
    throw new ShapeError(`${where}: expected ${outC * k} int8 weights (${outC} channels of ${k}), got ${w instanceof Int8Array ? w.length : 'no Int8Array'}`);
  }
  const bad = w.indexOf(-128);
  if (bad >= 0) throw new ShapeError(`${where}: weight ${bad} is -128; symmetric int8 weights lie in [-127, 127]`);
  if (!(scales instanceof Float32Array) || scales.length !== outC) {
    throw new ShapeError(`${where}: expected ${outC} weight scales (a Float32Array), got ${scales instanceof Float32Array ? scales.length : 'none'}`);
  }
  scales.forEach((s, c) => checkScale(s, `${where} weight scale ${c}`));
  if (bias !== undefined && (!(bias instanceof Int32Array) || bias.length !== outC)) {
    throw new ShapeError(`${where}: expected ${outC} int32 biases (an Int32Array), got ${bias instanceof Int32Array ? bias.length : 'another type'}`);
  }
  // The accumulator (and the kernels' q_x * q_w - z_x * sum q_w form) stays exact int32 when
  // |bias| + 255 * sum |q_w| does: checked per channel, so no kernel ever wraps around.
  for (let c = 0; c < outC; c++) {
    let bound = Math.abs(bias?.[c] ?? 0);
    for (let i = c * k; i < (c + 1) * k; i++) bound += 255 * Math.abs(w[i]);
    if (bound > INT32_MAX) {
      throw new ShapeError(`${where}: channel ${c}'s bias plus 255 * sum |weights| is ${bound}, which could overflow the int32 accumulator`, { code: 'limit' });
    }
  }
}

function checkResidual(r: Q8Tensor, shape: readonly number[], output: QuantParams, where: string): Residual {
  checkTensor(r, `${where} residual`);
  if (!sameShape(r.shape, shape)) throw new ShapeError(`${where}: expected a residual of the output's shape ${formatShape(shape)}, got ${formatShape(r.shape)}`);
  return { data: r.data, zeroPoint: r.quant.zeroPoint, mult: checkedMultiplier(fr(r.quant.scale / output.scale), 'residual', where) };
}

function poolGeometry(input: Q8Tensor, p: Q8Pool2dParams, where: string) {
  checkTensor(input, `${where} input`);
  const [kh, kw] = checkPair(p.kernel, 1, `${where} kernel`);
  const [sh, sw] = checkPair(p.stride ?? p.kernel, 1, `${where} stride`);
  const [ph, pw] = checkPair(p.padding ?? [0, 0], 0, `${where} padding`);
  if (2 * ph > kh || 2 * pw > kw) throw new ShapeError(`${where}: padding ${formatShape([ph, pw])} must be at most half the kernel ${formatShape([kh, kw])}`);
  if (kh * kw > Q8_MAX_POOL_CELLS) throw new ShapeError(`${where}: a ${kh}x${kw} window is over the ${Q8_MAX_POOL_CELLS} cells an exact f32 mean allows`, { code: 'limit' });
  const [, inH, inW] = input.shape;
  const size = (len: number, k: number, s: number, pad: number) => {
    let out = Math.floor((len + 2 * pad - k + (p.ceilMode ? s - 1 : 0)) / s) + 1;
    if (p.ceilMode && (out - 1) * s >= len + pad) out--; // PyTorch: the last window starts inside
    return out;
  };
  const outH = size(inH, kh, sh, ph);
  const outW = size(inW, kw, sw, pw);
  if (outH < 1 || outW < 1) throw new ShapeError(`${where}: input ${formatShape(input.shape)} is smaller than the ${kh}x${kw} window`);
  return { kh, kw, sh, sw, ph, pw, outH, outW };
}
