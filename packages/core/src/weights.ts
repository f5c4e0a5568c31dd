// Weights: from bytes (.safetensors or torch.save, sniffed), a URL or a file, decoded to float32, and validated against the
// parameters an architecture declares, by torchvision state_dict key.
import type { ParameterSpec } from './graph.js';
import { WeightsError, describeValue, formatShape } from './errors.js';
import { LIMITS } from './limits.js';
import { parseSafetensors, parseSafetensorsLayout, readFloat32, type SafetensorsEntry, type SafetensorsFile } from './safetensors.js';
import { openSource, readSource as readBytes, type ReadSourceOptions } from './source.js';
import { decodeBlocks, memorySource, type ByteSource } from './byte-source.js';
import { float16Table } from './pth/half.js';
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
    for (const [k, v] of source) tensors.set(checkKey(k), checkTensor(k, v));
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
  if (source === null || typeof source !== 'object' || Array.isArray(source)) {
    throw new WeightsError(
      `weights must be .safetensors or .pth bytes (ArrayBuffer or typed array), a URL, a file path, a weights name, or a Map or record of { shape, data: Float32Array } tensors; got ${describeValue(source)}`,
    );
  }
  for (const [k, v] of Object.entries(source as Record<string, unknown>)) tensors.set(k, checkTensor(k, v));
  return { tensors, ...empty };
}

export interface DecodeSourceOptions {
  /** check the CRC-32 of zip entries; default true */
  verifyCrc?: boolean;
  /** the bytes belong to the loader alone: float32 views are marked `fresh` for the one consumer that compiles them */
  ownBytes?: boolean;
}

/** Decodes the bytes of a .safetensors or PyTorch checkpoint file (sniffed). */
export async function decodeWeightBytes(bytes: Uint8Array, options: { verifyCrc?: boolean } = {}): Promise<DecodedWeights> {
  return decodeWeightSource(memorySource(bytes), options);
}

/**
 * Decodes a .safetensors or PyTorch checkpoint (sniffed) from bytes in memory or a file read on
 * demand: float32 tensors in memory are views, everything else is read and decoded when used.
 */
export async function decodeWeightSource(source: ByteSource, options: DecodeSourceOptions = {}): Promise<DecodedWeights> {
  const format = sniffFormat(source.read(0, Math.min(source.size, 4096)), source.size);
  // The PyTorch readers (zip, restricted pickle) are their own chunk: an app that loads
  // .safetensors never downloads them.
  if (format === 'pytorch-zip' || format === 'pytorch-legacy') return (await import('./pth/decode.js')).decodePth(source, options);
  if (format === 'safetensors') return decodeSafetensors(source.inMemory ? parseSafetensors(source.read(0, source.size)) : parseSafetensorsHeader(source), source, options.ownBytes);
  // a file too short or too damaged to recognise gets the safetensors reader's own diagnosis
  if (format === 'unknown') {
    const bytes = source.read(0, source.size);
    return decodeSafetensors(parseSafetensors(bytes), memorySource(bytes, source.name));
  }
  throw new WeightsError(`expected a .safetensors file or a PyTorch checkpoint (.pth), got what looks like ${FORMAT_NAMES[format]}${source.inMemory ? '' : ` ('${source.name}')`}`);
}

const SAFETENSORS_ITEM: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I8: 1 };

