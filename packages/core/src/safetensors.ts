// A reader for the .safetensors format, strict by the format's rules (those of the reference Rust
// crate): the header length, a UTF-8 JSON object starting at '{' with unique keys, one entry per
// tensor with a known dtype, a shape and integer offsets whose tensors tile the data section
// exactly, no holes, no overlaps, no trailing bytes. Every size is checked against the bytes
// present and ./limits.ts before anything is allocated.
import { WeightsError, describeValue, formatShape } from './errors.js';
import { LIMITS, formatBytes } from './limits.js';
import { refuseOtherFormat } from './pth/sniff.js';
import { float16Table } from './pth/half.js';
import { JsonSyntaxError, isJsonNumber, parseStrictJson, type JsonObject, type JsonValue } from './strict-json.js';

/** The dtypes this reader decodes (see SUPPORTED_DTYPES). */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I8';

/** Every dtype the format defines, with its width in bits (the crate's Dtype::bitsize). */
const FORMAT_DTYPE_BITS: ReadonlyMap<string, number> = new Map([
  ['BOOL', 8], ['U8', 8], ['I8', 8], ['F8_E5M2', 8], ['F8_E4M3', 8], ['F8_E8M0', 8],
  ['F4', 4], ['F6_E2M3', 6], ['F6_E3M2', 6],
  ['I16', 16], ['U16', 16], ['F16', 16], ['BF16', 16],
  ['I32', 32], ['U32', 32], ['F32', 32], ['C64', 64],
  ['F64', 64], ['I64', 64], ['U64', 64],
]);

type Decoder = (view: DataView, out: Float32Array) => void;

/**
 * The dtypes we load, and how each decodes to float32; 'counter' marks integer buffers such as
 * batch norm's num_batches_tracked, which are recognised and skipped; 'quantised' marks int8
 * weights, which decode with their '<key>.__scale' tensor (weights.ts, `cnn convert --dtype int8`).
 * To support another dtype, add a row here and its name to SafetensorsDtype.
 */
const SUPPORTED_DTYPES: ReadonlyMap<string, Decoder | 'counter' | 'quantised'> = new Map<string, Decoder | 'counter' | 'quantised'>([
  ['F32', (v, out) => { for (let i = 0; i < out.length; i++) out[i] = v.getFloat32(i * 4, true); }],
  ['F64', (v, out) => { for (let i = 0; i < out.length; i++) out[i] = v.getFloat64(i * 8, true); }],
  ['F16', (v, out) => { const t = float16Table(); for (let i = 0; i < out.length; i++) out[i] = t[v.getUint16(i * 2, true)]; }],
  ['BF16', (v, out) => { const bits = new Uint32Array(out.buffer, out.byteOffset, out.length); for (let i = 0; i < out.length; i++) bits[i] = v.getUint16(i * 2, true) << 16; }],
  ['I64', 'counter'],
  ['I8', 'quantised'],
]);

const supportedList = () => [...SUPPORTED_DTYPES].filter(([, d]) => typeof d === 'function').map(([k]) => k).join(', ') + ', I8 with scales';

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

const formatError = (message: string) => new WeightsError(message, { code: 'format' });

export function parseSafetensors(input: ArrayBuffer | ArrayBufferView): SafetensorsFile {
  const bytes = toBytes(input);
  refuseOtherFormat(bytes);
  return { bytes, ...parseSafetensorsLayout((begin, end) => bytes.subarray(begin, end), bytes.length) };
}

/**
 * The header of a .safetensors file of `size` bytes, read through `read` (so a file on disk needs
 * only its header in memory), checked by every rule parseSafetensors applies: what that returns
 * less the bytes.
 */
export function parseSafetensorsLayout(
  read: (begin: number, end: number) => Uint8Array,
  size: number,
): Pick<SafetensorsFile, 'entries' | 'metadata'> {
  if (size < 8) {
    throw formatError(`truncated safetensors file: expected at least 8 bytes for the header length, got ${size}`);
  }
  const first = read(0, 8);
  const declaredLength = new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true);
  if (declaredLength > BigInt(size - 8)) {
    throw formatError(`safetensors header length ${declaredLength} exceeds the file: only ${size - 8} bytes follow the length field`);
  }
  const headerLength = Number(declaredLength);
  if (headerLength > LIMITS.safetensorsHeaderBytes) {
    throw new WeightsError(
      `safetensors header of ${formatBytes(headerLength)} exceeds the limit of ${formatBytes(LIMITS.safetensorsHeaderBytes)} (LIMITS.safetensorsHeaderBytes; real checkpoints need kilobytes)`,
      { code: 'limit' },
    );
  }
  const header = parseHeader(read(8, 8 + headerLength));
  const dataStart = 8 + headerLength;
  const dataLength = size - dataStart;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [key, raw] of header) {
    if (key === '__metadata__') metadata = parseMetadata(raw);
    else entries.set(key, parseEntry(key, raw, dataStart, dataLength));
  }
  checkCoverage([...entries.values()], dataStart, dataLength);
  return { entries, metadata };
}

