import { describe, expect, it } from 'vitest';
import { ShapeError, Tensor, counterInput, parseSafetensors, loadWeights, summarize } from '@cnn/core';
import { calibrationOverrides, readFixture, relativeError, runGolden } from '@cnn/core/testing';
import { createJsBackend } from '@cnn/kernels/js';
import { createWasmBackend } from '@cnn/kernels/wasm';
import { lenet5 } from './index.js';

const fixture = readFixture(new URL('../fixtures/', import.meta.url), 'lenet5');

describe('LeNet-5', () => {
  it('has the parameter count of the paper-sized network (61,706) and its multiply-adds', () => {
    const s = summarize(lenet5());
    expect(s.totalParameters).toBe(61_706);
    expect(s.totalParameters).toBe(fixture.params);
    expect(s.totalMultiplyAdds).toBe(fixture.macs);
    expect(s.rows.find((r) => r.name === 'c5')?.outputShape).toEqual([120, 1, 1]);
  });

  for (const [name, make] of [
    ['js', () => Promise.resolve(createJsBackend())],
    ['wasm', () => createWasmBackend()],
  ] as const) {
    it(`matches torchvision logits and taps on the ${name} backend`, async () => {
      // the fixture also holds stride2 and stride4, torch's a3 and a5 outputs (the taps they alias)
      const taps = Object.keys(fixture.taps);
      expect(taps).toEqual(['c1', 's2', 'c5', 'stride2', 'stride4']);
      const r = await runGolden(lenet5().useGeneratedWeights(fixture.seed), fixture, await make(), taps);
      expect(r.logitsShape).toEqual([1, 10]);
      expect(r.logitsError).toBeLessThan(1e-5);
      for (const tap of taps) expect(r.tapErrors[tap], tap).toBeLessThan(1e-5);
    });
  }

  for (const dtype of ['f16', 'bf16'] as const) {
    it(`loads a torch-written ${dtype.toUpperCase()} safetensors file and matches torch on the rounded weights`, async () => {
      const meta = fixture[`safetensors_${dtype}`] as { header: string; byteLength: number; sha256: string };
      const expected = fixture[`logits_${dtype}`] as { data: number[] };
      const bytes = await rebuildHalfFile(meta.header, dtype, fixture.seed);
      expect(bytes.length).toBe(meta.byteLength);
      expect(await sha256(bytes)).toBe(meta.sha256);
      const model = await loadWeights(lenet5(), bytes);
      const runner = await model.compile(createJsBackend());
      const logits = await runner.run(new Tensor(fixture.input.shape, counterInput(fixture.input.shape, fixture.seed)));
      expect(relativeError(logits.data, expected.data)).toBeLessThan(1e-5);
    });
  }
});

import { counterParameter } from '@cnn/core';

/** Regenerates the exact bytes the golden script wrote: header + generator values in half precision. */
async function rebuildHalfFile(header: string, dtype: 'f16' | 'bf16', seed: number): Promise<Uint8Array> {
  const calibrated = calibrationOverrides(fixture);
  const headerBytes = new TextEncoder().encode(header);
  const entries = JSON.parse(header) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const dataLength = Math.max(...Object.entries(entries).filter(([k]) => k !== '__metadata__').map(([, e]) => e.data_offsets[1]));
  const out = new Uint8Array(8 + headerBytes.length + dataLength);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  for (const [key, e] of Object.entries(entries)) {
    if (key === '__metadata__') continue;
    // the golden script wrote the calibrated state: generated values, biases centred (tools/golden/calibrate.py)
    const values = calibrated.get(key)?.data ?? counterParameter(key, e.shape, seed);
    const base = 8 + headerBytes.length + e.data_offsets[0];
    values.forEach((v, i) => view.setUint16(base + 2 * i, dtype === 'f16' ? toF16(v) : toBf16(v), true));
  }
  parseSafetensors(out);
  return out;
}

function toBf16(v: number): number {
  const bits = new Uint32Array(new Float32Array([v]).buffer)[0];
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

function toF16(v: number): number {
  // round-to-nearest-even conversion of a float32 value (normal range is enough for weights)
  const f = new Float32Array([v]);
  const bits = new Uint32Array(f.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = ((bits >>> 23) & 0xff) - 127 + 15;
  let mant = bits & 0x7fffff;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  let e = exp;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
    }
  }
  return sign | (e << 10) | m;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(bytes).digest('hex');
}

describe('lenet5 at sizes its classifier cannot take', () => {
  it('fails at once for 20000x20000 and 2048x2048, saying why', async () => {
    const model = lenet5().useGeneratedWeights();
    for (const [size, message] of [
      [20_000, /inputSize 20000x20000 exceeds the limit of 16384 pixels a side/],
      [2048, /lenet5 at inputSize 2048x2048 needs 'f6.weight' of shape \[84, 30603000\], but its weights are \[84, 120\]: the layers before it fix the input to 32x32/],
    ] as const) {
      const t = performance.now();
      const error = await model.compile(createJsBackend(), { inputSize: [size, size] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ShapeError);
      expect((error as Error).message).toMatch(message);
      expect(performance.now() - t).toBeLessThan(500);
    }
  });
});
