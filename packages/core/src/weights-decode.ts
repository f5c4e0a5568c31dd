// Reading weights: .safetensors or torch.save bytes (sniffed), a URL or a file, decoded to
// float32 tensors (views where the bytes allow, on first use otherwise). loadWeights imports
// this module when it is first called, so an app's first load carries none of the readers.
import { WeightsError, describeValue, formatShape } from './errors.js';
import { LIMITS } from './limits.js';
import { parseSafetensors, parseSafetensorsLayout, readFloat32, type SafetensorsEntry, type SafetensorsFile } from './safetensors.js';
import { nodeHelpers, openSource, readSource as readBytes, type ReadSourceOptions } from './source.js';
import { decodeBlocks, memorySource, type ByteSource } from './byte-source.js';
import { float16Table } from './pth/half.js';
import { FORMAT_NAMES, sniffFormat } from './pth/sniff.js';
import { INT8_SCALE_SUFFIX, LazyWeightTensor, type DecodeSourceOptions, type DecodedWeights, type IntegerTensor, type LoadWeightsOptions, type WeightTensor, type WeightsSource } from './weights.js';

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
    // one compile (loadWeights without keepWeights), it may take float32 tensors over in place
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
  // .safetensors is the built-in format. The PyTorch readers (zip, restricted pickle) come with
  // `readers: [pthReader]` ('@cnn/core/pth'), or in Node through #core/node, so that no browser
  // bundle carries them unasked.
  if (format === 'pytorch-zip' || format === 'pytorch-legacy') {
    const reader = options.readers?.find((r) => r.format === 'pytorch') ?? (await nodeHelpers())?.pthReader;
    if (reader) return reader.decode(source, options);
    throw new WeightsError(
      `${source.inMemory ? 'the weights are' : `'${source.name}' is`} ${FORMAT_NAMES[format]}; this build reads .safetensors only: ` +
        `import { pthReader } from '@cnn/core/pth' and pass loadWeights(model, source, { readers: [pthReader] }), or convert the file (cnn convert)`,
      { code: 'unsupported' },
    );
  }
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
