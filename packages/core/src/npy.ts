// NumPy .npy reading and writing for float32 tensors (the CLI's input and output format).
import { Tensor } from './tensor.js';
import { ShapeError } from './errors.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function parseNpy(bytes: Uint8Array): Tensor {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) {
    throw new ShapeError(`not a .npy file: expected the \\x93NUMPY magic, got ${bytes.length} byte(s) without it`);
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  if (headerStart + headerLength > bytes.length) {
    throw new ShapeError(`.npy header length ${headerLength} exceeds the file (${bytes.length} bytes)`);
  }
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new ShapeError(`malformed .npy header: ${header.trim()}`);
  if (fortran === 'True') throw new ShapeError('.npy array is in Fortran order; expected C order (np.ascontiguousarray)');
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new ShapeError(`malformed .npy shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  const itemSize: Record<string, number> = { '<f4': 4, '<f8': 8 };
  if (!(descr in itemSize)) throw new ShapeError(`.npy dtype '${descr}' is not supported; expected float32 ('<f4') or float64 ('<f8')`);
  const need = count * itemSize[descr];
  if (bytes.length - dataStart < need) {
    throw new ShapeError(`.npy data truncated: shape (${shape.join(', ')}) needs ${need} bytes, file has ${bytes.length - dataStart}`);
  }
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = descr === '<f4' ? view.getFloat32(dataStart + 4 * i, true) : view.getFloat64(dataStart + 8 * i, true);
  return new Tensor(shape, data);
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
