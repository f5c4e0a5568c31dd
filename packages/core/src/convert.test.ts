// float16 rounding and int8 quantisation of encodeSafetensors, read back by decodeWeights.
import { describe, expect, it } from 'vitest';
import { encodeSafetensors, float32ToFloat16, INT8_LAYOUT } from './convert.js';
import { INT8_SCALE_SUFFIX, type DecodedWeights, type WeightTensor } from './weights.js';
import { decodeWeights } from './weights-decode.js';
import { parseSafetensors } from './safetensors.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A .safetensors file from raw little-endian entries. */
function rawSafetensors(entries: [string, string, number[], Uint8Array][]): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [key, dtype, shape, bytes] of entries) {
    header[key] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let p = 8 + json.length;
  for (const [, , , bytes] of entries) (out.set(bytes, p), (p += bytes.length));
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  return exp === 0 ? sign * frac * 2 ** -24 : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const decodedOf = (tensors: Record<string, WeightTensor>): DecodedWeights => ({
  tensors: new Map(Object.entries(tensors)),
  integerKeys: new Set(),
  integers: new Map(),
  format: 'tensors',
  notes: [],
});

describe('float32ToFloat16', () => {
  it('round-trips every finite half, and rounds midpoints to even', () => {
    for (let h = 0; h < 0x10000; h++) {
      if (((h >> 10) & 0x1f) === 31) continue;
      expect(float32ToFloat16(halfToFloat(h))).toBe(h);
    }
    // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: to even (1); 1 + 3*2^-11 goes up
    expect(float32ToFloat16(1 + 2 ** -11)).toBe(0x3c00);
    expect(float32ToFloat16(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(float32ToFloat16(65520)).toBe(0x7c00); // rounds past the largest half: infinity
    expect(float32ToFloat16(2 ** -25)).toBe(0); // halfway to the smallest subnormal: even (0)
    expect(float32ToFloat16(1.5 * 2 ** -25)).toBe(1);
    expect(float32ToFloat16(NaN) & 0x7e00).toBe(0x7e00);
  });
});

describe('encodeSafetensors', () => {
  it('describes the int8 layout with the scale suffix the reader looks for', () => {
    expect(INT8_LAYOUT).toContain(`'<key>${INT8_SCALE_SUFFIX}' F32 [out]`);
  });

  const weight = { shape: [3, 2, 2], data: new Float32Array([0.5, -1, 0.25, 0.1, 0, 0, 0, 0, 100, -3, 2, 1]) };
  const bias = { shape: [3], data: new Float32Array([1, 2, 3]) };

  it('stores int8 per output channel with its scales and decodes them at load', async () => {
    const bytes = encodeSafetensors(decodedOf({ 'conv.weight': weight, 'conv.bias': bias }), 'int8');
    const file = parseSafetensors(bytes);
    expect(file.entries.get('conv.weight')!.dtype).toBe('I8');
    expect(file.entries.get('conv.weight.__scale')!.shape).toEqual([3]);
    expect(file.entries.get('conv.bias')!.dtype).toBe('F32');
    expect(file.metadata['cnn.int8']).toMatch(/per-output-channel symmetric/);
    const back = await decodeWeights(bytes);
    expect([...back.tensors.keys()].sort()).toEqual(['conv.bias', 'conv.weight']);
    const w = back.tensors.get('conv.weight')!.data;
    const scales = [1 / 127, 0, 100 / 127];
    weight.data.forEach((v, i) => expect(Math.abs(w[i] - v)).toBeLessThanOrEqual(scales[Math.floor(i / 4)] / 2 + 1e-7));
    expect(w[8]).toBeCloseTo(100, 4);
    expect(Array.from(back.tensors.get('conv.bias')!.data)).toEqual([1, 2, 3]);
  });

  it('halves the data in f16, and refuses an I8 tensor without its scales', async () => {
    const f32 = encodeSafetensors(decodedOf({ w: weight }), 'f32');
    const f16 = encodeSafetensors(decodedOf({ w: weight }), 'f16');
    expect(parseSafetensors(f16).entries.get('w')!.end - parseSafetensors(f16).entries.get('w')!.begin).toBe(24);
    expect(Array.from((await decodeWeights(f16)).tensors.get('w')!.data)).toEqual(Array.from(weight.data, (v) => halfToFloat(float32ToFloat16(v))));
    expect(Array.from((await decodeWeights(f32)).tensors.get('w')!.data)).toEqual(Array.from(weight.data));
    const int8 = encodeSafetensors(decodedOf({ w: weight }), 'int8');
    const header = JSON.parse(new TextDecoder().decode(int8.subarray(8, 8 + Number(new DataView(int8.buffer).getBigUint64(0, true)))));
    delete header['w.__scale'];
    header.w.data_offsets = [0, 12];
    const json = new TextEncoder().encode(JSON.stringify(header));
    const broken = new Uint8Array(8 + json.length + 12);
    new DataView(broken.buffer).setBigUint64(0, BigInt(json.length), true);
    broken.set(json, 8);
    await expect(decodeWeights(broken)).rejects.toThrow("'w': I8 tensor without its scales 'w.__scale'");
  });

  it('decodes F16, BF16, F64 and int8 read from a file block by block exactly as from memory', async () => {
    const n = 700_001; // F16 and I8 spans cross the 1 MiB decoding block
    const half = new Uint16Array(n).map((_, i) => (i * 7919) & 0x7bff);
    const bf16 = new Uint16Array(n).map((_, i) => (i * 104729) & 0x7f7f);
    const f64 = new Float64Array(1000).map((_, i) => Math.sin(i) * 1e3);
    const file = rawSafetensors([
      ['h', 'F16', [n], new Uint8Array(half.buffer)],
      ['b', 'BF16', [n], new Uint8Array(bf16.buffer)],
      ['d', 'F64', [10, 100], new Uint8Array(f64.buffer)],
    ]);
    const big = { shape: [3, n], data: new Float32Array(3 * n).map((_, i) => Math.cos(i)) };
    const int8 = encodeSafetensors(decodedOf({ w: big }), 'int8');
    const dir = mkdtempSync(join(tmpdir(), 'cnn-blocks-'));
    writeFileSync(join(dir, 'floats.safetensors'), file);
    writeFileSync(join(dir, 'int8.safetensors'), int8);
    for (const [name, bytes] of [['floats.safetensors', file], ['int8.safetensors', int8]] as const) {
      const fromMemory = await decodeWeights(bytes);
      const fromDisk = await decodeWeights(join(dir, name));
      for (const [key, t] of fromMemory.tensors) {
        const a = t.data;
        const b = fromDisk.tensors.get(key)!.data;
        let mismatch = a.length === b.length ? -1 : 0;
        for (let i = 0; i < a.length && mismatch < 0; i++) if (!Object.is(a[i], b[i])) mismatch = i;
        expect(mismatch, `${name} '${key}': first differing element`).toBe(-1);
      }
    }
  });
});
