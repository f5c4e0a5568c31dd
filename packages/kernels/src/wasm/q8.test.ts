// The int8 wasm kernels against the js reference (src/js/q8.ts), bit for bit, on random shapes
// (fast-check: odd channel counts, channel and pixel tails, groups, depthwise, padding, strides,
// dilation, residuals, clamps, zero points 0..255), on both binaries. The relaxed-SIMD binary
// runs where the engine validates it; Node 20 needs --experimental-wasm-relaxed-simd, so there
// a child vitest runs this file again with the flag (as relaxed-simd.test.ts does for fp32).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ref from '../js/q8.js';
import { randomFloats } from '../test-helpers.js';
import { instantiateQ8Kernels, smallRange, type Q8WasmKernels } from './q8.js';

const binary = (file: string) => readFileSync(new URL(`../../wasm/${file}`, import.meta.url));
const binaries = ['cnn_q8.wasm', 'cnn_q8-relaxed.wasm'] as const;
const runs = (file: string) => WebAssembly.validate(binary(file));
const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';

interface Case {
  n: number;
  h: number;
  w: number;
  groups: number;
  inCg: number;
  outCg: number;
  kernel: number;
  stride: number;
  padding: number;
  dilation: number;
  residual: boolean;
  activation: 'none' | 'relu' | 'relu6';
  xZero: number;
  /** largest input code: 127 lets relaxed SIMD run, 255 forces the plain fallback */
  xMax: number;
  /** with xMax 127, this share of codes is raised above 127 (a tensor past its calibrated range) */
  hot: number;
  seed: number;
}

function bytes(length: number, seed: number, hi: number): Uint8Array {
  return Uint8Array.from(randomFloats(length, seed, 0, hi + 1), (v) => Math.min(hi, Math.floor(v)));
}

function convParams(c: Case): ref.Q8Conv2dParams {
  const inC = c.groups * c.inCg;
  const outC = c.groups * c.outCg;
  const data = bytes(c.n * c.h * c.w * inC, c.seed, c.xMax);
  if (c.hot > 0) {
    const raise = randomFloats(data.length, c.seed + 4, 0, 1);
    data.forEach((v, i) => (data[i] = raise[i] < c.hot ? 128 + (v % 128) : v));
  }
  const input: ref.Q8Tensor = { data, shape: [c.n, c.h, c.w, inC], quant: { scale: 0.02, zeroPoint: c.xZero } };
  const k = c.inCg * c.kernel * c.kernel;
  const { weight, scales } = ref.quantizeWeightsPerChannel(randomFloats(outC * k, c.seed + 1, -1, 1), outC);
  const bias = ref.quantizeBias(randomFloats(outC, c.seed + 2, -2, 2), input.quant.scale, scales);
  // an output scale that spreads results over the grid, with some saturation
  const output = { scale: Math.fround(0.02 * Math.sqrt(k) * 0.15), zeroPoint: (c.seed * 37) % 256 };
  const reach = c.dilation * (c.kernel - 1) + 1;
  const outH = Math.floor((c.h + 2 * c.padding - reach) / c.stride) + 1;
  const outW = Math.floor((c.w + 2 * c.padding - reach) / c.stride) + 1;
  const residual: ref.Q8Tensor | undefined = c.residual
    ? { data: bytes(c.n * outH * outW * outC, c.seed + 3, 255), shape: [c.n, outH, outW, outC], quant: { scale: 0.03, zeroPoint: (c.seed * 11) % 256 } }
    : undefined;
  return {
    input, weight, weightScales: scales, bias, outChannels: outC, kernel: [c.kernel, c.kernel], stride: [c.stride, c.stride],
    padding: [c.padding, c.padding], dilation: [c.dilation, c.dilation], groups: c.groups, output,
    clamp: ref.activationBounds(c.activation, output), residual,
  };
}

