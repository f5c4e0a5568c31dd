// The int8 binary's residual add, max and global average pooling and quantisation
// (kernels-wasm/src/q8/elementwise.rs) against the js reference (src/js/q8.ts add, maxPool2d,
// adaptiveAvgPool2d, quantize), bit for bit, on random sizes, scales, zero points,
// clamps and pooling geometry (fast-check), with every tensor placed right before memory the
// kernel must not touch.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ref from '../js/q8.js';
import { randomFloats } from '../test-helpers.js';
import type { Q8Exports } from './q8.js';

const binary = readFileSync(new URL('../../wasm/cnn_q8.wasm', import.meta.url));
const ex = new WebAssembly.Instance(new WebAssembly.Module(binary), {}).exports as unknown as Q8Exports;
const SENTINEL = 0xa5;

/** Copies `data` into wasm memory (64 readable bytes after it, as the executable leaves) and returns its address. */
let top = 0;
function place(data: Uint8Array | Uint32Array, room = data.byteLength): number {
  const at = top;
  top = Math.ceil((at + room + 64) / 16) * 16;
  const need = top - ex.memory.buffer.byteLength;
  if (need > 0) ex.memory.grow(Math.ceil(need / 65536));
  new Uint8Array(ex.memory.buffer, at, top - at).fill(SENTINEL);
  new Uint8Array(ex.memory.buffer, at, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return at;
}
const reset = () => (top = Math.ceil((ex.__heap_base.value as number) / 16) * 16);
const codes = (n: number, seed: number) => Uint8Array.from(randomFloats(n, seed, 0, 256), (v) => Math.min(255, Math.floor(v)));
/** The output bytes, and whether the 64 bytes after them still hold the sentinel. */
function read(at: number, n: number): { out: number[]; untouchedAfter: boolean } {
  const m = new Uint8Array(ex.memory.buffer);
  return { out: Array.from(m.subarray(at, at + n)), untouchedAfter: m.subarray(at + n, at + n + 64).every((b) => b === SENTINEL) };
}

describe('int8 elementwise kernels (cnn_q8.wasm) against the js reference', () => {
  it('q8_add: any length, scales, zero points and clamp', () => {
    const quant = fc.record({ scale: fc.float({ min: Math.fround(1e-3), max: Math.fround(0.5), noNaN: true }), zeroPoint: fc.integer({ min: 0, max: 255 }) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), quant, quant, quant, fc.constantFrom('none', 'relu', 'relu6'), fc.integer({ min: 0, max: 1e6 }), (n, qa, qb, qy, activation, seed) => {
        reset();
        const a: ref.Q8Tensor = { data: codes(n, seed), shape: [1, 1, 1, n], quant: qa };
        const b: ref.Q8Tensor = { data: codes(n, seed + 1), shape: [1, 1, 1, n], quant: qb };
        const clamp = ref.activationBounds(activation, qy);
        const want = ref.add(a, b, qy, clamp);
        const [at, bt, yt] = [place(a.data), place(b.data), place(new Uint8Array(0), n)];
        ex.q8_add(at, bt, yt, n, qa.zeroPoint, Math.fround(qa.scale / qy.scale), qb.zeroPoint, Math.fround(qb.scale / qy.scale), qy.zeroPoint, clamp[0], clamp[1]);
        const got = read(yt, n);
        expect(got.out).toEqual(Array.from(want.data));
        expect(got.untouchedAfter).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('q8_quantize: any length, scale and zero point; ties, saturation and infinities as the reference; NaN reported', () => {
    // floats on and between the grid's half steps, far outside it, and +-Infinity
    const float = fc.oneof(
      fc.float({ noNaN: true }),
      fc.integer({ min: -600, max: 600 }).map((k) => k / 2),
      fc.constantFrom(Infinity, -Infinity, 0, -0, 1e30, -1e30),
    );
    fc.assert(
      fc.property(fc.array(float, { minLength: 1, maxLength: 70 }), fc.oneof(fc.constantFrom(1, 0.5, 0.25), fc.float({ min: Math.fround(1e-4), max: Math.fround(4), noNaN: true })), fc.integer({ min: 0, max: 255 }), (values, scale, zeroPoint) => {
        reset();
        const x = Float32Array.from(values);
        const quant = { scale, zeroPoint };
        const want = ref.quantize(x, [1, 1, 1, x.length], quant);
        const [xt, yt] = [place(new Uint8Array(x.buffer)), place(new Uint8Array(0), x.length)];
        expect(ex.q8_quantize(xt, yt, x.length, Math.fround(1 / scale), zeroPoint)).toBe(0);
        const got = read(yt, x.length);
        expect(got.out).toEqual(Array.from(want.data));
        expect(got.untouchedAfter).toBe(true);
      }),
      { numRuns: 300 },
    );
    // NaN anywhere, the tail included, is reported (the executable then lets the reference throw)
    for (const at of [0, 15, 16, 20]) {
      reset();
      const x = new Float32Array(21).fill(0.5);
      x[at] = NaN;
      expect(ex.q8_quantize(place(new Uint8Array(x.buffer)), place(new Uint8Array(0), 21), 21, 2, 3)).toBe(1);
    }
  });

  it('q8_global_avgpool: adaptive average pooling to 1 x 1, any cells, channels, batch, scales and zero points', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 40 }),
        fc.float({ min: Math.fround(1e-3), max: Math.fround(2), noNaN: true }),
        fc.float({ min: Math.fround(1e-3), max: Math.fround(2), noNaN: true }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 1e6 }),
        (n, cells, c, inScale, outScale, xZero, yZero, seed) => {
          reset();
          const [h, w] = cells % 7 === 0 ? [7, cells / 7] : [1, cells];
          const input: ref.Q8Tensor = { data: codes(n * cells * c, seed), shape: [n, h, w, c], quant: { scale: inScale, zeroPoint: xZero } };
          const output = { scale: outScale, zeroPoint: yZero };
          const want = ref.adaptiveAvgPool2d(input, [1, 1], output);
          const [xt, yt] = [place(input.data), place(new Uint8Array(0), n * c)];
          ex.q8_global_avgpool(xt, yt, n, cells, c, xZero, Math.fround(inScale / outScale), yZero);
          const got = read(yt, n * c);
          expect(got.out).toEqual(Array.from(want.data));
          expect(got.untouchedAfter).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('q8_maxpool2d: channel tails, padding, strides, batches and ceil-mode windows', () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 1, max: 2 }),
          h: fc.integer({ min: 1, max: 9 }),
          w: fc.integer({ min: 1, max: 9 }),
          c: fc.integer({ min: 1, max: 40 }),
          k: fc.integer({ min: 1, max: 3 }),
          stride: fc.integer({ min: 1, max: 3 }),
          padded: fc.boolean(),
          ceilMode: fc.boolean(),
          seed: fc.integer({ min: 0, max: 1e6 }),
        }),
        ({ n, h, w, c, k, stride, padded, ceilMode, seed }) => {
          const pad = padded ? Math.floor(k / 2) : 0;
          fc.pre(h + 2 * pad >= k && w + 2 * pad >= k);
          reset();
          const input: ref.Q8Tensor = { data: codes(n * h * w * c, seed), shape: [n, h, w, c], quant: { scale: 0.1, zeroPoint: 3 } };
          const want = ref.maxPool2d(input, { kernel: [k, k], stride: [stride, stride], padding: [pad, pad], ceilMode });
          const [, outH, outW] = want.shape;
          const x = place(input.data);
          const y = place(new Uint8Array(0), want.data.length);
          const geometry = place(Uint32Array.of(n, h, w, c, outH, outW, k, k, stride, stride, pad, pad));
          ex.q8_maxpool2d(x, y, geometry);
          const got = read(y, want.data.length);
          expect(got.out).toEqual(Array.from(want.data));
          expect(got.untouchedAfter).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
