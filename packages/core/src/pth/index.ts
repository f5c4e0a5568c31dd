// PyTorch checkpoints (torch.save) read without Python: the zip archive torch >= 1.6 writes and
// the older single pickle stream, through the restricted pickle interpreter. Tensors come back
// as descriptions over the file (in memory, or read on demand) decoded to float32 only when asked.
import { WeightsError, formatShape } from '../errors.js';
import { PickleGlobal, unpickle } from './pickle.js';
import { readZip } from './zip.js';
import { memorySource, type ByteSource } from '../byte-source.js';
import { FORMAT_NAMES, sniffFormat } from './sniff.js';
import { float16Table } from './half.js';
export { float16Table } from './half.js';

export type PthDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const STORAGE_TYPES: Record<string, PthDtype> = {
  'torch.DoubleStorage': 'F64',
  'torch.FloatStorage': 'F32',
  'torch.HalfStorage': 'F16',
  'torch.BFloat16Storage': 'BF16',
  'torch.LongStorage': 'I64',
  'torch.IntStorage': 'I32',
  'torch.ShortStorage': 'I16',
  'torch.CharStorage': 'I8',
  'torch.ByteStorage': 'U8',
  'torch.BoolStorage': 'BOOL',
};

export const PTH_ITEM_SIZE: Record<PthDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

interface StorageRef {
  readonly key: string;
  readonly dtype: PthDtype;
  /** elements the pickle declares */
  readonly numel: number;
}

/** One tensor of a checkpoint: a strided view into a storage's bytes. */
export interface PthTensor {
  readonly key: string;
  readonly dtype: PthDtype;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
  /** in elements, within the storage */
  readonly offset: number;
  /** the storage's bytes: a view into the file in memory, or read from the file on demand */
  readStorage(): Uint8Array;
}

export interface PthCheckpoint {
  readonly format: 'pytorch-zip' | 'pytorch-legacy';
  /** every tensor of the state dict, by key (after unwrapping) */
  readonly tensors: ReadonlyMap<string, PthTensor>;
  /** what was unwrapped to reach the state dict, e.g. "checkpoint['state_dict']", "prefix 'module.'" */
  readonly notes: readonly string[];
}

/** Internal marker for a rebuilt tensor before its storage bytes are attached. */
interface TensorRef {
  readonly torchTensor: true;
  readonly storage: StorageRef;
  readonly offset: number;
  readonly shape: number[];
  readonly stride: number[];
}

const isTensorRef = (v: unknown): v is TensorRef => v !== null && typeof v === 'object' && 'torchTensor' in v;

function asIntTuple(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new WeightsError(`checkpoint: tensor ${what} must be a tuple of non-negative integers, got ${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x))}`);
  }
  return v as number[];
}

function rebuildTensor(args: unknown[]): TensorRef {
  const [storage, offset, size, stride] = args;
  if (storage === null || typeof storage !== 'object' || !('dtype' in storage)) {
    throw new WeightsError('checkpoint: _rebuild_tensor expects a storage as its first argument');
  }
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) throw new WeightsError(`checkpoint: tensor storage offset must be a non-negative integer, got ${String(offset)}`);
  const shape = asIntTuple(size, 'size');
  const strides = asIntTuple(stride, 'stride');
  if (shape.length !== strides.length) throw new WeightsError(`checkpoint: tensor size ${formatShape(shape)} and stride ${formatShape(strides)} differ in rank`);
  return { torchTensor: true, storage: storage as StorageRef, offset: offset as number, shape, stride: strides };
}

const rebuildParameter = (args: unknown[]) => {
  if (!isTensorRef(args[0])) throw new WeightsError('checkpoint: _rebuild_parameter expects a tensor');
  return args[0];
};

/** The only globals a state dict needs; everything else (os.system, builtins.eval, ...) is refused. */
// (pure: an app that never reads a .pth file drops the reader)
const GLOBALS = /* @__PURE__ */ new Map<string, ((args: unknown[]) => unknown) | null>([
  ['collections.OrderedDict', () => new Map()],
  ['torch._utils._rebuild_tensor', rebuildTensor],
  ['torch._utils._rebuild_tensor_v2', rebuildTensor],
  ['torch._utils._rebuild_parameter', rebuildParameter],
  ['torch._utils._rebuild_parameter_with_state', rebuildParameter],
  ...Object.keys(STORAGE_TYPES).map((k) => [k, null] as [string, null]),
]);