const caseArb = (depthwise: boolean) =>
  fc
    .record({
      n: fc.integer({ min: 1, max: 2 }),
      h: fc.integer({ min: 1, max: 9 }),
      w: fc.integer({ min: 1, max: 9 }),
      groups: depthwise ? fc.integer({ min: 1, max: 37 }) : fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 3 })),
      inCg: depthwise ? fc.constant(1) : fc.integer({ min: 1, max: 21 }),
      outCg: depthwise ? fc.constant(1) : fc.integer({ min: 1, max: 19 }),
      kernel: fc.integer({ min: 1, max: 5 }),
      stride: fc.integer({ min: 1, max: 2 }),
      padding: fc.integer({ min: 0, max: 2 }),
      dilation: fc.integer({ min: 1, max: 2 }),
      residual: fc.boolean(),
      activation: fc.constantFrom('none' as const, 'relu' as const, 'relu6' as const),
      xZero: fc.oneof(fc.constantFrom(0, 127, 255), fc.integer({ min: 0, max: 255 })),
      xMax: fc.constantFrom(127, 255),
      hot: fc.constantFrom(0, 0, 0.02),
      seed: fc.integer({ min: 1, max: 1 << 20 }),
    })
    .filter((c) => c.dilation * (c.kernel - 1) + 1 <= Math.min(c.h, c.w) + 2 * c.padding);

/** Runs p on the wasm kernels, checks the output bit for bit; returns [relaxed tiles, tiles]. */
function expectSame(kernels: Q8WasmKernels, p: ref.Q8Conv2dParams): [number, number] {
  const want = ref.conv2d(p);
  kernels.reset();
  const prepared = kernels.prepareConv2d(p);
  const relaxed = prepared.execute();
  const got = prepared.output();
  expect(got.shape).toEqual(want.shape);
  const first = got.data.findIndex((v, i) => v !== want.data[i]);
  expect(first, first < 0 ? '' : `first difference at ${first}: wasm ${got.data[first]}, js ${want.data[first]}`).toBe(-1);
  return [relaxed, prepared.tiles];
}

/**
 * The tiles (`size` output pixels in order, per group) whose windows read no input pixel holding
 * a code above 127: those the relaxed binary runs with relaxed SIMD's dot (all of them when every
 * code fits, none when the zero point is above 127).
 */
function coolTiles(p: ref.Q8Conv2dParams, size: number): number {
  const [n, h, w, c] = p.input.shape;
  if (p.input.quant.zeroPoint > 127) return 0;
  const hot = Array.from({ length: n * h * w }, (_, i) => p.input.data.subarray(i * c, (i + 1) * c).some((v) => v > 127));
  const [kh, kw] = p.kernel;
  const [sh, sw] = p.stride ?? [1, 1];
  const [ph, pw] = p.padding ?? [0, 0];
  const [dh, dw] = p.dilation ?? [1, 1];
  const outH = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const outW = Math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  const pixels = n * outH * outW;
  let cool = 0;
  for (let m0 = 0; m0 < pixels; m0 += size) {
    let any = false;
    for (let m = m0; m < Math.min(m0 + size, pixels); m++) {
      const b = Math.floor(m / (outH * outW));
      const oy = Math.floor((m % (outH * outW)) / outW);
      const ox = m % outW;
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          const iy = oy * sh - ph + ky * dh;
          const ix = ox * sw - pw + kx * dw;
          if (iy >= 0 && iy < h && ix >= 0 && ix < w && hot[(b * h + iy) * w + ix]) any = true;
        }
      }
    }
    if (!any) cool++;
  }
  return cool * (p.groups ?? 1);
}

/**
 * The (output row, group of 8 channels) pairs that the relaxed binary runs with relaxed SIMD's
 * 4-way dot in a depthwise layer: 3x3 without dilation, zero point <= 127, and no input code
 * above 127 in the group's channels anywhere in the row's windows (none for other kernels).
 */