function toBytes(input: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  throw new WeightsError(`safetensors input must be an ArrayBuffer or a typed array, got ${describeValue(input)}`);
}

function parseHeader(headerBytes: Uint8Array): JsonObject {
  // The format's header starts with '{' (no BOM, no leading space); spaces may pad its end.
  if (headerBytes[0] !== 0x7b) {
    const b = headerBytes[0];
    const first = headerBytes.length === 0 ? 'an empty header' : `byte 0x${b.toString(16).padStart(2, '0')}${b > 0x20 && b < 0x7f ? ` ('${String.fromCharCode(b)}')` : ''}`;
    const bom = headerBytes[0] === 0xef && headerBytes[1] === 0xbb && headerBytes[2] === 0xbf ? ' (a UTF-8 byte order mark)' : '';
    throw formatError(`safetensors header must be a JSON object starting with '{', got ${first}${bom}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    throw formatError('safetensors header is not valid UTF-8');
  }
  let header: JsonValue;
  try {
    header = parseStrictJson(text, LIMITS.headerNesting);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    if (e.depthExceeded) {
      throw new WeightsError(
        `safetensors header nests deeper than the limit of ${LIMITS.headerNesting} levels (LIMITS.headerNesting; the format needs 3), at character ${e.offset}`,
        { code: 'limit' },
      );
    }
    throw formatError(`safetensors header is not valid JSON: ${e.message}`);
  }
  if (!(header instanceof Map)) throw formatError(`safetensors header must be a JSON object, got ${describeJson(header)}`);
  return header;
}

function parseMetadata(raw: JsonValue): Record<string, string> {
  if (raw === null) return {};
  if (!(raw instanceof Map)) throw formatError(`'__metadata__' must be an object of strings, got ${describeJson(raw)}`);
  // a null-prototype record, so keys such as '__proto__' or 'toString' are plain data
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of raw) {
    if (typeof v !== 'string') throw formatError(`'__metadata__': value of '${k}' must be a string, got ${describeJson(v)}`);
    out[k] = v;
  }
  return out;
}

/** numbers and strings as written, containers by their size */
function shortJson(v: JsonValue): string {
  if (v !== null && isJsonNumber(v)) return v.text;
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return JSON.stringify(v).slice(0, 40);
  return describeValue(v);
}

function describeJson(v: JsonValue): string {
  if (v !== null && isJsonNumber(v)) return `the number ${v.text}`;
  return describeValue(v);
}

/** A non-negative integer written as one (serde's usize): no sign, fraction or exponent. */
function readUnsigned(v: JsonValue): number | undefined {
  if (v === null || !isJsonNumber(v) || !v.integer || v.text.startsWith('-') || !Number.isSafeInteger(v.value)) return undefined;
  return v.value;
}

const ENTRY_FIELDS = ['dtype', 'shape', 'data_offsets'];

function parseEntry(key: string, raw: JsonValue, dataStart: number, dataLength: number): SafetensorsEntry {
  if (!(raw instanceof Map)) throw formatError(`'${key}': header entry must be an object {dtype, shape, data_offsets}, got ${describeJson(raw)}`);
  for (const field of raw.keys()) {
    if (!ENTRY_FIELDS.includes(field)) throw formatError(`'${key}': unknown field '${field}'; an entry has only dtype, shape and data_offsets`);
  }
  const { dtype, bits } = readEntryDtype(key, raw.get('dtype'));
  const shape = readEntryShape(key, raw.get('shape'));
  const [b, e] = readEntryOffsets(key, raw.get('data_offsets'), dataLength);
  const numel = checkEntrySpan(key, dtype, bits, shape, b, e);
  if (!SUPPORTED_DTYPES.has(dtype)) {
    throw new WeightsError(`'${key}': dtype ${dtype} is not supported; expected one of ${supportedList()} (or I64 for counters)`, { code: 'unsupported' });
  }
  if (numel > LIMITS.tensorElements) {
    throw new WeightsError(`'${key}': ${formatShape(shape)} has ${numel} elements, more than the limit of ${LIMITS.tensorElements} (LIMITS.tensorElements)`, { code: 'limit' });
  }
  return { key, dtype: dtype as SafetensorsDtype, shape, begin: dataStart + b, end: dataStart + e };
}

/** Any dtype the format defines (whether we decode it is checked later), with its width in bits. */
function readEntryDtype(key: string, dtype: JsonValue | undefined): { dtype: string; bits: number } {
  if (typeof dtype !== 'string') throw formatError(`'${key}': dtype must be a string, got ${dtype === undefined ? 'none' : describeJson(dtype)}`);
  const bits = FORMAT_DTYPE_BITS.get(dtype);
  if (bits === undefined) {
    throw formatError(`'${key}': dtype '${dtype}' is unknown to the safetensors format; expected one of ${[...FORMAT_DTYPE_BITS.keys()].join(', ')}`);
  }
  return { dtype, bits };
}

/** The rank is checked against its limit before any element is read. */
function readEntryShape(key: string, shapeRaw: JsonValue | undefined): number[] {
  if (!Array.isArray(shapeRaw)) throw formatError(`'${key}': shape must be an array of non-negative integers, got ${shapeRaw === undefined ? 'none' : describeJson(shapeRaw)}`);
  if (shapeRaw.length > LIMITS.tensorRank) {
    throw new WeightsError(`'${key}': shape has ${shapeRaw.length} dimensions, more than the limit of ${LIMITS.tensorRank} (LIMITS.tensorRank)`, { code: 'limit' });
  }
  const shape: number[] = [];
  for (const d of shapeRaw) {
    const n = readUnsigned(d);
    if (n === undefined) throw formatError(`'${key}': shape must be an array of non-negative integers, got an element ${describeJson(d)}`);
    shape.push(n);
  }
  return shape;
}

/** [begin, end] relative to the data section, ordered and inside it. */
function readEntryOffsets(key: string, offsetsRaw: JsonValue | undefined, dataLength: number): [number, number] {
  const offsets = Array.isArray(offsetsRaw) && offsetsRaw.length === 2 ? offsetsRaw.map(readUnsigned) : undefined;
  if (offsets === undefined || offsets[0] === undefined || offsets[1] === undefined || offsets[0] > offsets[1]) {
    const got = offsetsRaw === undefined ? 'none' : Array.isArray(offsetsRaw) ? `[${offsetsRaw.map(shortJson).join(', ')}]` : describeJson(offsetsRaw);
    throw formatError(`'${key}': data_offsets must be [begin, end], integers with 0 <= begin <= end, got ${got}`);
  }
  const [b, e] = offsets as [number, number];
  if (e > dataLength) {
    throw formatError(`'${key}': data_offsets [${b}, ${e}] run past the data section of ${dataLength} bytes (file truncated?)`);
  }
  return [b, e];
}

/** Checks the span holds exactly the shape's bytes; returns the element count. */
function checkEntrySpan(key: string, dtype: string, bits: number, shape: readonly number[], b: number, e: number): number {
  // the element count may not overflow even when a zero dimension makes the product small
  let numel = 1;
  for (const d of shape) {
    numel *= d;
    if (numel > Number.MAX_SAFE_INTEGER) throw formatError(`'${key}': shape ${formatShape(shape)} has more elements than can be addressed`);
  }
  const totalBits = numel * bits;
  if (totalBits % 8 !== 0) throw formatError(`'${key}': ${dtype} ${formatShape(shape)} fills ${totalBits} bits, not a whole number of bytes`);
  if (e - b !== totalBits / 8) {
    throw formatError(`'${key}': ${dtype} ${formatShape(shape)} needs ${totalBits / 8} bytes, data_offsets [${b}, ${e}] span ${e - b}`);
  }
  return numel;
}

/** The tensors must tile the data section: sorted by (begin, end), each begins where the last ended. */
function checkCoverage(entries: SafetensorsEntry[], dataStart: number, dataLength: number): void {
  entries.sort((x, y) => x.begin - y.begin || x.end - y.end);
  let covered = dataStart;
  let last: SafetensorsEntry | undefined;
  const range = (t: SafetensorsEntry) => `'${t.key}' (bytes ${t.begin - dataStart}..${t.end - dataStart})`;
  for (const t of entries) {
    if (t.begin < covered) throw formatError(`tensors ${range(last!)} and ${range(t)} overlap`);
    if (t.begin > covered) {
      throw formatError(`data bytes ${covered - dataStart}..${t.begin - dataStart} before tensor ${range(t)} belong to no tensor; the tensors must cover the data section exactly`);
    }
    covered = t.end;
    if (t.end > t.begin || last === undefined) last = t;
  }
  if (covered !== dataStart + dataLength) {
    throw formatError(
      `${dataStart + dataLength - covered} trailing byte(s) after the last tensor: the tensors end at data byte ${covered - dataStart}, the data section has ${dataLength} (header length field wrong?)`,
    );
  }
}

/** Decodes a floating-point entry to float32 (copying, so unaligned offsets are fine). */
export function readFloat32(file: SafetensorsFile, entry: SafetensorsEntry): Float32Array {
  const decode = SUPPORTED_DTYPES.get(entry.dtype);
  if (decode === undefined) throw new WeightsError(`'${entry.key}': dtype ${entry.dtype} is not supported; expected one of ${supportedList()}`, { code: 'unsupported' });
  if (decode === 'counter') throw new WeightsError(`'${entry.key}': ${entry.dtype} holds integers, not weights`);
  if (decode === 'quantised') throw new WeightsError(`'${entry.key}': ${entry.dtype} is quantised; it needs its '${entry.key}.__scale' to be read as weights`);
  const view = new DataView(file.bytes.buffer, file.bytes.byteOffset + entry.begin, entry.end - entry.begin);
  const out = new Float32Array(entry.shape.reduce((a, b) => a * b, 1));
  decode(view, out);
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
