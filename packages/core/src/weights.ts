// Weights: from bytes (.safetensors or torch.save, sniffed), a URL or a file, decoded to float32, and validated against the
// parameters an architecture declares, by torchvision state_dict key.
import type { ParameterSpec } from './graph.js';
import { WeightsError, formatShape } from './errors.js';
import { parseSafetensors, readFloat32, type SafetensorsEntry, type SafetensorsFile } from './safetensors.js';
import { openSource, readSource as readBytes, type ReadSourceOptions } from './source.js';
import { decodeBlocks, memorySource, type ByteSource } from './byte-source.js';
import { float16Table, isContiguous, pthToFloat32, PTH_ITEM_SIZE, readPth } from './pth/index.js';
import { FORMAT_NAMES, sniffFormat } from './pth/sniff.js';
import { counterParameter } from './counter-weights.js';

export interface WeightTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
  /**
   * true when the one consumer that compiles these weights may keep `data` and modify it: it is
   * decoded anew on each access, or it lies in bytes the loader downloaded itself and nobody
   * reads after compile (weights loaded without keepWeights)
   */
  readonly fresh?: boolean;
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
  readonly fresh = true;
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

/**
 * Decodes every tensor of a source; integer tensors are listed apart. Bytes are sniffed:
 * .safetensors or torch.save files. `handOver`: the result goes to one compile and is then
 * dropped, so bytes this call downloads may be compiled in place.
 */
export async function decodeWeights(source: WeightsSource, options: LoadWeightsOptions = {}, handOver = false): Promise<DecodedWeights> {
  const tensors = new Map<string, WeightTensor>();
  const empty = { integerKeys: new Set<string>(), integers: new Map<string, IntegerTensor>(), format: 'tensors' as const, notes: [] };
  if (source instanceof Map) {
    for (const [k, v] of source) tensors.set(k, v);
    return { tensors, ...empty };
  }
  if (typeof source === 'string' || source instanceof URL) {
    const opened = await openSource(source, options);
    // bytes we downloaded ourselves belong to nobody else: when the caller hands the weights to
    // one compile (Model.loadWeights without keepWeights), it may take float32 tensors over in place
    return decodeWeightSource(opened, { ...options, ownBytes: opened.inMemory && handOver });
  }
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    const bytes = source instanceof Uint8Array ? source : ArrayBuffer.isView(source) ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength) : new Uint8Array(source);
    return decodeWeightBytes(bytes, options);
  }
  for (const [k, v] of Object.entries(source as Record<string, WeightTensor>)) tensors.set(k, v);
  return { tensors, ...empty };
}

export interface DecodeSourceOptions {
  /** check the CRC-32 of zip entries; default true */
  verifyCrc?: boolean;
  /** the bytes belong to the loader alone: float32 views are marked `fresh` for the one consumer that compiles them */
  ownBytes?: boolean;
}

/** Decodes the bytes of a .safetensors or PyTorch checkpoint file (sniffed). */
export function decodeWeightBytes(bytes: Uint8Array, options: { verifyCrc?: boolean } = {}): DecodedWeights {
  return decodeWeightSource(memorySource(bytes), options);
}

/**
 * Decodes a .safetensors or PyTorch checkpoint (sniffed) from bytes in memory or a file read on
 * demand: float32 tensors in memory are views, everything else is read and decoded when used.
 */
export function decodeWeightSource(source: ByteSource, options: DecodeSourceOptions = {}): DecodedWeights {
  const format = sniffFormat(source.read(0, Math.min(source.size, 4096)), source.size);
  if (format === 'pytorch-zip' || format === 'pytorch-legacy') return decodePth(source, options);
  if (format === 'safetensors') return decodeSafetensors(source.inMemory ? parseSafetensors(source.read(0, source.size)) : parseSafetensorsHeader(source), source, options.ownBytes);
  // a file too short or too damaged to recognise gets the safetensors reader's own diagnosis
  if (format === 'unknown') {
    const bytes = source.read(0, source.size);
    return decodeSafetensors(parseSafetensors(bytes), memorySource(bytes, source.name));
  }
  throw new WeightsError(`expected a .safetensors file or a PyTorch checkpoint (.pth), got what looks like ${FORMAT_NAMES[format]}${source.inMemory ? '' : ` ('${source.name}')`}`);
}