function coolDwRows(p: ref.Q8Conv2dParams): number {
  const [n, h, w, c] = p.input.shape;
  const [kh, kw] = p.kernel;
  const [sh, sw] = p.stride ?? [1, 1];
  const [ph, pw] = p.padding ?? [0, 0];
  const [dh, dw] = p.dilation ?? [1, 1];
  if (kh !== 3 || kw !== 3 || dh !== 1 || dw !== 1 || p.input.quant.zeroPoint > 127) return 0;
  const outH = Math.floor((h + 2 * ph - 3) / sh) + 1;
  const outW = Math.floor((w + 2 * pw - 3) / sw) + 1;
  let cool = 0;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < outH; oy++)
      for (let g = 0; g < c; g += 8) {
        let hot = false;
        for (let iy = oy * sh - ph; iy < oy * sh - ph + 3; iy++)
          for (let ix = -pw; ix < (outW - 1) * sw - pw + 3; ix++)
            for (let ch = g; ch < Math.min(g + 8, c); ch++)
              if (iy >= 0 && iy < h && ix >= 0 && ix < w && p.input.data[((b * h + iy) * w + ix) * c + ch] > 127) hot = true;
        if (!hot) cool++;
      }
  return cool;
}

describe('smallRange (the short epilogue)', () => {
  it('holds while every channel stays below 2^21 output steps for any codes, and not beyond', () => {
    // channel 0: bound |bias - xZero * sum(w)| + 255 * sum|w| = |1000 - 2 * 133| + 255 * 139 = 36179
    const weight = new Int8Array([127, -3, 9, 0, 0, 0]);
    const bias = new Int32Array([1000, -7]);
    const edge = 2 ** 21 / 36179;
    expect(smallRange(weight, bias, new Float32Array([edge * 0.999, 1]), 2)).toBe(true);
    expect(smallRange(weight, bias, new Float32Array([edge * 1.001, 1]), 2)).toBe(false);
    // the bias' sign and the zero point count: |-1000 - 2 * 133| + 255 * 139 = 36711
    expect(smallRange(weight, new Int32Array([-1000, 0]), new Float32Array([edge * 0.999, 1]), 2)).toBe(false);
    // the second channel alone over the line
    expect(smallRange(weight, bias, new Float32Array([1, 2 ** 21 / 7]), 2)).toBe(false);
    expect(smallRange(weight, undefined, new Float32Array([1, 1]), 255)).toBe(true);
    // a residual's (code - zero point) * multiplier counts too
    expect(smallRange(weight, bias, new Float32Array([edge * 0.99, 1]), 2, (0.02 * 2 ** 21) / 255)).toBe(false);
    expect(smallRange(weight, bias, new Float32Array([edge * 0.99, 1]), 2, (0.005 * 2 ** 21) / 255)).toBe(true);
  });
});

