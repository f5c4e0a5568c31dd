// NumPy .npy reading and writing (the CLI's input and output format), read by numpy's format
// rules: versions 1.0, 2.0 and 3.0, a header that is a Python dict literal with exactly the keys
// 'descr', 'fortran_order' and 'shape', and a data section of exactly the size they imply.
import { Tensor } from './tensor.js';
import { ShapeError } from './errors.js';
import { LIMITS, formatBytes } from './limits.js';
import { PyLiteralError, PyTuple, parsePyLiteral, type PyValue } from './py-literal.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

type ElementReader = (view: DataView, offset: number, littleEndian: boolean) => number;

/**
 * The element types we decode to float32, by numpy's kind and size (after the byte-order
 * character). To support another, add a row.
 */
const SUPPORTED: ReadonlyMap<string, { bytes: number; read: ElementReader }> = new Map([
  ['f4', { bytes: 4, read: (v, o, le) => v.getFloat32(o, le) }],
  ['f8', { bytes: 8, read: (v, o, le) => v.getFloat64(o, le) }],
  ['f2', { bytes: 2, read: (v, o, le) => halfToFloat(v.getUint16(o, le)) }],
  ['u1', { bytes: 1, read: (v, o) => v.getUint8(o) }],
]);
const SUPPORTED_TEXT = "float32 ('<f4'), float64 ('<f8'), float16 ('<f2'), either byte order, and uint8 ('|u1')";

const formatError = (message: string) => new ShapeError(message, { code: 'format' });

export function parseNpy(input: Uint8Array): Tensor {
  if (!(input instanceof Uint8Array)) throw new ShapeError(`.npy input must be a Uint8Array, got ${input === null ? 'null' : typeof input}`);
  const { headerText, dataStart } = readHeaderText(input);
  const { dtype, fortranOrder, shape } = parseHeader(headerText);

  let count = 1;
  for (const d of shape) count *= d;
  if (count > LIMITS.tensorElements) {
    throw new ShapeError(`.npy shape (${shape.join(', ')}) has ${count} elements, more than the limit of ${LIMITS.tensorElements} (LIMITS.tensorElements)`, {
      code: 'limit',
    });
  }
  const need = count * dtype.bytes;
  const have = input.length - dataStart;
  if (have !== need) {
    throw formatError(
      `.npy data ${have < need ? 'truncated' : 'has trailing bytes'}: shape (${shape.join(', ')}) of ${dtype.descr} needs ${need} bytes, file has ${have}`,
    );
  }
  const view = new DataView(input.buffer, input.byteOffset + dataStart, have);
  const data = fortranOrder && shape.length >= 2 ? readFortranOrder(view, dtype, shape, count) : readCOrder(view, dtype, count);
  return new Tensor(shape, data);
}

/** Checks the magic, version and header length (against the limit and the file), and decodes the header. */
function readHeaderText(bytes: Uint8Array): { headerText: string; dataStart: number } {
  if (bytes.length < 8 || !MAGIC.every((b, i) => bytes[i] === b)) {
    throw formatError(`not a .npy file: expected the \\x93NUMPY magic and a version, got ${bytes.length} byte(s) without them`);
  }
  const major = bytes[6];
  const minor = bytes[7];
  if (!(minor === 0 && (major === 1 || major === 2 || major === 3))) {
    throw formatError(`.npy format version ${major}.${minor} is unknown; numpy writes 1.0, 2.0 and 3.0`);
  }
  // version 1.0 stores the header length in 2 bytes, 2.0 and 3.0 in 4
  const headerStart = major === 1 ? 10 : 12;
  if (bytes.length < headerStart) {
    throw formatError(`truncated .npy file: version ${major}.0 needs ${headerStart} bytes before the header, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerLength > LIMITS.npyHeaderBytes) {
    throw new ShapeError(`.npy header of ${formatBytes(headerLength)} exceeds the limit of ${LIMITS.npyHeaderBytes} bytes (LIMITS.npyHeaderBytes, numpy's own default)`, {
      code: 'limit',
    });
  }
  if (headerStart + headerLength > bytes.length) {
    throw formatError(`.npy header length ${headerLength} exceeds the file: only ${bytes.length - headerStart} bytes follow the length field`);
  }
  const headerBytes = bytes.subarray(headerStart, headerStart + headerLength);
  try {
    // 1.0 and 2.0 headers are latin-1, 3.0 headers UTF-8
    const headerText = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true, ignoreBOM: true }).decode(headerBytes);
    return { headerText, dataStart: headerStart + headerLength };
  } catch {
    throw formatError('.npy version 3.0 header is not valid UTF-8');
  }
}

function readCOrder(view: DataView, dtype: NpyDtype, count: number): Float32Array {
  const data = new Float32Array(count);
  const { read, littleEndian, bytes: size } = dtype;
  for (let i = 0; i < count; i++) data[i] = read(view, size * i, littleEndian);
  return data;
}

