// The resize alone against Pillow's Image.resize, on random images of random sizes: down- and
// upscaling, extreme ratios, one-pixel edges, every filter, gray and RGB.
import { describe, expect, it } from 'vitest';
import { resizePixels, type Interpolation } from './resample.js';
import { pillowResize, type ResizeCase } from './test-reference.js';

/** mulberry32: a small seeded generator, so a failing case can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('resizePixels equals Pillow’s Image.resize', () => {
  it('on 60 random images, sizes and filters (some keeping one side), to the last uint8 level', () => {
    const next = random(11);
    const size = () => 1 + Math.floor(next() ** 2 * 300);
    const filters: Interpolation[] = ['bilinear', 'bicubic', 'nearest'];
    const cases: ResizeCase[] = Array.from({ length: 60 }, (_, i) => {
      const mode = i % 4 === 0 ? 'L' : 'RGB';
      const [w, h] = [size(), size()];
      const data = new Uint8Array(w * h * (mode === 'L' ? 1 : 3));
      // smooth gradients plus noise plus hard 0/255 edges, which make the cubic overshoot and clip
      for (let k = 0; k < data.length; k++) data[k] = next() < 0.1 ? (next() < 0.5 ? 0 : 255) : (k * 7 + Math.floor(next() * 40)) & 255;
      // every fifth case keeps one side, so one pass is skipped as Pillow skips it
      const to: [number, number] = i % 10 === 1 ? [w, size()] : i % 10 === 6 ? [size(), h] : [size(), size()];
      return { mode, size: [w, h], to, interpolation: filters[i % 3], data };
    });
    const expected = pillowResize(cases);
    cases.forEach((c, i) => {
      const ours = resizePixels({ width: c.size[0], height: c.size[1], channels: c.mode === 'L' ? 1 : 3, data: c.data }, c.to[0], c.to[1], c.interpolation);
      let worst = 0;
      for (let k = 0; k < ours.data.length; k++) worst = Math.max(worst, Math.abs(ours.data[k] - expected[i][k]));
      expect(ours.data.length, `case ${i}`).toBe(expected[i].length);
      expect(worst, `case ${i}: ${c.mode} ${c.size.join('x')} -> ${c.to.join('x')} ${c.interpolation}`).toBe(0);
    });
  });
});