for (const file of binaries) {
  describe.runIf(runs(file))(file, async () => {
    const kernels = runs(file) ? await instantiateQ8Kernels(binary(file)) : (undefined as never);
    // the fused dot-add wherever the probe allows it (off by default)
    if (runs(file)) kernels.useFusedDot(true);

    it('says whether it was built with relaxed SIMD', () => {
      expect(kernels.relaxedSimd).toBe(file === 'cnn_q8-relaxed.wasm');
    });

    it('allows the fused dot-add only where the first tier computes it right', () => {
      // Known tiers of Node 20's V8 (11.x): TurboFan alone computes it right, Liftoff (the first
      // tier by default) does not; elsewhere only the plain binary's answer is known.
      // (the child vitests name their V8 flags in CNN_V8_FLAGS: a test worker's execArgv may not)
      const flags = isNode ? (process.env.CNN_V8_FLAGS ?? '').split(' ') : [];
      const v8 = isNode ? process.versions.v8 : '';
      if (!kernels.relaxedSimd) expect(kernels.fusedDotSafe).toBe(false);
      else if (flags.includes('--no-liftoff')) expect(kernels.fusedDotSafe).toBe(true);
      else if (v8.startsWith('11.')) expect(kernels.fusedDotSafe).toBe(false);
      // the tests below run the fused form wherever it is allowed
      expect(kernels.useFusedDot(true)).toBe(kernels.fusedDotSafe);
      expect(kernels.fusedDot).toBe(kernels.fusedDotSafe);
    });

    it('tiles 6 pixels with the fused dot-add, 4 with the split form', () => {
      expect(kernels.tilePixels).toBe(kernels.fusedDot ? 6 : 4);
      if (kernels.fusedDotSafe) {
        kernels.useFusedDot(false);
        expect(kernels.tilePixels).toBe(4);
        kernels.useFusedDot(true);
        expect(kernels.tilePixels).toBe(6);
      }
    });

    it('dense and grouped convolutions equal the reference bit for bit (random shapes)', () => {
      const size = kernels.tilePixels;
      let relaxedRuns = 0;
      let mixedRuns = 0;
      fc.assert(
        fc.property(caseArb(false), (c) => {
          const p = convParams(c);
          const [relaxed, tiles] = expectSame(kernels, p);
          const plan = ref.planConv2d(p);
          const depthwise = plan.groups === plan.inC && plan.groups === plan.outC; // 1 -> 1 channel included
          // relaxed SIMD on the binary that has it, on every tile whose window holds codes <= 127
          expect(relaxed).toBe(kernels.relaxedSimd ? (depthwise ? coolDwRows(p) : coolTiles(p, size)) : 0);
          expect(tiles).toBe(depthwise ? plan.n * plan.outH * Math.ceil(plan.outC / 8) : plan.groups * Math.ceil((plan.n * plan.outH * plan.outW) / size));
          if (relaxed === tiles) relaxedRuns++;
          else if (relaxed > 0) mixedRuns++;
        }),
        { numRuns: 150, seed: 15 },
      );
      if (kernels.relaxedSimd) {
        expect(relaxedRuns).toBeGreaterThan(10);
        expect(mixedRuns).toBeGreaterThan(5); // a few codes above 127: some tiles each way
      }
    });

    it('depthwise convolutions equal the reference bit for bit (random shapes)', () => {
      let rowRuns = 0;
      let mixedRuns = 0;
      fc.assert(
        fc.property(caseArb(true), (c) => {
          const p = convParams(c);
          expect(kernels.prepareConv2d(p).kernel).toBe('depthwise');
          const [relaxed, rows] = expectSame(kernels, p);
          // 3x3 by rows with relaxed SIMD, each row whose windows hold codes <= 127
          expect(relaxed).toBe(kernels.relaxedSimd ? coolDwRows(p) : 0);
          if (relaxed > 0 && relaxed === rows) rowRuns++;
          else if (relaxed > 0) mixedRuns++;
        }),
        { numRuns: 150, seed: 16 },
      );
      if (kernels.relaxedSimd) {
        expect(rowRuns).toBeGreaterThan(3);
        expect(mixedRuns).toBeGreaterThan(0);
      }
    });

    it('3x3 depthwise by rows: MobileNet shapes, residual, every clamp, a few hot codes', () => {
      // 8-channel groups and a tail (36, 83), strides 1 and 2, paddings 0-2, rows wider than
      // the random cases, codes <= 127 then 1% of them above (those rows take the general form)
      for (const [h, w, groups, stride, padding] of [[14, 17, 32, 1, 1], [13, 12, 36, 2, 1], [9, 30, 83, 1, 0], [10, 11, 24, 2, 2], [6, 5, 8, 1, 2]] as const)
        for (const hot of [0, 0.01])
          for (const activation of ['none', 'relu', 'relu6'] as const) {
            const p = convParams({ n: 2, h, w, groups, inCg: 1, outCg: 1, kernel: 3, stride, padding, dilation: 1, residual: activation === 'none', activation, xZero: 3 + groups, xMax: 127, hot, seed: h * w + groups });
            const [relaxed, rows] = expectSame(kernels, p);
            expect(relaxed).toBe(kernels.relaxedSimd ? coolDwRows(p) : 0);
            if (kernels.relaxedSimd && hot === 0) expect(relaxed).toBe(rows);
          }
    });

    it.each([
      ['ResNet 1x1 projection', { n: 1, h: 7, w: 7, groups: 1, inCg: 64, outCg: 72, kernel: 1, stride: 1, padding: 0, dilation: 1 }],
      ['3x3 stride 2 with 9 channel tail', { n: 1, h: 10, w: 9, groups: 1, inCg: 33, outCg: 41, kernel: 3, stride: 2, padding: 1, dilation: 1 }],
      ['MobileNet depthwise 3x3 stride 2', { n: 1, h: 12, w: 11, groups: 36, inCg: 1, outCg: 1, kernel: 3, stride: 2, padding: 1, dilation: 1 }],
      ['depthwise 5x5, 83 channels', { n: 1, h: 9, w: 9, groups: 83, inCg: 1, outCg: 1, kernel: 5, stride: 1, padding: 2, dilation: 1 }],
      ['7x7 stem, 3 channels', { n: 1, h: 16, w: 15, groups: 1, inCg: 3, outCg: 8, kernel: 7, stride: 2, padding: 3, dilation: 1 }],
    ] as const)('%s, residual, ReLU, both input ranges', (_name, shape) => {
      for (const xMax of [127, 255])
        for (const xZero of [0, 100, 255]) expectSame(kernels, convParams({ ...shape, residual: true, activation: 'relu', xZero, xMax, hot: 0, seed: xZero + xMax }));
    });

    it('one input code above 127 sends only the tiles whose window meets it to the plain-SIMD form', () => {
      // 24x24x32 -> 3x3 s1 p1 -> 40 (ResNet-like), codes <= 127 but one byte of one pixel
      const p = convParams({ n: 2, h: 24, w: 24, groups: 1, inCg: 32, outCg: 40, kernel: 3, stride: 1, padding: 1, dilation: 1, residual: true, activation: 'relu', xZero: 3, xMax: 127, hot: 0, seed: 5 });
      const pixel = (24 + 13) * 24 + 9; // image 1, row 13, column 9
      p.input.data[pixel * 32 + 31] = 200;
      const size = kernels.tilePixels;
      const [relaxed, tiles] = expectSame(kernels, p);
      expect(tiles).toBe((2 * 24 * 24) / size);
      // it feeds output rows 12-14, columns 8-10 of image 1: one tile per row (columns 8-11 by
      // 4 pixels, 6-11 by 6)
      expect(coolTiles(p, size)).toBe(tiles - 3);
      expect(relaxed).toBe(kernels.relaxedSimd ? tiles - 3 : 0);
    });

    it('runs k x k layers with fewer than 8 input channels as window rows and a 1x1 (stems)', () => {
      const base = { n: 2, h: 13, w: 11, groups: 1, outCg: 12, stride: 2, padding: 3, dilation: 1, residual: false, activation: 'relu' as const, xZero: 9, xMax: 127, hot: 0, seed: 3 };
      for (const [inCg, kernel, want] of [[3, 7, 'im2col'], [7, 3, 'im2col'], [8, 3, 'igemm'], [3, 1, 'igemm']] as const) {
        const p = convParams({ ...base, inCg, kernel, padding: (kernel - 1) >> 1 });
        kernels.reset();
        const prepared = kernels.prepareConv2d(p);
        expect(prepared.kernel, `${inCg} channels, ${kernel}x${kernel}`).toBe(want);
        expectSame(kernels, p);
      }
    });

    it('linear layers equal the reference (odd sizes, batch 3)', () => {
      for (const xMax of [127, 255]) {
        const n = 3;
        const inF = 203;
        const outF = 37;
        const input: ref.Q8Tensor = { data: bytes(n * inF, 7, xMax), shape: [n, 1, 1, inF], quant: { scale: 0.05, zeroPoint: 60 } };
        const { weight, scales } = ref.quantizeWeightsPerChannel(randomFloats(outF * inF, 8, -1, 1), outF);
        const p: ref.Q8LinearParams = { input, weight, weightScales: scales, bias: ref.quantizeBias(randomFloats(outF, 9), 0.05, scales), outFeatures: outF, output: { scale: 0.4, zeroPoint: 120 } };
        kernels.reset();
        expect(Array.from(kernels.linear(p).data)).toEqual(Array.from(ref.linear(p).data));
      }
    });

    it('rounds sums far beyond 2^22 output steps as the reference does (saturating)', () => {
      // 255 * 127 real units on grids of 2^-20 and 2^-10: 3.4e10 and 3.3e7 steps either way
      for (const scale of [2 ** -20, 2 ** -10, 1]) {
        const x: ref.Q8Tensor = { data: new Uint8Array([255, 0, 127, 1]), shape: [1, 1, 2, 2], quant: { scale: 1, zeroPoint: 0 } };
        const p: ref.Q8Conv2dParams = { input: x, weight: new Int8Array([127, -127, -127, 127]), weightScales: new Float32Array([1, 1]), outChannels: 2, kernel: [1, 1], output: { scale, zeroPoint: 128 } };
        expectSame(kernels, p);
      }
    });

    it('a layer prepared before reset() refuses to run', () => {
      const p = convParams({ n: 1, h: 4, w: 4, groups: 1, inCg: 3, outCg: 2, kernel: 3, stride: 1, padding: 0, dilation: 1, residual: false, activation: 'none', xZero: 0, xMax: 255, hot: 0, seed: 1 });
      const prepared = kernels.prepareConv2d(p);
      kernels.reset();
      expect(() => prepared.execute()).toThrow(expect.objectContaining({ name: 'DisposedError' }));
      expect(() => prepared.output()).toThrow(/prepared before reset\(\)/);
    });

    it('refuses what the reference refuses, and kernels over 128 taps', () => {
      const p = convParams({ n: 1, h: 4, w: 4, groups: 1, inCg: 3, outCg: 2, kernel: 3, stride: 1, padding: 0, dilation: 1, residual: false, activation: 'none', xZero: 0, xMax: 255, hot: 0, seed: 1 });
      expect(() => kernels.prepareConv2d({ ...p, groups: 2 })).toThrow(/groups 2 must divide input channels 3/);
      const big = { ...p, input: { ...p.input, data: new Uint8Array(12 * 12 * 3), shape: [1, 12, 12, 3] as const }, kernel: [12, 12] as const, weight: new Int8Array(2 * 3 * 144) };
      expect(() => kernels.prepareConv2d(big)).toThrow(expect.objectContaining({ name: 'ShapeError', code: 'unsupported' }));
    });
  });
}