function storageRefFrom(pid: unknown, legacy: boolean): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) {
    throw new WeightsError(`checkpoint: persistent id must be ('storage', type, key, location, numel), got ${Array.isArray(pid) ? `a tuple starting ${String(pid[0])}` : typeof pid}`);
  }
  const [, type, key, , numel] = pid;
  if (!(type instanceof PickleGlobal) || !(type.qualifiedName in STORAGE_TYPES)) {
    throw new WeightsError(`checkpoint: storage type ${type instanceof PickleGlobal ? type.qualifiedName : typeof type} is not a torch storage type`);
  }
  if (typeof key !== 'string') throw new WeightsError('checkpoint: storage key must be a string');
  if (!Number.isSafeInteger(numel) || (numel as number) < 0) throw new WeightsError(`checkpoint: storage '${key}' size must be a non-negative integer`);
  if (legacy && pid.length > 5 && pid[5] !== null) {
    // view_metadata of torch < 1.0 storage views; torch 1.x writes None
    throw new WeightsError(`checkpoint: storage '${key}' is a legacy storage view, which this reader does not support`);
  }
  return { key, dtype: STORAGE_TYPES[type.qualifiedName], numel: numel as number };
}

/** Where a storage's bytes are, read only when a tensor is decoded. */
interface StorageData {
  readonly size: number;
  read(): Uint8Array;
}

/** Reads a torch.save file (zip or legacy); tensors stay descriptions over the source's bytes. */
export function readPth(input: Uint8Array | ByteSource, options: { verifyCrc?: boolean } = {}): PthCheckpoint {
  const source = input instanceof Uint8Array ? memorySource(input) : input;
  const format = sniffFormat(source.read(0, Math.min(source.size, 4096)), source.size);
  if (format === 'pytorch-zip') return readZipCheckpoint(source, options.verifyCrc ?? true);
  if (format === 'pytorch-legacy') return readLegacyCheckpoint(source);
  if (format === 'zip') throw new WeightsError(`expected a PyTorch checkpoint, got a zip archive without a data.pkl entry`);
  throw new WeightsError(`expected a PyTorch checkpoint (zip or legacy pickle), got what looks like ${FORMAT_NAMES[format]}`);
}

function readZipCheckpoint(source: ByteSource, verify: boolean): PthCheckpoint {
  const entries = readZip(source, { verify });
  const pkl = [...entries.keys()].filter((n) => n === 'data.pkl' || n.endsWith('/data.pkl')).sort((a, b) => a.length - b.length)[0];
  if (pkl === undefined) throw new WeightsError(`checkpoint: zip archive has no data.pkl entry (entries: ${[...entries.keys()].slice(0, 5).join(', ')})`);
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const order = entries.get(`${prefix}byteorder`);
  if (order && new TextDecoder().decode(order.read()) !== 'little') throw new WeightsError('checkpoint: big-endian checkpoints are not supported');
  const storages = new Map<string, StorageData>();
  const what = `checkpoint '${pkl}'`;
  const value = unpickle(entries.get(pkl)!.read(), 0, {
    globals: GLOBALS,
    what,
    persistentLoad(pid) {
      const ref = storageRefFrom(pid, false);
      if (!storages.has(ref.key)) {
        const entry = entries.get(`${prefix}data/${ref.key}`);
        if (!entry) throw new WeightsError(`checkpoint: storage '${ref.key}' is missing (no entry '${prefix}data/${ref.key}')`);
        storages.set(ref.key, { size: entry.size, read: () => entry.read() });
      }
      return ref;
    },
  }).value;
  return finish('pytorch-zip', value, storages);
}

/** Runs one pickle of a legacy stream, reading more of the file until the pickle fits. */
function unpickleFrom(source: ByteSource, offset: number, options: Parameters<typeof unpickle>[2]) {
  let length = Math.min(source.size - offset, 1 << 20);
  for (;;) {
    const chunk = source.read(offset, length);
    try {
      const { value, end } = unpickle(chunk, 0, options);
      return { value, end: offset + end };
    } catch (e) {
      const short = e instanceof WeightsError && /truncated|unterminated/.test(e.message);
      if (!short || offset + length >= source.size) throw e;
      length = Math.min(source.size - offset, length * 4);
    }
  }
}

