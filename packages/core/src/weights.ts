// Weights: from bytes (.safetensors or torch.save, sniffed), a URL or a file, decoded to float32, and validated against the
// parameters an architecture declares, by torchvision state_dict key.
import type { ParameterSpec } from './graph.js';
import { WeightsError, formatShape } from './errors.js';
import { parseSafetensors, readFloat32, type SafetensorsEntry, type SafetensorsFile } from './safetensors.js';
import { readSource as readBytes, type ReadSourceOptions } from './source.js';
import { isContiguous, pthToFloat32, PTH_ITEM_SIZE, readPth } from './pth/index.js';
import { FORMAT_NAMES, sniffFormat } from './pth/sniff.js';
import { counterParameter } from './counter-weights.js';

export interface WeightTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export type WeightMap = ReadonlyMap<string, WeightTensor>;

/** Bytes of a .safetensors or PyTorch file, a URL to fetch, a file path (Node), or tensors already in memory. */
export type WeightsSource =
  | ArrayBuffer
  | ArrayBufferView
  | URL
  | string
  | ReadonlyMap<string, WeightTensor>
  | Readonly<Record<string, WeightTensor>>;

export interface LoadWeightsOptions extends ReadSourceOptions {
  /** accept keys the architecture does not use (e.g. a checkpoint with an extra head); default false */
  allowUnexpected?: boolean;
  /**
   * keep the loaded weights after compile (to compile again, or for getWeights); default false:
   * after the first compile only the backend's packed copy remains
   */
  keepWeights?: boolean;
  /** check the CRC-32 of every entry of a PyTorch zip checkpoint; default true */
  verifyCrc?: boolean;
  /** where weights names ('DEFAULT', 'IMAGENET1K_V1') are fetched from instead of https://download.pytorch.org/models/ */
  weightsBaseUrl?: string;
}

export type WeightsFormat = 'safetensors' | 'pytorch-zip' | 'pytorch-legacy' | 'tensors';