/** Fortran order: the first index varies fastest in the file; walk it and scatter to C order. */
function readFortranOrder(view: DataView, dtype: NpyDtype, shape: readonly number[], count: number): Float32Array {
  const data = new Float32Array(count);
  const { read, littleEndian, bytes: size } = dtype;
  const rank = shape.length;
  const cStride = new Array<number>(rank);
  cStride[rank - 1] = 1;
  for (let k = rank - 2; k >= 0; k--) cStride[k] = cStride[k + 1] * shape[k + 1];
  const index = new Array<number>(rank).fill(0);
  let target = 0;
  for (let i = 0; i < count; i++) {
    data[target] = read(view, size * i, littleEndian);
    for (let k = 0; k < rank; k++) {
      index[k]++;
      target += cStride[k];
      if (index[k] < shape[k]) break;
      target -= cStride[k] * shape[k];
      index[k] = 0;
    }
  }
  return data;
}

interface NpyDtype {
  descr: string;
  bytes: number;
  read: ElementReader;
  littleEndian: boolean;
}

function parseHeader(text: string): { dtype: NpyDtype; fortranOrder: boolean; shape: number[] } {
  let header: PyValue;
  try {
    header = parsePyLiteral(text, LIMITS.headerNesting);
  } catch (e) {
    if (!(e instanceof PyLiteralError)) throw e;
    if (e.depthExceeded) {
      throw new ShapeError(`.npy header nests deeper than the limit of ${LIMITS.headerNesting} levels (LIMITS.headerNesting; the format needs 2)`, { code: 'limit' });
    }
    throw formatError(`.npy header is not a Python dict literal: ${e.message}`);
  }
  if (!(header instanceof Map)) throw formatError(`.npy header must be a dict, got ${pyType(header)}`);
  const keys = [...header.keys()].sort();
  if (keys.join() !== 'descr,fortran_order,shape') {
    throw formatError(`.npy header must have exactly the keys 'descr', 'fortran_order' and 'shape', got ${keys.map((k) => `'${k}'`).join(', ') || 'none'}`);
  }
  const descr = header.get('descr')!;
  const fortranOrder = header.get('fortran_order')!;
  const shapeValue = header.get('shape')!;
  if (typeof fortranOrder !== 'boolean') throw formatError(`.npy 'fortran_order' must be True or False, got ${pyType(fortranOrder)}`);
  if (!(shapeValue instanceof PyTuple)) throw formatError(`.npy 'shape' must be a tuple of integers, got ${pyType(shapeValue)}`);
  if (shapeValue.items.length > LIMITS.tensorRank) {
    throw new ShapeError(`.npy shape has ${shapeValue.items.length} dimensions, more than the limit of ${LIMITS.tensorRank} (LIMITS.tensorRank)`, { code: 'limit' });
  }
  const shape: number[] = [];
  for (const d of shapeValue.items) {
    // bool is an int to Python, but no writer puts True in a shape
    if (typeof d !== 'number' || d < 0) throw formatError(`.npy 'shape' must hold non-negative integers, got ${pyType(d)}${typeof d === 'number' ? ` ${d}` : ''}`);
    shape.push(d);
  }
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (count > Number.MAX_SAFE_INTEGER) throw formatError(`.npy shape (${shape.join(', ')}) has more elements than can be addressed`);
  }
  return { dtype: parseDescr(descr), fortranOrder, shape };
}

/** numpy's array-protocol type strings: an optional byte order, a kind letter and a size. */
function parseDescr(descr: PyValue): NpyDtype {
  if (typeof descr !== 'string') {
    throw new ShapeError(`.npy 'descr' ${pyType(descr)} (a structured dtype) is not supported; expected ${SUPPORTED_TEXT}`, { code: 'unsupported' });
  }
  const m = /^([<>|=]?)([a-zA-Z])(\d+)$/.exec(descr);
  const entry = m ? SUPPORTED.get(`${m[2]}${m[3]}`) : undefined;
  if (!m || !entry) throw new ShapeError(`.npy dtype '${descr}' is not supported; expected ${SUPPORTED_TEXT}`, { code: 'unsupported' });
  // '=', '|' and none mean the machine's order; numpy writes its files from little-endian hosts
  // as '<', and every engine this library runs on is little-endian
  return { descr, bytes: entry.bytes, read: entry.read, littleEndian: m[1] !== '>' };
}

function pyType(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return 'an int';
  if (typeof v === 'string') return `the string '${v.length > 40 ? `${v.slice(0, 40)}...` : v}'`;
  if (v instanceof PyTuple) return `a tuple of ${v.items.length}`;
  if (Array.isArray(v)) return `a list of ${v.length}`;
  return `a dict of ${v.size} key(s)`;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export function writeNpy(tensor: Tensor): Uint8Array {
  const shape = tensor.shape.length === 1 ? `(${tensor.shape[0]},)` : `(${tensor.shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + tensor.data.length * 4);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  tensor.data.forEach((v, i) => view.setFloat32(10 + header.length + 4 * i, v, true));
  return out;
}
