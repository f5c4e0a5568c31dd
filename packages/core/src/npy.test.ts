import { describe, expect, it } from 'vitest';
import { parseNpy, writeNpy } from './npy.js';
import { Tensor } from './tensor.js';
import { ShapeError } from './errors.js';

const enc = (s: string) => new TextEncoder().encode(s);

/** A .npy file with the given header text and data, in version 1.0 (or 2.0/3.0). */
function npy(header: string, data: Uint8Array = new Uint8Array(0), major = 1, headerLengthOverride?: number): Uint8Array {
  const h = major === 3 ? enc(header) : Uint8Array.from(header, (c) => c.charCodeAt(0));
  const pre = major === 1 ? 10 : 12;
  const out = new Uint8Array(pre + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, headerLengthOverride ?? h.length, true);
  else view.setUint32(8, headerLengthOverride ?? h.length, true);
  out.set(h, pre);
  out.set(data, pre + h.length);
  return out;
}
const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);
const error = (f: () => unknown): ShapeError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ShapeError);
    return e as ShapeError;
  }
  throw new Error('expected a ShapeError');
};

describe('npy', () => {
  it('round-trips float32 tensors with 64-byte aligned headers', () => {
    const t = new Tensor([2, 3], [1, 2, 3, 4, 5, 6]);
    const bytes = writeNpy(t);
    const headerLength = new DataView(bytes.buffer).getUint16(8, true);
    expect((10 + headerLength) % 64).toBe(0);
    const back = parseNpy(bytes);
    expect(back.shape).toEqual([2, 3]);
    expect([...back.data]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('explains what is wrong with a bad file', () => {
    expect(() => parseNpy(new Uint8Array([1, 2, 3]))).toThrow(/not a .npy file/);
    const bytes = writeNpy(new Tensor([4], [1, 2, 3, 4]));
    expect(() => parseNpy(bytes.subarray(0, bytes.length - 4))).toThrow(/data truncated: shape \(4\) of <f4 needs 16 bytes, file has 12/);
    const int = writeNpy(new Tensor([1], [1]));
    const at = new TextDecoder().decode(int).indexOf("'<f4'");
    int.set(enc("'<i4'"), at); // same length, so the header stays valid
    expect(() => parseNpy(int)).toThrow(/dtype '<i4' is not supported; expected float32 \('<f4'\)/);
  });

  it('reads versions 2.0 and 3.0 and refuses unknown versions and short files', () => {
    const h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n";
    expect([...parseNpy(npy(h, f32(1, 2), 2)).data]).toEqual([1, 2]);
    expect([...parseNpy(npy(h, f32(3, 4), 3)).data]).toEqual([3, 4]);
    expect(error(() => parseNpy(npy(h, f32(1, 2), 4))).message).toMatch(/version 4.0 is unknown; numpy writes 1.0, 2.0 and 3.0/);
    const ten = npy(h, f32(1, 2), 2).subarray(0, 10);
    expect(error(() => parseNpy(ten)).message).toMatch(/truncated .npy file: version 2.0 needs 12 bytes before the header, got 10/);
  });

  it('parses the header as a Python literal: keys exactly once, strings are strings', () => {
    const two = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'shape': (2,)}";
    expect(error(() => parseNpy(npy(two, f32(1, 2)))).message).toMatch(/duplicate key 'shape'/);
    // a 'descr' inside another key's string is data, not a key
    const hidden = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': \"'descr': '<f4'\"}";
    expect(error(() => parseNpy(npy(hidden, f32(1, 2)))).message).toMatch(/exactly the keys 'descr', 'fortran_order' and 'shape', got 'descr', 'fortran_order', 'shape', 'x'/);
    const quoted = "{\"descr\": '<f8', 'fortran_order': False, 'shape': (1,)}";
    expect([...parseNpy(npy(quoted, new Uint8Array(new Float64Array([0.25]).buffer))).data]).toEqual([0.25]);
    expect(error(() => parseNpy(npy("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", f32(1)))).message).toMatch(/'fortran_order' must be True or False, got an int/);
    expect(error(() => parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3)}", f32(1, 2, 3)))).message).toMatch(/'shape' must be a tuple of integers, got an int/);
    expect(error(() => parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': [3]}", f32(1, 2, 3)))).message).toMatch(/got a list of 1/);
    expect(error(() => parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (True,)}", f32(1)))).message).toMatch(/non-negative integers, got True/);
    expect(error(() => parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0x2,)}", f32(1, 2)))).message).toMatch(/only plain decimal integers/);
    expect(error(() => parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", f32(1, 2)))).message).toMatch(/unexpected character "x" after the literal/);
  });

  it('reads scalars, empty arrays, other byte orders and dtypes exactly', () => {
    expect([...parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': ()}", f32(7))).data]).toEqual([7]);
    expect(parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3)}")).shape).toEqual([0, 3]);
    const be = new Uint8Array(8);
    new DataView(be.buffer).setFloat64(0, -1.5, false);
    expect([...parseNpy(npy("{'descr': '>f8', 'fortran_order': False, 'shape': (1,)}", be)).data]).toEqual([-1.5]);
    expect([...parseNpy(npy("{'descr': '|u1', 'fortran_order': False, 'shape': (3,)}", new Uint8Array([0, 128, 255]))).data]).toEqual([0, 128, 255]);
    const half = new Uint8Array(new Uint16Array([0x3c00, 0xc000]).buffer);
    expect([...parseNpy(npy("{'descr': '<f2', 'fortran_order': False, 'shape': (2,)}", half)).data]).toEqual([1, -2]);
  });

  it('reorders Fortran-order data to C order', () => {
    // a 2x3 array [[1,2,3],[4,5,6]] is stored column by column
    const t = parseNpy(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3)}", f32(1, 4, 2, 5, 3, 6)));
    expect(t.shape).toEqual([2, 3]);
    expect([...t.data]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('requires the data to be exactly the size the header says', () => {
    const h = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}";
    expect(error(() => parseNpy(npy(h, f32(1, 2)))).message).toMatch(/data has trailing bytes: shape \(1\) of <f4 needs 4 bytes, file has 8/);
  });

  it('bounds the header length and nesting by stated limits', () => {
    const e = error(() => parseNpy(npy('{}', new Uint8Array(0), 2, 50_000)));
    expect(e.code).toBe('limit');
    expect(e.message).toMatch(/header of 50000 bytes exceeds the limit of 10000 bytes/);
    const deep = "{'descr': " + '('.repeat(4000) + ')'.repeat(4000) + '}';
    const d = error(() => parseNpy(npy(deep)));
    expect(d.code).toBe('limit');
    expect(d.message).toMatch(/nests deeper than the limit of 16 levels/);
    expect(error(() => parseNpy(npy('{}', new Uint8Array(0), 1, 400))).message).toMatch(/header length 400 exceeds the file/);
  });

  it('refuses element counts over the limit before allocating', () => {
    const e = error(() => parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000)}")));
    expect(e.code).toBe('limit');
    expect(e.message).toMatch(/10000000000 elements, more than the limit of 1073741824/);
  });
});