describe.runIf(isNode && !runs('cnn_q8-relaxed.wasm'))('cnn_q8-relaxed.wasm (child vitest with --experimental-wasm-relaxed-simd)', () => {
  // Liftoff alone as well: V8 11.3's baseline tier miscompiles the fused relaxed dot-add, so the
  // probe must keep the split form there (igemm.rs); TurboFan alone runs the fused one.
  it.each([[[]], [['--liftoff', '--no-wasm-tier-up']], [['--no-liftoff']]])('passes the same tests (V8 flags %j)', (flags: string[]) => {
    const root = fileURLToPath(new URL('../../../../', import.meta.url));
    const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
    const files = ['packages/kernels/src/wasm/q8.test.ts', 'packages/kernels/src/int8-plan.test.ts'];
    const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', ...flags, vitest, 'run', ...files, '-t', 'cnn_q8-relaxed'], {
      cwd: root,
      env: { ...env, NO_COLOR: '1', CNN_V8_FLAGS: flags.join(' ') },
      encoding: 'utf8',
      timeout: 240_000,
    });
    const output = `${r.stdout}\n${r.stderr}`;
    expect(output, output).toMatch(/Tests\s+\d+ passed/);
    expect(output).not.toMatch(/failed/);
    expect(Number(/Tests\s+(\d+) passed/.exec(output)?.[1])).toBeGreaterThanOrEqual(11);
    expect(r.status, output).toBe(0);
  });
});