/** An integer tensor (e.g. batch norm's num_batches_tracked): raw little-endian bytes. */
export interface IntegerTensor {
  readonly dtype: 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

export interface DecodedWeights {
  /** floating-point tensors as float32 (views into the file where possible, decoded on access otherwise) */
  tensors: Map<string, WeightTensor>;
  /** keys of integer tensors, which are not weights */
  integerKeys: Set<string>;
  /** the integer tensors' values (kept for conversion) */
  integers: Map<string, IntegerTensor>;
  format: WeightsFormat;
  /** what was unwrapped or skipped to reach the state dict (checkpoint['state_dict'], prefix 'module.') */
  notes: string[];
}

/**
 * A tensor stored as float16, bfloat16, float64, int8 with scales, or strided: decoded to a new
 * float32 array on every access of `data`, so only the consumer's copy (the compile plan) stays.
 */
export class LazyWeightTensor implements WeightTensor {
  constructor(
    readonly shape: readonly number[],
    readonly dtype: string,
    private readonly decode: () => Float32Array,
  ) {}
  get data(): Float32Array {
    return this.decode();
  }
  get length(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

const numelOf = (t: WeightTensor) => (t instanceof LazyWeightTensor ? t.length : t.data.length);

/** Suffix of the float32 per-output-channel scales stored beside an I8 tensor (`cnn convert --dtype int8`). */
export const INT8_SCALE_SUFFIX = '.__scale';

export async function readSource(source: URL | string, options: ReadSourceOptions = {}): Promise<Uint8Array> {
  return readBytes(source, options);
}

/** Decodes every tensor of a source; integer tensors are listed apart. Bytes are sniffed: .safetensors or torch.save files. */
export async function decodeWeights(source: WeightsSource, options: LoadWeightsOptions = {}): Promise<DecodedWeights> {
  const tensors = new Map<string, WeightTensor>();
  const empty = { integerKeys: new Set<string>(), integers: new Map<string, IntegerTensor>(), format: 'tensors' as const, notes: [] };
  if (source instanceof Map) {
    for (const [k, v] of source) tensors.set(k, v);
    return { tensors, ...empty };
  }
  if (typeof source === 'string' || source instanceof URL) return decodeWeightBytes(await readBytes(source, options), options);
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    const bytes = source instanceof Uint8Array ? source : ArrayBuffer.isView(source) ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength) : new Uint8Array(source);
    return decodeWeightBytes(bytes, options);
  }
  for (const [k, v] of Object.entries(source as Record<string, WeightTensor>)) tensors.set(k, v);
  return { tensors, ...empty };
}

/** Decodes the bytes of a .safetensors or PyTorch checkpoint file (sniffed). */
export function decodeWeightBytes(bytes: Uint8Array, options: { verifyCrc?: boolean } = {}): DecodedWeights {
  const format = sniffFormat(bytes);
  if (format === 'pytorch-zip' || format === 'pytorch-legacy') return decodePth(bytes, options);
  // a file too short or too damaged to recognise gets the safetensors reader's own diagnosis
  if (format === 'safetensors' || format === 'unknown') return decodeSafetensors(bytes);
  throw new WeightsError(`expected a .safetensors file or a PyTorch checkpoint (.pth), got what looks like ${FORMAT_NAMES[format]}`);
}

function decodePth(bytes: Uint8Array, options: { verifyCrc?: boolean }): DecodedWeights {
  const checkpoint = readPth(bytes, { verifyCrc: options.verifyCrc });
  const tensors = new Map<string, WeightTensor>();
  const integerKeys = new Set<string>();
  const integers = new Map<string, IntegerTensor>();
  for (const [key, t] of checkpoint.tensors) {
    if (t.dtype === 'F32' || t.dtype === 'F16' || t.dtype === 'BF16' || t.dtype === 'F64') {
      const direct = t.dtype === 'F32' && isContiguous(t) && (t.storage.byteOffset + t.offset * 4) % 4 === 0;
      tensors.set(key, direct ? { shape: t.shape, data: pthToFloat32(t) } : new LazyWeightTensor(t.shape, t.dtype, () => pthToFloat32(t)));
    } else {
      integerKeys.add(key);
      const n = t.shape.reduce((a, b) => a * b, 1);
      const item = PTH_ITEM_SIZE[t.dtype];
      if (isContiguous(t)) integers.set(key, { dtype: t.dtype, shape: t.shape, bytes: t.storage.subarray(t.offset * item, (t.offset + n) * item) });
    }
  }
  return { tensors, integerKeys, integers, format: checkpoint.format, notes: [...checkpoint.notes] };
}

function decodeSafetensors(bytes: Uint8Array): DecodedWeights {
  const file = parseSafetensors(bytes);
  const tensors = new Map<string, WeightTensor>();
  const integerKeys = new Set<string>();
  const integers = new Map<string, IntegerTensor>();
  for (const entry of file.entries.values()) {
    if (entry.key.endsWith(INT8_SCALE_SUFFIX) && file.entries.get(entry.key.slice(0, -INT8_SCALE_SUFFIX.length))?.dtype === 'I8') continue;
    if (entry.dtype === 'I64') {
      integerKeys.add(entry.key);
      integers.set(entry.key, { dtype: 'I64', shape: entry.shape, bytes: file.bytes.subarray(entry.begin, entry.end) });
    } else if (entry.dtype === 'I8') {
      tensors.set(entry.key, int8Tensor(file, entry));
    } else if (entry.dtype === 'F32' && (file.bytes.byteOffset + entry.begin) % 4 === 0) {
      // aligned float32 (every file we write, and torch's): a view, no copy
      tensors.set(entry.key, { shape: entry.shape, data: new Float32Array(file.bytes.buffer, file.bytes.byteOffset + entry.begin, (entry.end - entry.begin) / 4) });
    } else {
      tensors.set(entry.key, new LazyWeightTensor(entry.shape, entry.dtype, () => readFloat32(file, entry)));
    }
  }
  return { tensors, integerKeys, integers, format: 'safetensors', notes: [] };
}

function int8Tensor(file: SafetensorsFile, entry: SafetensorsEntry): WeightTensor {
  const scaleKey = entry.key + INT8_SCALE_SUFFIX;
  const scales = file.entries.get(scaleKey);
  const channels = entry.shape[0] ?? 1;
  if (!scales) throw new WeightsError(`'${entry.key}': I8 tensor without its scales '${scaleKey}'`);
  if (scales.dtype !== 'F32' || scales.shape.length !== 1 || scales.shape[0] !== channels) {
    throw new WeightsError(`'${scaleKey}': expected F32 [${channels}] (one scale per output channel), got ${scales.dtype} ${formatShape(scales.shape)}`);
  }
  return new LazyWeightTensor(entry.shape, 'I8', () => {
    const scale = readFloat32(file, scales);
    const q = new Int8Array(file.bytes.buffer, file.bytes.byteOffset + entry.begin, entry.end - entry.begin);
    const out = new Float32Array(q.length);
    const per = channels === 0 ? 0 : q.length / channels;
    for (let o = 0; o < channels; o++) {
      const s = scale[o];
      for (let i = o * per; i < (o + 1) * per; i++) out[i] = q[i] * s;
    }
    return out;
  });
}

/** Checks decoded tensors against the declared parameters; returns only the used ones. */
export function validateWeights(
  specs: readonly ParameterSpec[],
  ignoredKeys: ReadonlySet<string>,
  decoded: { tensors: ReadonlyMap<string, WeightTensor>; integerKeys: ReadonlySet<string> },
  options: LoadWeightsOptions = {},
): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  const missing: string[] = [];
  for (const spec of specs) {
    const t = decoded.tensors.get(spec.key);
    if (t === undefined) {
      if (decoded.integerKeys.has(spec.key)) {
        throw new WeightsError(`'${spec.key}': expected a floating-point tensor ${formatShape(spec.shape)}, got dtype I64`);
      }
      missing.push(spec.key);
      continue;
    }
    const expected = spec.shape.reduce((a, b) => a * b, 1);
    if (formatShape(t.shape) !== formatShape(spec.shape) || numelOf(t) !== expected) {
      throw new WeightsError(`'${spec.key}': expected shape ${formatShape(spec.shape)}, got ${formatShape(t.shape)}`);
    }
    out.set(spec.key, t);
  }
  if (missing.length > 0) {
    const list = missing.slice(0, 8).map((k) => `'${k}'`).join(', ');
    throw new WeightsError(`missing ${missing.length} key(s): ${list}${missing.length > 8 ? ', ...' : ''}`);
  }
  if (!options.allowUnexpected) {
    const declared = new Set(specs.map((s) => s.key));
    const unexpected = [...decoded.tensors.keys(), ...decoded.integerKeys].filter((k) => !declared.has(k) && !ignoredKeys.has(k));
    if (unexpected.length > 0) {
      const list = unexpected.slice(0, 8).map((k) => `'${k}'`).join(', ');
      throw new WeightsError(
        `unexpected ${unexpected.length} key(s): ${list}${unexpected.length > 8 ? ', ...' : ''} (pass { allowUnexpected: true } to ignore them)`,
      );
    }
  }
  return out;
}

/** Deterministic weights for every declared parameter (tests, benchmarks, demos). */
export function generateWeights(specs: readonly ParameterSpec[], seed = 1): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  for (const spec of specs) out.set(spec.key, { shape: spec.shape, data: counterParameter(spec.key, spec.shape, seed) });
  return out;
}

/** A torchvision weights enum name ('DEFAULT', 'IMAGENET1K_V1'): upper case, digits and underscores, no dot or slash. */
export function isWeightsName(source: string): boolean {
  return /^[A-Z][A-Z0-9_]*$/.test(source);
}
