import { describe, expect, it } from 'vitest';
import { parseSafetensors, readFloat32, writeSafetensors } from './safetensors.js';
import { WeightsError } from './errors.js';

function file(header: unknown, data: Uint8Array = new Uint8Array(0), headerLengthOverride?: bigint): Uint8Array {
  const json = header instanceof Uint8Array ? header : new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
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
    expect(() => parseSafetensors(file('{"a": '))).toThrow(/not valid JSON: expected a JSON value, got end of text at character 6/);
    expect(() => parseSafetensors(file('[1,2]'))).toThrow(/must be a JSON object starting with '\{', got byte 0x5b \('\['\)/);
  });

  it('rejects a truncated data section, naming the tensor', () => {
    const bytes = file({ 'fc.weight': { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32(1, 2));
    expect(() => parseSafetensors(bytes)).toThrow(/'fc.weight': data_offsets \[0, 16\] run past the data section of 8 bytes/);
  });

  it('rejects offsets that disagree with shape and dtype', () => {
    const bytes = file({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32(1, 2));
    expect(() => parseSafetensors(bytes)).toThrow(/'w': F32 \[3\] needs 12 bytes, data_offsets \[0, 8\] span 8/);
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
      /'a': data_offsets must be \[begin, end\], integers with 0 <= begin <= end, got \[8, 4\]/,
    );
    expect(() => parseSafetensors(file({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1)))).toThrow(
      /'a': shape must be an array of non-negative integers, got an element the number -1/,
    );
    expect(() => parseSafetensors(file({ a: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 4] } }, f32(1)))).toThrow(
      /more elements than can be addressed/,
    );
  });

  it('rejects unknown and unsupported dtypes with the expected list', () => {
    expect(() => parseSafetensors(file({ a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)))).toThrow(
      /'a': dtype 'Q4' is unknown to the safetensors format; expected one of BOOL, U8/,
    );
    expect(() => parseSafetensors(file({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)))).toThrow(
      /'a': dtype U8 is not supported/,
    );
  });

  it('rejects a header length that stops short of the JSON or runs into the data', () => {
    const json = JSON.stringify({ t: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }) + '        ';
    const good = file(json, f32(1.5));
    const n = json.length;
    expect([...readFloat32(parseSafetensors(good), parseSafetensors(good).entries.get('t')!)]).toEqual([1.5]);
    const short = good.slice();
    new DataView(short.buffer).setBigUint64(0, BigInt(n - 3), true); // inside the space padding
    expect(() => parseSafetensors(short)).toThrow(/3 trailing byte\(s\) after the last tensor/);
    const long = good.slice();
    new DataView(long.buffer).setBigUint64(0, BigInt(n + 2), true);
    expect(() => parseSafetensors(long)).toThrow(WeightsError);
  });

  it('requires the tensors to cover the data section exactly', () => {
    const hole = file({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(0, 1));
    expect(() => parseSafetensors(hole)).toThrow(/data bytes 0..4 before tensor 'a' \(bytes 4..8\) belong to no tensor/);
    const gap = file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, f32(0, 1, 2));
    expect(() => parseSafetensors(gap)).toThrow(/data bytes 4..8 before tensor 'b'/);
    const trailing = file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(0, 1));
    expect(() => parseSafetensors(trailing)).toThrow(/4 trailing byte\(s\) after the last tensor/);
  });

  it('accepts zero-length tensors at any boundary, whatever the key order', () => {
    for (const order of [['z', 'a'], ['a', 'z']]) {
      const entries: Record<string, unknown> = {};
      for (const k of order) entries[k] = k === 'z' ? { dtype: 'F32', shape: [0], data_offsets: [0, 0] } : { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
      const p = parseSafetensors(file(entries, f32(1, 2)));
      expect(p.entries.get('z')!.shape).toEqual([0]);
      expect([...readFloat32(p, p.entries.get('a')!)]).toEqual([1, 2]);
    }
    const atEnd = parseSafetensors(file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, z: { dtype: 'F16', shape: [3, 0], data_offsets: [4, 4] } }, f32(7)));
    expect(readFloat32(atEnd, atEnd.entries.get('z')!).length).toBe(0);
  });

  it('rejects a byte order mark, leading space and trailing garbage around the JSON', () => {
    const json = JSON.stringify({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } });
    const enc = (s: string) => new TextEncoder().encode(s);
    const raw = (h: Uint8Array) => file(h, f32(1));
    expect(() => parseSafetensors(raw(new Uint8Array([0xef, 0xbb, 0xbf, ...enc(json)])))).toThrow(/starting with '\{', got byte 0xef \(a UTF-8 byte order mark\)/);
    expect(() => parseSafetensors(raw(enc(' ' + json)))).toThrow(/starting with '\{', got byte 0x20/);
    expect(() => parseSafetensors(raw(enc(json + ' x')))).toThrow(/not valid JSON: unexpected character "x" after the JSON value/);
    expect(parseSafetensors(raw(enc(json + '   '))).entries.size).toBe(1);
  });

  it('rejects duplicate keys, unknown fields and non-integer numbers', () => {
    const e = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
    expect(() => parseSafetensors(file(`{"a":${e},"a":${e}}`, f32(1)))).toThrow(/duplicate key "a"/);
    expect(() => parseSafetensors(file('{"a":{"dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]}}', f32(1)))).toThrow(/duplicate key "shape"/);
    expect(() => parseSafetensors(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}', f32(1)))).toThrow(/unknown field 'x'/);
    expect(() => parseSafetensors(file('{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}', f32(1)))).toThrow(/got an element the number 1.0/);
    expect(() => parseSafetensors(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4e0]}}', f32(1)))).toThrow(/data_offsets must be/);
  });

  it('looks dtypes up in its own table, so Object.prototype names are unknown', () => {
    for (const dtype of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      const bytes = file({ a: { dtype, shape: [1], data_offsets: [0, 4] } }, f32(1));
      expect(() => parseSafetensors(bytes)).toThrow(new RegExp(`dtype '${dtype}' is unknown to the safetensors format`));
    }
  });

  it('requires __metadata__ to map strings to strings and keeps prototype names as data', () => {
    expect(() => parseSafetensors(file({ __metadata__: { format: 1 } }))).toThrow(/'__metadata__': value of 'format' must be a string, got number 1|the number 1/);
    expect(() => parseSafetensors(file({ __metadata__: [] }))).toThrow(/'__metadata__' must be an object of strings/);
    const p = parseSafetensors(file('{"__metadata__":{"__proto__":"x","toString":"y"}}'));
    expect(p.metadata.__proto__).toBe('x');
    expect(Object.keys(p.metadata)).toEqual(['__proto__', 'toString']);
  });

  it('bounds nesting before it can exhaust the stack, and names the limit', () => {
    const deep = '{"a":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
    let error: unknown;
    try {
      parseSafetensors(file(deep));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WeightsError);
    expect((error as WeightsError).code).toBe('limit');
    expect((error as Error).message).toMatch(/nests deeper than the limit of 16 levels/);
  });

  it('refuses a header larger than the stated limit before decoding it', () => {
    const bytes = new Uint8Array(8 + 17 * 1024 * 1024);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(17 * 1024 * 1024), true);
    expect(() => parseSafetensors(bytes)).toThrow(/header of 17825792 bytes \(17.0 MiB\) exceeds the limit of 16777216 bytes \(16.0 MiB\)/);
  });

  it('requires shapes whose bits fill whole bytes and a rank within the limit', () => {
    expect(() => parseSafetensors(file({ a: { dtype: 'F4', shape: [3], data_offsets: [0, 2] } }, new Uint8Array(2)))).toThrow(/fills 12 bits, not a whole number of bytes/);
    const rank = new Array(17).fill(1);
    expect(() => parseSafetensors(file({ a: { dtype: 'F32', shape: rank, data_offsets: [0, 4] } }, f32(1)))).toThrow(/17 dimensions, more than the limit of 16/);
  });

  it('says a non-buffer input is not bytes', () => {
    expect(() => parseSafetensors(null as unknown as ArrayBuffer)).toThrow(/must be an ArrayBuffer or a typed array, got null/);
  });
});
