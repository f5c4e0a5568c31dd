// The quantisation arithmetic every int8 step shares: rounding, weight and bias quantisation,
// activation scales from an observed range, and the 256-entry tables of elementwise functions.
import type { Activation, ActivationQuant, Q8Weights } from '../plan.js';
import { ShapeError } from '../errors.js';

/** Rounds to the nearest integer, ties to even (torch's nearbyint, fbgemm's and our kernels' rounding). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface ActivationRange {
  readonly min: number;
  readonly max: number;
}

export interface ActivationQuantOptions {
  /**
   * quantise to [0, 127] instead of [0, 255] (torch fbgemm's reduce_range): a tensor the relaxed
   * SIMD dot product can take as its 7-bit operand, at half the resolution. Default false.
   */
  readonly reduceRange?: boolean;
}

/**
 * Asymmetric uint8 parameters covering [min, max] and 0 (so zero, padding, is exact), as torch's
 * MinMaxObserver: scale = (max - min) / (qmax - qmin), zeroPoint = qmin - round(min / scale).
 */
export function activationQuant({ min, max }: ActivationRange, options: ActivationQuantOptions = {}): ActivationQuant {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw new ShapeError(`an activation range must be finite with min <= max, got [${min}, ${max}] (did calibration see NaN or no data?)`);
  }
  const qmax = options.reduceRange ? 127 : 255;
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  // torch's eps floor: an all-zero tensor still gets a usable step
  const scale = Math.fround(Math.max((hi - lo) / qmax, 1.1920928955078125e-7));
  const zeroPoint = Math.min(qmax, Math.max(0, roundHalfEven(-lo / scale)));
  return { scale, zeroPoint };
}

/**
 * Per-output-channel symmetric int8 weights: scale[c] = max|w[c, ...]| / 127 (1 for a channel
 * of zeros), q = round_half_even(w / scale) in [-127, 127]; the bias in int32 at the accumulator's
 * scale inputScale * scale[c]. `weight` is [outC, ...] in any layout that keeps channels outermost.
 */
export function quantizeWeights(name: string, weight: Float32Array, bias: Float32Array, inputScale: number): Q8Weights {
  const outC = bias.length;
  const per = weight.length / outC;
  const q = new Int8Array(weight.length);
  const weightScale = new Float32Array(outC);
  for (let c = 0; c < outC; c++) {
    let m = 0;
    for (let i = c * per; i < (c + 1) * per; i++) m = Math.max(m, Math.abs(weight[i]));
    if (!Number.isFinite(m)) throw new ShapeError(`'${name}': weights of output channel ${c} are not finite`);
    const s = (weightScale[c] = m > 0 ? Math.fround(m / 127) : 1);
    for (let i = c * per; i < (c + 1) * per; i++) q[i] = Math.max(-127, Math.min(127, roundHalfEven(weight[i] / s)));
  }
  return { weight: q, weightScale, bias: quantizeBias(name, bias, inputScale, weightScale) };
}

/** b_q[c] = round_half_even(b[c] / (inputScale * weightScale[c])), refused when it leaves int32. */
export function quantizeBias(name: string, bias: Float32Array, inputScale: number, weightScale: Float32Array): Int32Array {
  const out = new Int32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    const v = roundHalfEven(bias[c] / (Math.fround(inputScale) * weightScale[c]));
    if (!(Math.abs(v) <= 2 ** 31 - 1)) {
      throw new ShapeError(`'${name}': bias[${c}] ${bias[c]} is ${v} steps of input scale ${inputScale} x weight scale ${weightScale[c]}, beyond int32`);
    }
    out[c] = v;
  }
  return out;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const hardsigmoid = (x: number) => Math.min(1, Math.max(0, x / 6 + 0.5));

/** The elementwise functions an int8 plan tabulates (gelu stays a float op). */
const TABLE_FUNCTIONS: { readonly [A in Activation]?: (x: number) => number } = {
  none: (x) => x,
  relu: (x) => Math.max(0, x),
  relu6: (x) => Math.min(6, Math.max(0, x)),
  tanh: Math.tanh,
  sigmoid,
  silu: (x) => x * sigmoid(x),
  hardswish: (x) => x * hardsigmoid(x),
  hardsigmoid,
};

export function tabulates(activation: Activation): boolean {
  return TABLE_FUNCTIONS[activation] !== undefined;
}

/**
 * The 256-entry table of y = f(x) from input to output quantisation:
 * table[q] = clamp(round_half_even(f(s_x (q - z_x)) / s_y) + z_y, 0, 255), in double precision.
 */
export function lookupTable(activation: Activation, input: ActivationQuant, output: ActivationQuant): Uint8Array {
  const f = TABLE_FUNCTIONS[activation];
  if (!f) throw new ShapeError(`activation '${activation}' has no int8 table`);
  const table = new Uint8Array(256);
  for (let q = 0; q < 256; q++) {
    const y = f(Math.fround(input.scale) * (q - input.zeroPoint)) / Math.fround(output.scale);
    table[q] = Math.max(0, Math.min(255, roundHalfEven(y) + output.zeroPoint));
  }
  return table;
}
