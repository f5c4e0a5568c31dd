// Property-based tests of the two file readers: valid files decode to exactly their values, and
// mutated files either decode to exactly what an independent oracle reads or fail with a typed
// error. The long campaign (tools/fuzz/campaign.mjs) runs the same generators 100,000 times each.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { parseSafetensors, readFloat32 } from './safetensors.js';
import { parseNpy } from './npy.js';
import { ShapeError, WeightsError } from './errors.js';
import { mutateNpy, mutateSafetensors, rng, validNpy, validSafetensors } from '../../../tools/fuzz/cases.mjs';
import { machinePaths } from './testing.js';

const sameFloats = (a: Float32Array, b: Float32Array) =>
  a.length === b.length && a.every((v, i) => Object.is(v, b[i]) || (Number.isNaN(v) && Number.isNaN(b[i])));

// ------------------------------------------------------------------ safetensors oracle

type Decoded = Map<string, { dtype: string; shape: number[]; values?: Float32Array }>;

function halfToFloat(h: number): number {
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const s = h >> 15 ? -1 : 1;
  return e === 31 ? (m ? NaN : s * Infinity) : e === 0 ? s * m * 2 ** -24 : s * 2 ** (e - 15) * (1 + m / 1024);
}

/**
 * An independent, simpler reader: the platform's JSON.parse and the format's rules written out
 * again. It cannot see duplicate keys or '1.0' spellings, so it may accept what the real reader
 * refuses; whatever the real reader accepts, this one must accept with the same values.
 */
function referenceSafetensors(bytes: Uint8Array): Decoded | 'reject' {
  if (bytes.length < 8) return 'reject';
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  if (n > bytes.length - 8 || bytes[8] !== 0x7b) return 'reject';
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n)));
  } catch {
    return 'reject';
  }
  const bits: Record<string, number> = { F32: 32, F16: 16, BF16: 16, F64: 64, I64: 64, I8: 8 }; // I8: int8 weights, decoded with their scales by weights.ts
  const rows: { key: string; dtype: string; shape: number[]; b: number; e: number }[] = [];
  for (const key of Object.keys(header)) {
    const v = header[key] as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (key === '__metadata__') {
      if (v !== null && (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string'))) return 'reject';
      continue;
    }
    if (typeof v !== 'object' || v === null || typeof v.dtype !== 'string' || !Object.hasOwn(bits, v.dtype)) return 'reject';
    const shape = v.shape;
    const offsets = v.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return 'reject';
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0)) return 'reject';
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    if ((count * bits[v.dtype]) / 8 !== offsets[1] - offsets[0]) return 'reject';
    rows.push({ key, dtype: v.dtype, shape, b: offsets[0], e: offsets[1] });
  }
  rows.sort((x, y) => x.b - y.b || x.e - y.e);
  let at = 0;
  for (const r of rows) {
    if (r.b !== at) return 'reject';
    at = r.e;
  }
  if (at !== bytes.length - 8 - n) return 'reject';
  const data = bytes.slice(8 + n);
  const out: Decoded = new Map();
  for (const r of rows) {
    const raw = data.slice(r.b, r.e).buffer;
    let values: Float32Array | undefined;
    if (r.dtype === 'F32') values = new Float32Array(raw);
    else if (r.dtype === 'F64') values = Float32Array.from(new Float64Array(raw));
    else if (r.dtype === 'F16') values = Float32Array.from(new Uint16Array(raw), halfToFloat);
    else if (r.dtype === 'BF16') values = new Float32Array(Uint32Array.from(new Uint16Array(raw), (h) => h * 65536).buffer);
    out.set(r.key, { dtype: r.dtype, shape: r.shape, values });
  }
  return out;
}