function decodePth(source: ByteSource, options: DecodeSourceOptions): DecodedWeights {
  const checkpoint = readPth(source, { verifyCrc: options.verifyCrc });
  const tensors = new Map<string, WeightTensor>();
  const integerKeys = new Set<string>();
  const integers = new Map<string, IntegerTensor>();
  for (const [key, t] of checkpoint.tensors) {
    if (t.dtype === 'F32' || t.dtype === 'F16' || t.dtype === 'BF16' || t.dtype === 'F64') {
      // float32 in memory decodes to a view (or fails alignment and copies); keep it eager only then
      const view = source.inMemory && t.dtype === 'F32' && isContiguous(t) ? pthToFloat32(t) : undefined;
      tensors.set(key, view && view.buffer === t.readStorage().buffer ? { shape: t.shape, data: view, fresh: options.ownBytes } : new LazyWeightTensor(t.shape, t.dtype, () => pthToFloat32(t)));
    } else {
      integerKeys.add(key);
      const n = t.shape.reduce((a, b) => a * b, 1);
      const item = PTH_ITEM_SIZE[t.dtype];
      if (isContiguous(t)) integers.set(key, { dtype: t.dtype, shape: t.shape, bytes: t.readStorage().subarray(t.offset * item, (t.offset + n) * item) });
    }
  }
  return { tensors, integerKeys, integers, format: checkpoint.format, notes: [...checkpoint.notes] };
}

const SAFETENSORS_ITEM: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I8: 1 };

/**
 * The header of a .safetensors file read from disk, without its data: the same checks as
 * parseSafetensors (dtype, shape, spans inside the file, no overlap) against the file's size.
 */
