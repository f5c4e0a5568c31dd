// The layout reorders against index arithmetic written out, on random shapes: the 1- and
// 3-channel fast paths and the general one, batches, and a caller-provided output buffer.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { nchwToNhwc, nhwcToNchw } from './tensor.js';

const shapes = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  c: fc.oneof(fc.constantFrom(1, 3), fc.integer({ min: 1, max: 9 })),
  h: fc.integer({ min: 1, max: 7 }),
  w: fc.integer({ min: 1, max: 7 }),
});

describe('nchwToNhwc and nhwcToNchw', () => {
  it('move element [b, ch, y, x] to [b, y, x, ch] and back, for any shape', () => {
    fc.assert(
      fc.property(shapes, fc.integer(), ({ n, c, h, w }, seed) => {
        const size = n * c * h * w;
        const src = Float32Array.from({ length: size }, (_, i) => ((i * 7919 + seed) % 10007) - 5000);
        const nhwc = nchwToNhwc(src, n, c, h, w);
        for (let b = 0; b < n; b++)
          for (let ch = 0; ch < c; ch++)
            for (let y = 0; y < h; y++)
              for (let x = 0; x < w; x++) {
                expect(nhwc[((b * h + y) * w + x) * c + ch]).toBe(src[((b * c + ch) * h + y) * w + x]);
              }
        expect([...nhwcToNchw(nhwc, n, c, h, w)]).toEqual([...src]);
      }),
    );
  });

  it('write into the buffer given, overwriting what it held', () => {
    fc.assert(
      fc.property(shapes, ({ n, c, h, w }) => {
        const src = Float32Array.from({ length: n * c * h * w }, (_, i) => i + 1);
        const dst = new Float32Array(src.length).fill(-1);
        expect(nchwToNhwc(src, n, c, h, w, dst)).toBe(dst);
        expect([...dst]).toEqual([...nchwToNhwc(src, n, c, h, w)]);
        expect(dst.includes(-1)).toBe(false);
      }),
    );
  });
});
