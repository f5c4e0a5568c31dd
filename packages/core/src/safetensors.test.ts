import { describe, expect, it } from 'vitest';
import { parseSafetensors, readFloat32, writeSafetensors } from './safetensors.js';
import { WeightsError } from './errors.js';

function file(header: unknown, data: Uint8Array = new Uint8Array(0), headerLengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

describe('parseSafetensors', () => {
  it('round-trips what writeSafetensors writes', () => {
    const bytes = writeSafetensors(new Map([['a.weight', { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }]]), { format: 'pt' });
    const parsed = parseSafetensors(bytes);
    expect(parsed.metadata).toEqual({ format: 'pt' });
    expect([...readFloat32(parsed, parsed.entries.get('a.weight')!)]).toEqual([1, 2, 3, 4]);
    expect((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 8).toBe(0);
  });

  it('decodes F16, BF16 and F64 to float32', () => {
    const half = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7c00]).buffer); // 1, -2, 2^-24, inf
    const bf = new Uint8Array(new Uint16Array([0x3f80, 0xc040]).buffer); // 1, -3
    const f64 = new Uint8Array(new Float64Array([0.5]).buffer);
    const bytes = file(
      {
        h: { dtype: 'F16', shape: [4], data_offsets: [0, 8] },
        b: { dtype: 'BF16', shape: [2], data_offsets: [8, 12] },
        d: { dtype: 'F64', shape: [1], data_offsets: [12, 20] },
      },
      new Uint8Array([...half, ...bf, ...f64]),
    );
    const p = parseSafetensors(bytes);
    expect([...readFloat32(p, p.entries.get('h')!)]).toEqual([1, -2, 2 ** -24, Infinity]);
    expect([...readFloat32(p, p.entries.get('b')!)]).toEqual([1, -3]);
    expect([...readFloat32(p, p.entries.get('d')!)]).toEqual([0.5]);
  });

  it('rejects a file shorter than the length field', () => {
    expect(() => parseSafetensors(new Uint8Array(5))).toThrow(/truncated safetensors file: expected at least 8 bytes.*got 5/);
  });

  it('rejects a header length beyond the file without allocating it', () => {
    const bytes = file({}, new Uint8Array(0), 2n ** 60n);
    expect(() => parseSafetensors(bytes)).toThrow(WeightsError);
    expect(() => parseSafetensors(bytes)).toThrow(/header length 1152921504606846976 exceeds the file: only 2 bytes follow/);
  });

  it('rejects a header that is not JSON', () => {
    expect(() => parseSafetensors(file('{"a": '))).toThrow(/not valid UTF-8 JSON/);
    expect(() => parseSafetensors(file('[1,2]'))).toThrow(/must be a JSON object, got an array/);
  });

  it('rejects a truncated data section, naming the tensor', () => {
    const bytes = file({ 'fc.weight': { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32(1, 2));
    expect(() => parseSafetensors(bytes)).toThrow(/'fc.weight': data_offsets \[0, 16\] run past the data section of 8 bytes/);
  });

  it('rejects offsets that disagree with shape and dtype', () => {
    const bytes = file({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32(1, 2));
    expect(() => parseSafetensors(bytes)).toThrow(/'w': F32 \[3\] needs 12 bytes, data_offsets span 8/);
  });

  it('rejects overlapping tensors, naming both', () => {
    const bytes = file(
      { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } },
      f32(1, 2, 3),
    );
    expect(() => parseSafetensors(bytes)).toThrow(/tensors 'a' \(bytes 0..8\) and 'b' \(bytes 4..12\) overlap/);
  });

  it('rejects malformed offsets and shapes', () => {
    expect(() => parseSafetensors(file({ a: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, f32(1, 2, 3)))).toThrow(
      /'a': data_offsets must be \[begin, end\]/,
    );
    expect(() => parseSafetensors(file({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1)))).toThrow(
      /'a': shape must be an array of non-negative integers, got \[-1\]/,
    );
    expect(() => parseSafetensors(file({ a: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 4] } }, f32(1)))).toThrow(
      /too large/,
    );
  });

  it('rejects unknown and unsupported dtypes with the expected list', () => {
    expect(() => parseSafetensors(file({ a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)))).toThrow(
      /'a': dtype Q4 is unknown; expected one of F32, F16, BF16, F64/,
    );
    expect(() => parseSafetensors(file({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)))).toThrow(
      /'a': dtype U8 is not supported/,
    );
  });
});