function parseSafetensorsHeader(source: ByteSource): SafetensorsFile {
  const where = `'${source.name}'`;
  const declared = Number(new DataView(source.read(0, 8).slice().buffer).getBigUint64(0, true));
  if (declared > source.size - 8 || declared > 100 * 1024 * 1024) throw new WeightsError(`${where}: safetensors header length ${declared} exceeds the file or the 100 MiB limit`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(source.read(8, declared)));
  } catch (e) {
    throw new WeightsError(`${where}: safetensors header is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new WeightsError(`${where}: safetensors header must be a JSON object`);
  const dataStart = 8 + declared;
  const entries = new Map<string, SafetensorsEntry>();
  for (const [key, raw] of Object.entries(header)) {
    if (key === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = (raw ?? {}) as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in SAFETENSORS_ITEM)) throw new WeightsError(`${where}: '${key}': dtype ${String(dtype)} is not one of ${Object.keys(SAFETENSORS_ITEM).join(', ')}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new WeightsError(`${where}: '${key}': bad shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw new WeightsError(`${where}: '${key}': bad data_offsets ${JSON.stringify(offsets)}`);
    }
    const [b, e] = offsets as [number, number];
    const expected = (shape as number[]).reduce((a, d) => a * d, 1) * SAFETENSORS_ITEM[dtype];
    if (e - b !== expected) throw new WeightsError(`${where}: '${key}': ${dtype} ${formatShape(shape as number[])} needs ${expected} bytes, data_offsets span ${e - b}`);
    if (dataStart + e > source.size) throw new WeightsError(`${where}: '${key}': data_offsets [${b}, ${e}] run past the end of the file (truncated?)`);
    entries.set(key, { key, dtype: dtype as SafetensorsEntry['dtype'], shape: shape as number[], begin: dataStart + b, end: dataStart + e });
  }
  const sorted = [...entries.values()].sort((x, y) => x.begin - y.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end) throw new WeightsError(`${where}: tensors '${sorted[i - 1].key}' and '${sorted[i].key}' overlap`);
  }
  return { bytes: new Uint8Array(0), entries, metadata: {} };
}

/** A float16, bfloat16 or float64 entry of a file, decoded a block at a time. */
function decodeFloatEntry(source: ByteSource, entry: SafetensorsEntry): Float32Array {
  const item = SAFETENSORS_ITEM[entry.dtype];
  const n = (entry.end - entry.begin) / item;
  const out = new Float32Array(n);
  const half = entry.dtype === 'F16' ? float16Table() : undefined;
  decodeBlocks(source, entry.begin, n, item, (bytes, first) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const count = bytes.length / item;
    if (half) for (let i = 0; i < count; i++) out[first + i] = half[view.getUint16(i * 2, true)];
    else if (entry.dtype === 'BF16') {
      const bits = new Uint32Array(out.buffer, (first) * 4, count);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, true) << 16;
    } else for (let i = 0; i < count; i++) out[first + i] = view.getFloat64(i * 8, true);
  });
  return out;
}

/** One entry's bytes as a file of its own, so readFloat32 can decode it. */
function entryFile(source: ByteSource, entry: SafetensorsEntry): { file: SafetensorsFile; entry: SafetensorsEntry } {
  const bytes = source.read(entry.begin, entry.end - entry.begin);
  return { file: { bytes, entries: new Map(), metadata: {} }, entry: { ...entry, begin: 0, end: bytes.length } };
}

function decodeSafetensors(file: SafetensorsFile, source: ByteSource, ownBytes = false): DecodedWeights {
  const tensors = new Map<string, WeightTensor>();
  const integerKeys = new Set<string>();
  const integers = new Map<string, IntegerTensor>();
  for (const entry of file.entries.values()) {
    if (entry.key.endsWith(INT8_SCALE_SUFFIX) && file.entries.get(entry.key.slice(0, -INT8_SCALE_SUFFIX.length))?.dtype === 'I8') continue;
    const length = entry.end - entry.begin;
    if (entry.dtype === 'I64') {
      integerKeys.add(entry.key);
      integers.set(entry.key, { dtype: 'I64', shape: entry.shape, bytes: source.read(entry.begin, length) });
    } else if (entry.dtype === 'I8') {
      tensors.set(entry.key, int8Tensor(file, entry, source));
    } else if (source.inMemory && entry.dtype === 'F32' && (file.bytes.byteOffset + entry.begin) % 4 === 0) {
      // aligned float32 (every file we write, and torch's): a view, no copy
      tensors.set(entry.key, { shape: entry.shape, data: new Float32Array(file.bytes.buffer, file.bytes.byteOffset + entry.begin, length / 4), fresh: ownBytes });
    } else if (entry.dtype === 'F32' && !source.inMemory) {
      // a fresh read is aligned: view it
      tensors.set(entry.key, new LazyWeightTensor(entry.shape, entry.dtype, () => new Float32Array(source.read(entry.begin, length).buffer, 0, length / 4)));
    } else {
      tensors.set(
        entry.key,
        new LazyWeightTensor(entry.shape, entry.dtype, () => (source.inMemory ? readFloat32(file, entry) : decodeFloatEntry(source, entry))),
      );
    }
  }
  return { tensors, integerKeys, integers, format: 'safetensors', notes: [] };
}

function int8Tensor(file: SafetensorsFile, entry: SafetensorsEntry, source: ByteSource): WeightTensor {
  const scaleKey = entry.key + INT8_SCALE_SUFFIX;
  const scales = file.entries.get(scaleKey);
  const channels = entry.shape[0] ?? 1;
  if (!scales) throw new WeightsError(`'${entry.key}': I8 tensor without its scales '${scaleKey}'`);
  if (scales.dtype !== 'F32' || scales.shape.length !== 1 || scales.shape[0] !== channels) {
    throw new WeightsError(`'${scaleKey}': expected F32 [${channels}] (one scale per output channel), got ${scales.dtype} ${formatShape(scales.shape)}`);
  }
  return new LazyWeightTensor(entry.shape, 'I8', () => {
    const s = entryFile(source, scales);
    const scale = readFloat32(s.file, s.entry);
    const n = entry.end - entry.begin;
    const out = new Float32Array(n);
    const per = channels === 0 ? 1 : n / channels;
    decodeBlocks(source, entry.begin, n, 1, (bytes, first) => {
      const q = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
      for (let i = 0; i < q.length; i++) out[first + i] = q[i] * scale[Math.floor((first + i) / per)];
    });
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
