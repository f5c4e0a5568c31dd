// A defensive reader for the .safetensors format: every length and offset is checked against
// the bytes actually present before anything is allocated.
import { WeightsError, formatShape } from './errors.js';
import { refuseOtherFormat } from './pth/sniff.js';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I8';

const ITEM_SIZE: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I8: 1 };
/** dtypes the format defines that we recognise but do not load */
const KNOWN_UNSUPPORTED = new Set(['I32', 'I16', 'U8', 'U16', 'U32', 'U64', 'BOOL', 'F8_E4M3', 'F8_E5M2', 'C64']);
/** headers larger than this are refused before decoding (real ones are kilobytes) */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface SafetensorsEntry {
  readonly key: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** byte range within the whole file */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsFile {
  readonly bytes: Uint8Array;
  readonly entries: ReadonlyMap<string, SafetensorsEntry>;
  readonly metadata: Readonly<Record<string, string>>;
}

export function parseSafetensors(input: ArrayBuffer | ArrayBufferView): SafetensorsFile {
  const bytes = input instanceof Uint8Array ? input : ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input);
  if (bytes.length < 8) {
    throw new WeightsError(`truncated safetensors file: expected at least 8 bytes for the header length, got ${bytes.length}`);
  }
  refuseOtherFormat(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declaredLength = view.getBigUint64(0, true);
  const headerLength = Number(declaredLength);
  if (declaredLength > BigInt(bytes.length - 8)) {
    throw new WeightsError(`safetensors header length ${declaredLength} exceeds the file: only ${bytes.length - 8} bytes follow the length field`);
  }
  if (headerLength > MAX_HEADER_BYTES) {
    throw new WeightsError(`safetensors header length ${headerLength} is larger than the ${MAX_HEADER_BYTES}-byte limit`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    throw new WeightsError(`safetensors header is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new WeightsError(`safetensors header must be a JSON object, got ${Array.isArray(header) ? 'an array' : typeof header}`);
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [key, raw] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') {
      if (raw !== null && typeof raw === 'object') metadata = raw as Record<string, string>;
      continue;
    }
    entries.set(key, parseEntry(key, raw, dataStart, dataLength));
  }
  const sorted = [...entries.values()].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i];
    if (cur.begin < prev.end) {
      throw new WeightsError(
        `tensors '${prev.key}' (bytes ${prev.begin - dataStart}..${prev.end - dataStart}) and '${cur.key}' (bytes ${cur.begin - dataStart}..${cur.end - dataStart}) overlap`,
      );
    }
  }
  return { bytes, entries, metadata };
}

function parseEntry(key: string, raw: unknown, dataStart: number, dataLength: number): SafetensorsEntry {
  if (raw === null || typeof raw !== 'object') throw new WeightsError(`'${key}': header entry must be an object`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string') throw new WeightsError(`'${key}': missing dtype`);
  if (!(dtype in ITEM_SIZE)) {
    const why = KNOWN_UNSUPPORTED.has(dtype) ? 'is not supported' : 'is unknown';
    throw new WeightsError(`'${key}': dtype ${dtype} ${why}; expected one of F32, F16, BF16, F64, I8 with scales (or I64 for counters)`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new WeightsError(`'${key}': shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  ) {
    throw new WeightsError(`'${key}': data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`);
  }
  const [b, e] = offsets as [number, number];
  if (e > dataLength) {
    throw new WeightsError(`'${key}': data_offsets [${b}, ${e}] run past the data section of ${dataLength} bytes (file truncated?)`);
  }
  let numel = 1;
  for (const d of shape as number[]) {
    numel *= d;
    if (numel > Number.MAX_SAFE_INTEGER) throw new WeightsError(`'${key}': shape ${formatShape(shape)} is too large`);
  }
  const expected = numel * ITEM_SIZE[dtype as SafetensorsDtype];
  if (e - b !== expected) {
    throw new WeightsError(`'${key}': ${dtype} ${formatShape(shape)} needs ${expected} bytes, data_offsets span ${e - b}`);
  }
  return { key, dtype: dtype as SafetensorsDtype, shape, begin: dataStart + b, end: dataStart + e };
}

const f16Table = (() => {
  let t: Float32Array | undefined;
  return () => {
    if (t) return t;
    t = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const exp = (h >> 10) & 0x1f;
      const frac = h & 0x3ff;
      if (exp === 0) t[h] = sign * frac * 2 ** -24;
      else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
      else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
    }
    return t;
  };
})();

/** Decodes a floating-point entry to float32 (copying, so unaligned offsets are fine). */
export function readFloat32(file: SafetensorsFile, entry: SafetensorsEntry): Float32Array {
  const view = new DataView(file.bytes.buffer, file.bytes.byteOffset + entry.begin, entry.end - entry.begin);
  const n = entry.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  switch (entry.dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case 'F16': {
      const table = f16Table();
      for (let i = 0; i < n; i++) out[i] = table[view.getUint16(i * 2, true)];
      break;
    }
    case 'BF16': {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      break;
    }
    case 'I64':
      throw new WeightsError(`'${entry.key}': I64 holds integers, not weights`);
    case 'I8':
      throw new WeightsError(`'${entry.key}': I8 is quantised; it needs its '${entry.key}.__scale' to be read as weights`);
  }
  return out;
}

/** Writes a safetensors file from float32 tensors (used by the CLI and tests). */
export function writeSafetensors(tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [key, t] of tensors) {
    header[key] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.length * 4] };
    offset += t.data.length * 4;
  }
  let json = JSON.stringify(header);
  while ((8 + new TextEncoder().encode(json).length) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    for (let i = 0; i < t.data.length; i++) view.setFloat32(pos + i * 4, t.data[i], true);
    pos += t.data.length * 4;
  }
  return out;
}