function checkSafetensors(bytes: Uint8Array, mustAccept: boolean): 'accepted' | 'rejected' {
  let file;
  try {
    file = parseSafetensors(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(WeightsError);
    expect(['format', 'limit', 'unsupported']).toContain((e as WeightsError).code);
    if (mustAccept) throw e;
    return 'rejected';
  }
  const reference = referenceSafetensors(bytes);
  expect(reference, 'the reference reader rejects a file the reader accepted').not.toBe('reject');
  const ref = reference as Decoded;
  expect([...file.entries.keys()].sort()).toEqual([...ref.keys()].sort());
  for (const entry of file.entries.values()) {
    const r = ref.get(entry.key)!;
    expect(entry.dtype).toBe(r.dtype);
    expect(entry.shape).toEqual(r.shape);
    if (r.values) expect(sameFloats(readFloat32(file, entry), r.values), `values of '${entry.key}'`).toBe(true);
  }
  return 'accepted';
}

describe('safetensors reader under property-based fuzzing', () => {
  it('decodes every generated valid file exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        checkSafetensors(validSafetensors(rng(seed)).bytes, true);
      }),
      { numRuns: 800 },
    );
  });

  it('answers every mutation with the reference values or a typed error', () => {
    const seen = { accepted: 0, rejected: 0 };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const r = rng(seed);
        seen[checkSafetensors(mutateSafetensors(r, validSafetensors(r)).bytes, false)]++;
      }),
      { numRuns: 2500 },
    );
    // the mutations must exercise both outcomes, or the property says little
    expect(seen.accepted).toBeGreaterThan(100);
    expect(seen.rejected).toBeGreaterThan(1000);
  });
});

// ------------------------------------------------------------------ npy

const DESCR_SIZE: Record<string, number> = { '<f4': 4, '>f4': 4, '<f8': 8, '>f8': 8, '<f2': 2, '>f2': 2, '|u1': 1 };

/** Expected C-order values of a .npy data section, from the description alone. */
function expectedNpy(descr: string, shape: number[], fortran: boolean, data: Uint8Array): Float32Array {
  const size = DESCR_SIZE[descr];
  const little = descr[0] !== '>';
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const element = (i: number) => {
    const o = i * size;
    if (size === 1) return view.getUint8(o);
    if (size === 2) return halfToFloat(view.getUint16(o, little));
    return size === 4 ? view.getFloat32(o, little) : view.getFloat64(o, little);
  };
  const count = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: count }, (_, c) => {
    if (!fortran) return element(c);
    // C index -> multi-index -> Fortran offset (first index fastest)
    let rest = c;
    let offset = 0;
    let stride = 1;
    const index = new Array<number>(shape.length);
    for (let k = shape.length - 1; k >= 0; k--) {
      index[k] = rest % shape[k];
      rest = Math.floor(rest / shape[k]);
    }
    for (let k = 0; k < shape.length; k++) {
      offset += index[k] * stride;
      stride *= shape[k];
    }
    return element(offset);
  });
}