function readLegacyCheckpoint(source: ByteSource): PthCheckpoint {
  const plain = { globals: new Map(), what: 'checkpoint header' };
  let p = 0;
  const magic = unpickleFrom(source, p, plain);
  p = magic.end;
  const protocol = unpickleFrom(source, p, plain);
  p = protocol.end;
  if (protocol.value !== 1001) throw new WeightsError(`checkpoint: legacy protocol version ${String(protocol.value)}, expected 1001`);
  const sysInfo = unpickleFrom(source, p, plain);
  p = sysInfo.end;
  if (sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false) throw new WeightsError('checkpoint: big-endian checkpoints are not supported');
  const refs = new Map<string, StorageRef>();
  const main = unpickleFrom(source, p, {
    globals: GLOBALS,
    what: 'checkpoint',
    persistentLoad(pid) {
      const ref = storageRefFrom(pid, true);
      const seen = refs.get(ref.key);
      if (seen && (seen.dtype !== ref.dtype || seen.numel !== ref.numel)) throw new WeightsError(`checkpoint: storage '${ref.key}' is declared twice with different types`);
      refs.set(ref.key, ref);
      return ref;
    },
  });
  p = main.end;
  const keys = unpickleFrom(source, p, { globals: new Map(), what: 'checkpoint storage list' });
  p = keys.end;
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) throw new WeightsError('checkpoint: storage key list must be a list of strings');
  // each storage follows as its element count (int64) and its raw bytes, in the listed order
  const storages = new Map<string, StorageData>();
  for (const key of keys.value as string[]) {
    const ref = refs.get(key);
    if (!ref) throw new WeightsError(`checkpoint: storage '${key}' is listed but no tensor uses it`);
    if (p + 8 > source.size) throw new WeightsError(`checkpoint: storage '${key}' header at byte ${p} runs past the end of the ${source.size}-byte file (truncated?)`);
    const head = source.read(p, 8);
    const numel = new DataView(head.buffer, head.byteOffset, 8).getBigInt64(0, true);
    if (numel !== BigInt(ref.numel)) throw new WeightsError(`checkpoint: storage '${key}' holds ${numel} elements, the pickle declares ${ref.numel}`);
    const length = ref.numel * PTH_ITEM_SIZE[ref.dtype];
    const start = p + 8;
    if (start + length > source.size) {
      throw new WeightsError(`checkpoint: storage '${key}' (${length} bytes at byte ${start}) runs past the end of the ${source.size}-byte file (truncated?)`);
    }
    storages.set(key, { size: length, read: () => source.read(start, length) });
    p = start + length;
  }
  return finish('pytorch-legacy', main.value, storages);
}

/** Keys under which training scripts nest the state dict. */
const NESTING_KEYS = ['state_dict', 'model_state_dict', 'model', 'module', 'net', 'network', 'ema', 'model_ema'];
const PREFIXES = ['module.', '_orig_mod.'];

