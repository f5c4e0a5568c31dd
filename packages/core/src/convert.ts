// Re-encodes decoded weights as .safetensors in float32, float16, or int8 with per-output-channel
// scales (what `cnn convert` writes and decodeWeights reads back).
import { WeightsError } from './errors.js';
import { INT8_SCALE_SUFFIX, type DecodedWeights, type IntegerTensor, type WeightTensor } from './weights.js';

export type StorageDtype = 'f32' | 'f16' | 'int8';

/** metadata key naming the int8 layout, so readers can tell our files apart */
export const INT8_METADATA = 'cnn.int8';
// Spelled out (INT8_SCALE_SUFFIX is '.__scale', checked by a test) rather than interpolated: a
// template with an imported value is a statement bundlers keep in every app, used or not.
export const INT8_LAYOUT = "per-output-channel symmetric: '<key>' I8 [out, ...] and '<key>.__scale' F32 [out]; value = q * scale, q in [-127, 127]";

const bits = /* @__PURE__ */ new Uint32Array(1);
const float = /* @__PURE__ */ new Float32Array(bits.buffer);

/** float32 -> IEEE half, rounding to nearest even (as torch's .half() does). */
export function float32ToFloat16(value: number): number {
  float[0] = value;
  const x = bits[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // a carry out of the mantissa correctly bumps the exponent (up to infinity)
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** Whether a tensor is a weight that int8 quantises: rank >= 2 (convolution and linear weights). */
const quantised = (shape: readonly number[]) => shape.length >= 2 && shape[0] > 0;

interface Planned {
  key: string;
  dtype: 'F32' | 'F16' | 'I8' | IntegerTensor['dtype'];
  shape: readonly number[];
  bytes: number;
  write(out: Uint8Array, at: number): void;
}

/**
 * Writes `decoded` as one .safetensors file. Tensors are decoded one at a time while writing, so
 * memory is the output plus one tensor.
 */
export function encodeSafetensors(decoded: DecodedWeights, dtype: StorageDtype, metadata: Record<string, string> = {}): Uint8Array {
  const planned: Planned[] = [];
  for (const [key, t] of decoded.tensors) {
    if (dtype === 'int8' && quantised(t.shape)) planned.push(...planInt8(key, t));
    else planned.push(dtype === 'f16' ? planF16(key, t) : planF32(key, t));
  }
  for (const [key, t] of decoded.integers) {
    planned.push({ key, dtype: t.dtype, shape: t.shape, bytes: t.bytes.length, write: (buffer, at) => buffer.set(t.bytes, at) });
  }
  const missing = [...decoded.integerKeys].filter((k) => !decoded.integers.has(k));
  if (missing.length > 0) throw new WeightsError(`cannot convert strided integer tensor(s) ${missing.map((k) => `'${k}'`).join(', ')}`);

  const header: Record<string, unknown> = {};
  const meta = { ...metadata, ...(dtype === 'int8' ? { [INT8_METADATA]: INT8_LAYOUT } : {}) };
  if (Object.keys(meta).length > 0) header.__metadata__ = meta;
  // float32 first: the header is padded to 8 bytes and every F32 span is a multiple of 4, so each
  // float32 tensor stays aligned and loads as a view; safetensors allows no gaps between spans
  const rank = (d: Planned['dtype']) => (d === 'F32' ? 0 : d === 'I64' ? 1 : 2);
  const ordered = planned.map((p, i) => ({ p, i })).sort((a, b) => rank(a.p.dtype) - rank(b.p.dtype) || a.i - b.i).map(({ p }) => p);
  let offset = 0;
  const offsets: number[] = [];
  for (const p of ordered) {
    offsets.push(offset);
    header[p.key] = { dtype: p.dtype, shape: p.shape, data_offsets: [offset, offset + p.bytes] };
    offset += p.bytes;
  }
  return pack(header, ordered, offsets, offset);
}


const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function planF32(key: string, t: WeightTensor): Planned {
  const n = elements(t.shape);
  const write = (buffer: Uint8Array, at: number) => {
    const data = t.data;
    const view = new DataView(buffer.buffer, buffer.byteOffset + at, n * 4);
    for (let i = 0; i < n; i++) view.setFloat32(i * 4, data[i], true);
  };
  return { key, dtype: 'F32', shape: t.shape, bytes: n * 4, write };
}

function planF16(key: string, t: WeightTensor): Planned {
  const n = elements(t.shape);
  const write = (buffer: Uint8Array, at: number) => {
    const data = t.data;
    const view = new DataView(buffer.buffer, buffer.byteOffset + at, n * 2);
    for (let i = 0; i < n; i++) view.setUint16(i * 2, float32ToFloat16(data[i]), true);
  };
  return { key, dtype: 'F16', shape: t.shape, bytes: n * 2, write };
}

/** The int8 weight and its float32 scales: two spans sharing scales computed once. */
function planInt8(key: string, t: WeightTensor): [Planned, Planned] {
  const n = elements(t.shape);
  const out = t.shape[0];
  const per = n / out;
  let scales: Float32Array | undefined;
  // whichever span is written first computes the scales
  const scalesOf = (data: Float32Array) => (scales ??= symmetricScales(data, out, per));
  const writeWeights = (buffer: Uint8Array, at: number) => {
    const data = t.data;
    const scale = scalesOf(data);
    const q = new Int8Array(buffer.buffer, buffer.byteOffset + at, n);
    for (let o = 0; o < out; o++) {
      const inv = scale[o] === 0 ? 0 : 1 / scale[o];
      for (let i = o * per; i < (o + 1) * per; i++) q[i] = Math.max(-127, Math.min(127, Math.round(data[i] * inv)));
    }
  };
  const writeScales = (buffer: Uint8Array, at: number) => {
    const scale = scalesOf(t.data);
    const view = new DataView(buffer.buffer, buffer.byteOffset + at, out * 4);
    for (let o = 0; o < out; o++) view.setFloat32(o * 4, scale[o], true);
  };
  return [
    { key, dtype: 'I8', shape: t.shape, bytes: n, write: writeWeights },
    { key: key + INT8_SCALE_SUFFIX, dtype: 'F32', shape: [out], bytes: out * 4, write: writeScales },
  ];
}

/** symmetric: scale = max |w| / 127 per output channel */
function symmetricScales(data: Float32Array, out: number, per: number): Float32Array {
  const scales = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let max = 0;
    for (let i = o * per; i < (o + 1) * per; i++) max = Math.max(max, Math.abs(data[i]));
    scales[o] = max / 127;
  }
  return scales;
}

function pack(header: Record<string, unknown>, planned: Planned[], offsets: number[], total: number): Uint8Array {
  const encoder = new TextEncoder();
  let json = JSON.stringify(header);
  while ((8 + encoder.encode(json).length) % 8 !== 0) json += ' ';
  const headerBytes = encoder.encode(json);
  const out = new Uint8Array(8 + headerBytes.length + total);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  const start = 8 + headerBytes.length;
  planned.forEach((p, i) => p.write(out, start + offsets[i]));
  return out;
}