/** The header of a .safetensors file read from disk, without its data, by the strict reader's rules. */
function parseSafetensorsHeader(source: ByteSource): SafetensorsFile {
  try {
    return { bytes: new Uint8Array(0), ...parseSafetensorsLayout((begin, end) => source.read(begin, end - begin), source.size) };
  } catch (e) {
    if (e instanceof WeightsError) throw new WeightsError(`'${source.name}': ${e.message}`, { code: e.code, cause: e });
    throw e;
  }
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

function checkKey(k: unknown): string {
  if (typeof k !== 'string') throw new WeightsError(`weight map keys must be strings (torchvision state_dict keys), got ${describeValue(k)}`);
  return k;
}

/** A tensor handed in a Map or record: a shape of non-negative integers and float32 data of its size. */
function checkTensor(key: string, v: unknown): WeightTensor {
  if (v instanceof LazyWeightTensor) return v; // decoded from a file by this library, on demand
  if (v === null || typeof v !== 'object') throw new WeightsError(`'${key}': expected a tensor { shape, data: Float32Array }, got ${describeValue(v)}`);
  const { shape, data } = v as { shape?: unknown; data?: unknown };
  if (!Array.isArray(shape) || shape.length > LIMITS.tensorRank || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new WeightsError(`'${key}': shape must be an array of at most ${LIMITS.tensorRank} non-negative integers, got ${Array.isArray(shape) ? `[${shape.slice(0, 8).map((d) => describeValue(d)).join(', ')}]` : describeValue(shape)}`);
  }
  if (!(data instanceof Float32Array)) throw new WeightsError(`'${key}': data must be a Float32Array, got ${describeValue(data)}`);
  const size = shape.reduce((a: number, b: number) => a * b, 1);
  if (data.length !== size) throw new WeightsError(`'${key}': shape ${formatShape(shape)} needs ${size} values, data has ${data.length}`);
  return { shape, data };
}

/** Another variant of the same family, so a file meant for it can be recognised (lazily built). */
export interface VariantParameters {
  readonly name: string;
  /** parameter and buffer keys with their shapes */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /** keys a file may carry that the variant ignores (num_batches_tracked) */
  readonly ignoredKeys: ReadonlySet<string>;
}

/** The variant whose parameters the decoded file holds exactly (every key, every shape), if any. */
function recogniseVariant(
  decoded: { tensors: ReadonlyMap<string, WeightTensor>; integerKeys: ReadonlySet<string> },
  variants: () => Iterable<VariantParameters>,
): VariantParameters | undefined {
  for (const v of variants()) {
    let found = 0;
    let fits = true;
    for (const [key, t] of decoded.tensors) {
      const shape = v.shapes.get(key);
      if (shape === undefined) {
        if (!v.ignoredKeys.has(key)) fits = false;
      } else if (formatShape(shape) !== formatShape(t.shape)) fits = false;
      else found++;
      if (!fits) break;
    }
    for (const key of decoded.integerKeys) if (!v.ignoredKeys.has(key) && !v.shapes.has(key)) fits = false;
    if (fits && found === v.shapes.size) return v;
  }
  return undefined;
}

/**
 * Checks decoded tensors against the declared parameters; returns only the used ones. When
 * `variants` is given and the file holds exactly another variant's parameters, the error says
 * which, even under allowUnexpected (which exists for extra heads, not for loading part of a
 * bigger network).
 */
export function validateWeights(
  specs: readonly ParameterSpec[],
  ignoredKeys: ReadonlySet<string>,
  decoded: { tensors: ReadonlyMap<string, WeightTensor>; integerKeys: ReadonlySet<string> },
  options: LoadWeightsOptions = {},
  variants?: () => Iterable<VariantParameters>,
  modelName = 'this model',
): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  const missing: string[] = [];
  const problems: string[] = [];
  for (const spec of specs) {
    const t = decoded.tensors.get(spec.key);
    if (t === undefined) {
      if (decoded.integerKeys.has(spec.key)) problems.push(`'${spec.key}': expected a floating-point tensor ${formatShape(spec.shape)}, got dtype I64`);
      else missing.push(spec.key);
      continue;
    }
    const expected = spec.shape.reduce((a, b) => a * b, 1);
    if (formatShape(t.shape) !== formatShape(spec.shape) || numelOf(t) !== expected) {
      problems.push(`'${spec.key}': expected shape ${formatShape(spec.shape)}, got ${formatShape(t.shape)}`);
    }
    out.set(spec.key, t);
  }
  const declared = new Set(specs.map((s) => s.key));
  const unexpected = [...decoded.tensors.keys(), ...decoded.integerKeys].filter((k) => !declared.has(k) && !ignoredKeys.has(k));
  if (missing.length + problems.length + unexpected.length === 0) return out;

  const other = variants ? recogniseVariant(decoded, variants) : undefined;
  if (other) {
    const detail = [
      missing.length > 0 ? `${missing.length} key(s) missing` : '',
      unexpected.length > 0 ? `${unexpected.length} unexpected` : '',
      problems.length > 0 ? `${problems.length} shape(s) differ` : '',
    ].filter((s) => s.length > 0);
    throw new WeightsError(
      `the weights are ${other.name}'s (every key and shape matches it), not ${modelName}'s (${detail.join(', ')}): load them into ${other.name}`,
    );
  }
  if (problems.length > 0) throw new WeightsError(problems[0]);
  if (missing.length > 0) {
    const list = missing.slice(0, 8).map((k) => `'${k}'`).join(', ');
    throw new WeightsError(`missing ${missing.length} key(s): ${list}${missing.length > 8 ? ', ...' : ''}`);
  }
  if (!options.allowUnexpected) {
    const list = unexpected.slice(0, 8).map((k) => `'${k}'`).join(', ');
    throw new WeightsError(
      `unexpected ${unexpected.length} key(s): ${list}${unexpected.length > 8 ? ', ...' : ''} (pass { allowUnexpected: true } to ignore them)`,
    );
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