function finish(format: PthCheckpoint['format'], root: unknown, storages: ReadonlyMap<string, StorageData>): PthCheckpoint {
  const notes: string[] = [];
  let dict = root;
  let path = 'checkpoint';
  for (let depth = 0; depth < 4; depth++) {
    if (!(dict instanceof Map)) throw new WeightsError(`${path}: expected a dict of tensors, got ${dict === null ? 'None' : Array.isArray(dict) ? 'a tuple/list' : typeof dict}`);
    if ([...dict.values()].some(isTensorRef)) break;
    const key = NESTING_KEYS.find((k) => dict instanceof Map && dict.get(k) instanceof Map);
    if (key === undefined) {
      throw new WeightsError(`${path}: holds no tensors and none of the keys ${NESTING_KEYS.map((k) => `'${k}'`).join(', ')} (keys: ${[...dict.keys()].slice(0, 8).map(String).join(', ')})`);
    }
    path = `${path}['${key}']`;
    notes.push(`unwrapped ${path}`);
    dict = dict.get(key);
  }
  const entries = [...(dict as Map<unknown, unknown>)].filter(([, v]) => isTensorRef(v)) as [string, TensorRef][];
  const skipped = (dict as Map<unknown, unknown>).size - entries.length;
  if (skipped > 0) notes.push(`skipped ${skipped} non-tensor entr${skipped === 1 ? 'y' : 'ies'}`);
  for (const prefix of PREFIXES) {
    if (entries.length > 0 && entries.every(([k]) => typeof k === 'string' && k.startsWith(prefix))) {
      notes.push(`removed the key prefix '${prefix}'`);
      for (const e of entries) e[0] = e[0].slice(prefix.length);
    }
  }
  const tensors = new Map<string, PthTensor>();
  for (const [key, ref] of entries) {
    if (typeof key !== 'string') throw new WeightsError(`checkpoint: state dict keys must be strings, got ${typeof key}`);
    const storage = storages.get(ref.storage.key);
    if (!storage) throw new WeightsError(`checkpoint: '${key}': storage '${ref.storage.key}' has no data`);
    const item = PTH_ITEM_SIZE[ref.storage.dtype];
    if (storage.size < ref.storage.numel * item) {
      throw new WeightsError(`checkpoint: storage '${ref.storage.key}' has ${storage.size} bytes, ${ref.storage.numel} ${ref.storage.dtype} elements need ${ref.storage.numel * item}`);
    }
    let last = ref.offset;
    let empty = false;
    for (let d = 0; d < ref.shape.length; d++) {
      if (ref.shape[d] === 0) empty = true;
      last += (ref.shape[d] - 1) * ref.stride[d];
    }
    if (!empty && last >= ref.storage.numel) {
      throw new WeightsError(
        `checkpoint: '${key}': ${formatShape(ref.shape)} with stride ${formatShape(ref.stride)} at offset ${ref.offset} reaches element ${last} of a storage of ${ref.storage.numel}`,
      );
    }
    tensors.set(key, { key, dtype: ref.storage.dtype, shape: ref.shape, stride: ref.stride, offset: ref.offset, readStorage: () => storage.read() });
  }
  return { format, tensors, notes };
}

export function isContiguous(t: PthTensor): boolean {
  let expected = 1;
  for (let d = t.shape.length - 1; d >= 0; d--) {
    if (t.shape[d] !== 1 && t.stride[d] !== expected) return false;
    expected *= t.shape[d];
  }
  return true;
}

export function pthToFloat32(t: PthTensor): Float32Array {
  const numel = t.shape.reduce((a, b) => a * b, 1);
  const contiguous = isContiguous(t);
  const storage = t.readStorage();
  if (t.dtype === 'F32' && contiguous && (storage.byteOffset + t.offset * 4) % 4 === 0) {
    return new Float32Array(storage.buffer, storage.byteOffset + t.offset * 4, numel);
  }
  const view = new DataView(storage.buffer, storage.byteOffset, storage.byteLength);
  const read: (i: number) => number = (() => {
    switch (t.dtype) {
      case 'F32':
        return (i: number) => view.getFloat32(i * 4, true);
      case 'F64':
        return (i: number) => view.getFloat64(i * 8, true);
      case 'F16': {
        const table = float16Table();
        return (i: number) => table[view.getUint16(i * 2, true)];
      }
      case 'BF16': {
        const one = new Float32Array(1);
        const bits = new Uint32Array(one.buffer);
        return (i: number) => ((bits[0] = view.getUint16(i * 2, true) << 16), one[0]);
      }
      default:
        throw new WeightsError(`'${t.key}': ${t.dtype} holds integers, not weights`);
    }
  })();
  const out = new Float32Array(numel);
  if (contiguous) {
    for (let i = 0; i < numel; i++) out[i] = read(t.offset + i);
    return out;
  }
  // odometer over the shape, in row-major order
  const rank = t.shape.length;
  const index = new Array<number>(rank).fill(0);
  let src = t.offset;
  for (let i = 0; i < numel; i++) {
    out[i] = read(src);
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      src += t.stride[d];
      if (index[d] < t.shape[d]) break;
      src -= t.stride[d] * t.shape[d];
      index[d] = 0;
    }
  }
  return out;
}

export { sniffFormat, FORMAT_NAMES } from './sniff.js';
export type { SniffedFormat } from './sniff.js';
export { readZip, crc32 } from './zip.js';
export { unpickle, PickleGlobal } from './pickle.js';