function npyBytes(header: string, data: Uint8Array, version: number): Uint8Array {
  const h = new TextEncoder().encode(header);
  const pre = version === 1 ? 10 : 12;
  const out = new Uint8Array(pre + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  if (version === 1) new DataView(out.buffer).setUint16(8, h.length, true);
  else new DataView(out.buffer).setUint32(8, h.length, true);
  out.set(h, pre);
  out.set(data, pre + h.length);
  return out;
}

const numpy = spawnSync(machinePaths.python, ['-c', 'import numpy'], { timeout: 20_000 }).status === 0;

describe('npy reader under property-based fuzzing', () => {
  it('decodes every valid file exactly: dtypes, byte orders, Fortran order, versions, spellings', () => {
    const file = fc
      .record({
        descr: fc.constantFrom(...Object.keys(DESCR_SIZE)),
        shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
        fortran: fc.boolean(),
        version: fc.constantFrom(1, 2, 3),
        quote: fc.constantFrom("'", '"'),
        space: fc.constantFrom('', ' ', '  ', '\t'),
        order: fc.constantFrom([0, 1, 2], [2, 1, 0], [1, 0, 2]),
        trailingComma: fc.boolean(),
        pad: fc.nat(70),
      })
      .chain((m) => fc.record({ m: fc.constant(m), data: fc.uint8Array({ minLength: m.shape.reduce((a, b) => a * b, 1) * DESCR_SIZE[m.descr], maxLength: m.shape.reduce((a, b) => a * b, 1) * DESCR_SIZE[m.descr] }) }));
    fc.assert(
      fc.property(file, ({ m, data }) => {
        const q = (s: string) => m.quote + s + m.quote;
        const shapeText = m.shape.length === 1 ? `(${m.shape[0]},)` : `(${m.shape.join(`,${m.space}`)})`;
        const fields = [`${q('descr')}:${m.space}${q(m.descr)}`, `${q('fortran_order')}:${m.space}${m.fortran ? 'True' : 'False'}`, `${q('shape')}:${m.space}${shapeText}`];
        const header = `{${m.order.map((i) => fields[i]).join(`,${m.space}`)}${m.trailingComma ? ',' : ''}}${' '.repeat(m.pad)}\n`;
        const t = parseNpy(npyBytes(header, data, m.version));
        expect(t.shape).toEqual(m.shape);
        expect(sameFloats(t.data, expectedNpy(m.descr, m.shape, m.fortran, data))).toBe(true);
      }),
      { numRuns: 800 },
    );
  });

  it.skipIf(!numpy)('answers every mutation with numpy\'s values or a typed error (needs /usr/bin/python3 with numpy)', () => {
    // one numpy process for the whole batch: cases out as length-prefixed records, verdicts back as JSON lines
    const cases: { seed: number; bytes: Uint8Array; ours: Float32Array | ShapeError; shape?: readonly number[] }[] = [];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const r = rng(seed);
        const bytes = mutateNpy(r, validNpy(r)).bytes;
        try {
          const t = parseNpy(bytes);
          cases.push({ seed, bytes, ours: t.data, shape: t.shape });
        } catch (e) {
          expect(e).toBeInstanceOf(ShapeError);
          expect(['format', 'limit', 'unsupported']).toContain((e as ShapeError).code);
          cases.push({ seed, bytes, ours: e as ShapeError });
        }
      }),
      { numRuns: 2000 },
    );
    const script = [
      'import sys, io, json, struct, numpy as np',
      'inp = sys.stdin.buffer',
      'while True:',
      '    h = inp.read(4)',
      '    if len(h) < 4: break',
      '    b = inp.read(struct.unpack("<I", h)[0])',
      '    try:',
      '        a = np.load(io.BytesIO(b), allow_pickle=False)',
      '        print(json.dumps({"shape": list(a.shape), "bits": np.ascontiguousarray(a.astype("<f4")).ravel().view("<u4").tolist()}))',
      '    except Exception as e:',
      '        print(json.dumps({"error": type(e).__name__}))',
    ].join('\n');
    const input = Buffer.concat(cases.flatMap((c) => [Buffer.from(new Uint32Array([c.bytes.length]).buffer), Buffer.from(c.bytes)]));
    const result = spawnSync(machinePaths.python, ['-c', script], { input, maxBuffer: 1 << 28, timeout: 120_000 });
    expect(result.status, result.stderr?.toString()).toBe(0);
    const verdicts = result.stdout.toString().trim().split('\n').map((l) => JSON.parse(l) as { shape?: number[]; bits?: number[]; error?: string });
    expect(verdicts.length).toBe(cases.length);
    let accepted = 0;
    cases.forEach((c, i) => {
      if (c.ours instanceof ShapeError) return;
      accepted++;
      const v = verdicts[i];
      expect(v.error, `seed ${c.seed}: accepted a file numpy rejects`).toBeUndefined();
      expect(c.shape, `seed ${c.seed}`).toEqual(v.shape);
      const expected = new Float32Array(Uint32Array.from(v.bits!).buffer);
      expect(sameFloats(c.ours, expected), `seed ${c.seed}: values differ from numpy`).toBe(true);
    });
    expect(accepted).toBeGreaterThan(30); // about 5% of mutations keep a readable file
  });
});
