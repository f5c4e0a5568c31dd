// Every wasm kernel against the js reference, op by op, on odd shapes, for every variant this
// engine runs: simd, simd-threads, and (where relaxed SIMD validates, e.g. with
// NODE_OPTIONS=--experimental-wasm-relaxed-simd) relaxed-simd and relaxed-simd-threads.
// The threaded runs share every op, however small, so the work splitting itself is tested.
// Pass criterion everywhere: max |wasm - js| / max |js| <= 1e-5 over each op's output.
import { beforeAll, describe, it, expect } from 'vitest';
import { ACTIVATIONS, type Activation, type Conv2dOp, type PlanOp, type Slot } from '@cnn/core';
import { createWasmBackend, hasRelaxedSimd, type WasmBackendOptions } from './index.js';
import { usesWinograd, winogradTileSides, WINOGRAD_ACCURATE_LAYERS } from './op-plans.js';
import { ArenaBuilder, channelViewOps, compareWithReference, fakeQuantizeOps, randomFloats } from '../test-helpers.js';
import { winogradBand } from './op-plans.js';

const TOLERANCE = 1e-5;
/**
 * Winograd F(4x4, 3x3) transforms scale rounding errors up (its constants reach 8 and the
 * transformed sums run over all input channels): measured 4e-6 at 64 channels up to 1.3e-5 at
 * 512, against 1-2e-6 for the direct path. Models stay well inside 1e-4 of torchvision.
 * F(2x2, 3x3) (the first Winograd convolutions of a plan in the default 'accurate' mode,
 * `winogradTileSides`) is held to TOLERANCE.
 */
const WINOGRAD_TOLERANCE = 2e-5;
const VARIANTS: [string, WasmBackendOptions][] = [
  ['simd', { relaxedSimd: false }],
  ['simd-threads', { relaxedSimd: false, threads: 3, shareTinyOps: true }],
  ...(hasRelaxedSimd()
    ? ([
        ['relaxed-simd', { relaxedSimd: true }],
        ['relaxed-simd-threads', { relaxedSimd: true, threads: 2, shareTinyOps: true }],
      ] as [string, WasmBackendOptions][])
    : []),
];
let backend = createWasmBackend();
let currentOptions: WasmBackendOptions = {};
const variantOptions = () => currentOptions;

type Pair = readonly [number, number];
interface ConvCase {
  n?: number;
  inHW: Pair;
  inC: number;
  outC: number;
  kernel: Pair;
  stride?: Pair;
  padding?: Pair;
  /** extra bottom/right padding, which only shows up in the output shape */
  padEnd?: Pair;
  dilation?: Pair;
  groups?: number;
  residual?: boolean;
  activation?: Activation;
}

let seed = 100;

function convOutSize(inSize: number, k: number, s: number, p0: number, p1: number, d: number): number {
  return Math.floor((inSize + p0 + p1 - d * (k - 1) - 1) / s) + 1;
}

function makeConv(a: ArenaBuilder, c: ConvCase): Conv2dOp {
  const n = c.n ?? 1;
  const one: Pair = [1, 1];
  const zero: Pair = [0, 0];
  const [stride, padding, dilation] = [c.stride ?? one, c.padding ?? zero, c.dilation ?? one];
  const padEnd = c.padEnd ?? padding;
  const groups = c.groups ?? 1;
  const outH = convOutSize(c.inHW[0], c.kernel[0], stride[0], padding[0], padEnd[0], dilation[0]);
  const outW = convOutSize(c.inHW[1], c.kernel[1], stride[1], padding[1], padEnd[1], dilation[1]);
  const input = a.slot([n, c.inHW[0], c.inHW[1], c.inC]);
  const output = a.slot([n, outH, outW, c.outC]);
  const residual = c.residual ? a.slot([n, outH, outW, c.outC]) : undefined;
  const fanIn = (c.inC / groups) * c.kernel[0] * c.kernel[1];
  return {
    kind: 'conv2d',
    input,
    output,
    residual,
    weight: randomFloats(c.outC * fanIn, seed++, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn)),
    bias: randomFloats(c.outC, seed++),
    kernel: c.kernel,
    stride,
    padding,
    dilation,
    groups,
    activation: c.activation ?? 'none',
  };
}

async function checkConv(c: ConvCase): Promise<void> {
  const a = new ArenaBuilder();
  const op = makeConv(a, c);
  const tolerance = usesWinograd(op) ? WINOGRAD_TOLERANCE : TOLERANCE;
  expect(await compareWithReference(backend, [op], a.size + 5, seed++)).toBeLessThanOrEqual(tolerance);
}

for (const [variant, options] of VARIANTS) {
  describe(`${variant} binary`, () => {
    beforeAll(() => {
      currentOptions = options;
      backend = createWasmBackend(options);
      expect(backend.variant).toBe(variant);
    });
    registerSuites();
  });
}

function registerSuites(): void {
describe('wasm conv2d matches the js reference', () => {
  const cases: [string, ConvCase][] = [
    ['3x3 pad 1, odd channels 5 -> 6, batch 2, relu', { n: 2, inHW: [7, 9], inC: 5, outC: 6, kernel: [3, 3], padding: [1, 1], activation: 'relu' }],
    ['1x1 stride 1 (GEMM path), 17 -> 10, batch 3, residual', { n: 3, inHW: [5, 7], inC: 17, outC: 10, kernel: [1, 1], residual: true }],
    ['1x1 GEMM with many output blocks (weight chunking), 520 -> 70', { inHW: [3, 5], inC: 520, outC: 70, kernel: [1, 1], activation: 'relu' }],
    ['1x1 grouped (4 groups of 6 -> 5 channels), batch 2, residual, relu6', { n: 2, inHW: [3, 7], inC: 24, outC: 20, kernel: [1, 1], groups: 4, residual: true, activation: 'relu6' }],
    ['1x1 stride 2 (downsample), 12 -> 24', { inHW: [9, 8], inC: 12, outC: 24, kernel: [1, 1], stride: [2, 2] }],
    ['7x7 stride 2 pad 3 (stem), 3 -> 8', { inHW: [15, 13], inC: 3, outC: 8, kernel: [7, 7], stride: [2, 2], padding: [3, 3], activation: 'relu' }],
    ['7x7 stride 2 pad 3 on a wide image (whole kernel rows as one run), batch 2', { n: 2, inHW: [12, 40], inC: 3, outC: 64, kernel: [7, 7], stride: [2, 2], padding: [3, 3], activation: 'relu' }],
    ['3x3 pad 1 on a wide image with bottom-only extra padding, 16 -> 13', { inHW: [6, 30], inC: 16, outC: 13, kernel: [3, 3], padding: [1, 1], padEnd: [3, 1], residual: true }],
    ['3x3 dilation 2 pad 2, 4 -> 5', { inHW: [9, 10], inC: 4, outC: 5, kernel: [3, 3], padding: [2, 2], dilation: [2, 2] }],
    ['asymmetric 1x7 pad [0, 3], 6 -> 3', { inHW: [5, 11], inC: 6, outC: 3, kernel: [1, 7], padding: [0, 3] }],
    ['asymmetric 3x1 stride [2, 1], 8 -> 9', { inHW: [10, 4], inC: 8, outC: 9, kernel: [3, 1], stride: [2, 1], padding: [1, 0] }],
    ['2x2 "same" padding only at the bottom/right', { inHW: [6, 5], inC: 3, outC: 7, kernel: [2, 2], padEnd: [1, 1] }],
    ['5x5 stride 3 with uneven padding, dilation [1, 2]', { inHW: [13, 17], inC: 7, outC: 11, kernel: [5, 5], stride: [3, 3], padding: [2, 1], padEnd: [0, 3], dilation: [1, 2] }],
    ['9x9 kernel (81 taps: pointer table refilled per block)', { inHW: [10, 10], inC: 3, outC: 9, kernel: [9, 9], padding: [4, 4] }],
    ['wide input channels, 3x3, 300 -> 16, residual, relu6', { inHW: [4, 5], inC: 300, outC: 16, kernel: [3, 3], padding: [1, 1], residual: true, activation: 'relu6' }],
    ['ResNeXt groups: 32 groups of 4, 3x3 stride 2', { inHW: [9, 9], inC: 128, outC: 128, kernel: [3, 3], stride: [2, 2], padding: [1, 1], groups: 32, activation: 'relu' }],
    ['groups 4 with 3 -> 5 channels per group', { inHW: [6, 7], inC: 12, outC: 20, kernel: [3, 3], padding: [1, 1], groups: 4, residual: true }],
    ['depthwise 3x3 pad 1, 13 channels', { inHW: [8, 9], inC: 13, outC: 13, kernel: [3, 3], padding: [1, 1], groups: 13, activation: 'relu6' }],
    ['depthwise 5x5 stride 2 pad 2, 24 channels, residual, batch 2', { n: 2, inHW: [11, 10], inC: 24, outC: 24, kernel: [5, 5], stride: [2, 2], padding: [2, 2], groups: 24, residual: true }],
    ['depthwise 3x3 stride 2 on a wide image (4-pixel tiles), 20 channels, silu', { inHW: [7, 30], inC: 20, outC: 20, kernel: [3, 3], stride: [2, 2], padding: [1, 1], groups: 20, activation: 'silu' }],
    ['depthwise 3x3 stride 1 on a wide image (6- and 4-pixel row tiles + single pixels), 12 channels, residual', { inHW: [5, 37], inC: 12, outC: 12, kernel: [3, 3], padding: [1, 1], groups: 12, residual: true, activation: 'relu6' }],
    ['depthwise 3x3 stride 2 on a wide odd image (4-pixel stride-2 row tiles), padding only at the end, 9 channels, residual, relu', { n: 2, inHW: [9, 41], inC: 9, outC: 9, kernel: [3, 3], stride: [2, 2], padEnd: [1, 1], groups: 9, residual: true, activation: 'relu' }],
    ['depthwise 5x5 stride 2 pad 2 on a wide odd image (4-pixel stride-2 row tiles), 13 channels, residual, relu6', { inHW: [9, 37], inC: 13, outC: 13, kernel: [5, 5], stride: [2, 2], padding: [2, 2], groups: 13, residual: true, activation: 'relu6' }],
    ['depthwise 5x5 stride 1 on a wide image (6-pixel row tiles), 21 channels, batch 2', { n: 2, inHW: [6, 29], inC: 21, outC: 21, kernel: [5, 5], padding: [2, 2], groups: 21 }],
    ['depthwise 5x5 stride 2 pad 2 on a wide image, 3 channels (one partial half block)', { inHW: [7, 40], inC: 3, outC: 3, kernel: [5, 5], stride: [2, 2], padding: [2, 2], groups: 3, activation: 'hardswish' }],
    ['depthwise 7x7 pad 3 on a wide image, 9 channels, batch 2', { n: 2, inHW: [8, 25], inC: 9, outC: 9, kernel: [7, 7], padding: [3, 3], groups: 9, residual: true }],
    ['depthwise 7x7 pad 3 (ConvNeXt), 3 channels', { inHW: [9, 8], inC: 3, outC: 3, kernel: [7, 7], padding: [3, 3], groups: 3 }],
    ['depthwise dilation 2, padding only at the end', { inHW: [7, 9], inC: 10, outC: 10, kernel: [3, 3], padEnd: [4, 4], dilation: [2, 2], groups: 10, activation: 'hardswish' }],
    ['depthwise with channel multiplier 2 (generic path)', { inHW: [6, 6], inC: 4, outC: 8, kernel: [3, 3], padding: [1, 1], groups: 4 }],
    ['single pixel output', { inHW: [3, 3], inC: 2, outC: 3, kernel: [3, 3] }],
  ];
  for (const [name, c] of cases) it(name, () => checkConv(c));

  it('fuses every activation into the epilogue (after bias and residual)', async () => {
    const a = new ArenaBuilder();
    const ops: PlanOp[] = ACTIVATIONS.map((activation) =>
      makeConv(a, { inHW: [5, 6], inC: 7, outC: 10, kernel: [3, 3], padding: [1, 1], residual: true, activation }),
    );
    expect(await compareWithReference(backend, ops, a.size, seed++, [-3, 3])).toBeLessThanOrEqual(TOLERANCE);
  });

  // Full tiles without a residual take their own epilogue with the activation chosen once per
  // tile (conv: none, relu, relu6, hardswish, silu; depthwise row tiles: the first four), the
  // rest the general one; inputs in [-12, 12] reach both clips of relu6 and of hardswish. Shapes: a 1x1 GEMM (4-pixel tiles, two 8-channel blocks and a partial third),
  // a 3x3 in row mode, depthwise 3x3 row tiles at stride 1 (6 pixels) and 2 (4 pixels), 5x5
  // at stride 1 (6 pixels), each with a channel tail, and a 7x7 depthwise (4-pixel strips and
  // single edge pixels, as in MobileNetV2's last stage).
  for (const activation of ACTIVATIONS) {
    it(`fuses ${activation} into full tiles without a residual (1x1, 3x3 rows, depthwise row tiles)`, async () => {
      const a = new ArenaBuilder();
      const shapes: ConvCase[] = [
        { inHW: [4, 6], inC: 9, outC: 20, kernel: [1, 1] },
        { inHW: [6, 9], inC: 3, outC: 16, kernel: [3, 3], padding: [1, 1] },
        { inHW: [3, 19], inC: 12, outC: 12, kernel: [3, 3], padding: [1, 1], groups: 12 },
        { inHW: [5, 21], inC: 10, outC: 10, kernel: [3, 3], stride: [2, 2], padding: [1, 1], groups: 10 },
        { inHW: [5, 16], inC: 8, outC: 8, kernel: [5, 5], padding: [2, 2], groups: 8 },
        { inHW: [7, 7], inC: 16, outC: 16, kernel: [3, 3], padding: [1, 1], groups: 16 },
      ];
      const ops: PlanOp[] = shapes.map((c) => makeConv(a, { ...c, activation }));
      expect(await compareWithReference(backend, ops, a.size, seed++, [-12, 12])).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});

describe('wasm ops on channel views (concatenation in place) match the js reference', () => {
  it('writes and reads channel ranges of wider tensors, leaving the other channels as they were', async () => {
    const a = new ArenaBuilder();
    const ops = channelViewOps(a, seed++);
    expect(ops.some((op) => op.kind === 'conv2d' && usesWinograd(op))).toBe(true);
    expect(await compareWithReference(backend, ops, a.size + 5, seed++)).toBeLessThanOrEqual(WINOGRAD_TOLERANCE);
  });
});

describe('wasm Winograd F(4x4, 3x3) convolutions match the js reference', () => {
  const fast = () => createWasmBackend({ ...variantOptions(), winograd: 'fast' });
  const cases: [string, ConvCase][] = [
    ['odd 13x11 image (partial 4x4 tiles), 19 -> 21, pad 1, batch 2, residual + relu', { n: 2, inHW: [13, 11], inC: 19, outC: 21, kernel: [3, 3], padding: [1, 1], residual: true, activation: 'relu' }],
    ['no padding (10x15 output), 16 -> 16', { inHW: [12, 17], inC: 16, outC: 16, kernel: [3, 3] }],
    ['extra bottom/right padding, 17 -> 30, relu6', { inHW: [9, 10], inC: 17, outC: 30, kernel: [3, 3], padding: [1, 1], padEnd: [2, 3], activation: 'relu6' }],
    ['7x10 output, 35 -> 18, residual', { inHW: [7, 10], inC: 35, outC: 18, kernel: [3, 3], padding: [1, 1], residual: true }],
    ['ResNet layer3 shape, 14x14, 256 -> 256, residual + relu', { inHW: [14, 14], inC: 256, outC: 256, kernel: [3, 3], padding: [1, 1], residual: true, activation: 'relu' }],
    ['ResNet layer2 shape, 28x28, 128 -> 128, relu', { inHW: [28, 28], inC: 128, outC: 128, kernel: [3, 3], padding: [1, 1], activation: 'relu' }],
    ['8x8, 512 -> 512, residual + relu', { inHW: [8, 8], inC: 512, outC: 512, kernel: [3, 3], padding: [1, 1], residual: true, activation: 'relu' }],
    // 400 tiles of 64 channels: transformed in bands of 64 tiles, one crossing the images.
    ['in bands: 40x40, batch 4, 64 -> 40, residual + relu6', { n: 4, inHW: [40, 40], inC: 64, outC: 40, kernel: [3, 3], padding: [1, 1], residual: true, activation: 'relu6' }],
  ];
  for (const [name, c] of cases) {
    it(name, async () => {
      const a = new ArenaBuilder();
      const op = makeConv(a, c);
      expect(winogradTileSides([op], 'fast')).toEqual([4]);
      expect(await compareWithReference(fast(), [op], a.size + 5, seed++)).toBeLessThanOrEqual(WINOGRAD_TOLERANCE);
    });
  }

  it('takes bands for large outputs or where the arena has no room, of at least 32 tiles and two per thread', () => {
    expect(winogradBand(196, 64, 1, true, 4)).toBe(0); // ResNet layer1: 1.7 MiB shared, kept
    expect(winogradBand(196, 64, 1, false, 4)).toBe(64); // ... unless the arena has no room for it
    expect(winogradBand(196, 64, 2, false, 4)).toBe(52);
    expect(winogradBand(648, 64, 1, true, 4)).toBe(64);
    expect(winogradBand(3136, 64, 2, true, 4)).toBe(64); // VGG conv1_2
    expect(winogradBand(196, 256, 2, true, 4)).toBe(32); // VGG conv3: 16 would fit, 32 is the least
    expect(winogradBand(784, 128, 8, true, 4)).toBe(32);
    expect(winogradBand(60, 512, 1, true, 4)).toBe(0); // large, but two bands of 32 are not worth it
  });

  it('fuses every activation into the epilogue (after bias and residual)', async () => {
    const a = new ArenaBuilder();
    const ops = ACTIVATIONS.map((activation) =>
      makeConv(a, { inHW: [9, 8], inC: 16, outC: 20, kernel: [3, 3], padding: [1, 1], residual: true, activation }),
    );
    expect(winogradTileSides(ops, 'fast').every((side) => side === 4)).toBe(true);
    expect(await compareWithReference(fast(), ops, a.size, seed++, [-3, 3])).toBeLessThanOrEqual(WINOGRAD_TOLERANCE);
  });

  it('equals the direct path within the tolerance, and the direct path is kept when turned off', async () => {
    const a = new ArenaBuilder();
    const op = makeConv(a, { inHW: [11, 9], inC: 24, outC: 40, kernel: [3, 3], padding: [1, 1], residual: true, activation: 'relu' });
    const direct = createWasmBackend({ ...variantOptions(), winograd: false });
    expect(await compareWithReference(direct, [op], a.size, seed, [-1, 1])).toBeLessThanOrEqual(TOLERANCE);
    expect(await compareWithReference(fast(), [op], a.size, seed++, [-1, 1])).toBeLessThanOrEqual(WINOGRAD_TOLERANCE);
  });
});

describe('wasm Winograd F(2x2, 3x3) convolutions (the first of a plan, default mode) match the js reference as closely as direct ones', () => {
  const cases: [string, ConvCase][] = [
    ['ResNet layer1 shape, 56x56, 64 -> 64, relu', { inHW: [56, 56], inC: 64, outC: 64, kernel: [3, 3], padding: [1, 1], activation: 'relu' }],
    ['odd 13x11 image (partial 2x2 tiles), 19 -> 21, pad 1, batch 2, residual + relu', { n: 2, inHW: [13, 11], inC: 19, outC: 21, kernel: [3, 3], padding: [1, 1], residual: true, activation: 'relu' }],
    ['extra bottom/right padding, 9x10 -> 12x14 output, 17 -> 30, relu6', { inHW: [9, 10], inC: 17, outC: 30, kernel: [3, 3], padding: [1, 1], padEnd: [3, 4], activation: 'relu6' }],
    ['ResNet layer3 shape, 14x14, 256 -> 256, residual + relu', { inHW: [14, 14], inC: 256, outC: 256, kernel: [3, 3], padding: [1, 1], residual: true, activation: 'relu' }],
    // 1800 tiles of 64 channels: transformed in bands, one crossing the images.
    ['in bands: 60x60, batch 2, 64 -> 40, residual + relu6', { n: 2, inHW: [60, 60], inC: 64, outC: 40, kernel: [3, 3], padding: [1, 1], residual: true, activation: 'relu6' }],
  ];
  for (const [name, c] of cases) {
    it(name, async () => {
      const a = new ArenaBuilder();
      const op = makeConv(a, c);
      expect(winogradTileSides([op], 'accurate')).toEqual([2]);
      expect(await compareWithReference(backend, [op], a.size + 5, seed++)).toBeLessThanOrEqual(TOLERANCE);
    });
  }

  it(`takes 2x2 tiles for the first ${WINOGRAD_ACCURATE_LAYERS} Winograd convolutions of a plan in 'accurate' mode (the default), 4x4 after them and everywhere in 'fast' mode`, () => {
    const a = new ArenaBuilder();
    const conv = (inC: number, outC: number, stride = 1) => makeConv(a, { inHW: [20, 20], inC, outC, kernel: [3, 3], padding: [1, 1], stride: [stride, stride] });
    // a stem the rule skips (3 input channels), a strided convolution between, then more than four Winograd ones
    const ops = [conv(3, 16), conv(16, 16), conv(16, 32, 2), conv(32, 32), conv(32, 32), conv(32, 32), conv(32, 32), conv(32, 32)];
    expect(ops.map((op) => usesWinograd(op))).toEqual([false, true, false, true, true, true, true, true]);
    expect(winogradTileSides(ops, 'accurate')).toEqual([0, 2, 0, 2, 2, 2, 4, 4]);
    expect(winogradTileSides(ops, 'fast')).toEqual([0, 4, 0, 4, 4, 4, 4, 4]);
    expect(winogradTileSides(ops, false)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    // a branch that writes a channel range of a concat (its output is a view) takes 4x4 tiles
    // and does not count: the main path's convolutions set the logits' error
    const branch = (op: (typeof ops)[number]) => ({ ...op, output: { ...op.output, base: op.output } });
    const branched = [ops[1], branch(ops[3]), branch(ops[4]), ops[5], ops[6], ops[7], ops[3], ops[4]];
    expect(winogradTileSides(branched, 'accurate')).toEqual([2, 4, 4, 2, 2, 2, 4, 4]);
  });

  it('runs a plan of F(2, 3) and then F(4, 3) convolutions, each within its tolerance of the js reference', async () => {
    const a = new ArenaBuilder();
    const ops = [24, 16, 32, 16, 24, 20].map((outC, i, all) => makeConv(a, { inHW: [11, 9], inC: i ? all[i - 1] : 16, outC, kernel: [3, 3], padding: [1, 1], activation: 'relu' }));
    expect(winogradTileSides(ops, 'accurate')).toEqual([2, 2, 2, 2, 4, 4]);
    expect(await compareWithReference(backend, ops, a.size, seed++)).toBeLessThanOrEqual(WINOGRAD_TOLERANCE);
  });

  it('fuses every activation into the epilogue (after bias and residual)', async () => {
    for (const activation of ACTIVATIONS) {
      const a = new ArenaBuilder();
      const op = makeConv(a, { inHW: [14, 13], inC: 16, outC: 20, kernel: [3, 3], padding: [1, 1], residual: true, activation });
      expect(winogradTileSides([op], 'accurate')).toEqual([2]);
      expect(await compareWithReference(backend, [op], a.size, seed++, [-3, 3])).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('rejects an unknown winograd option with a TypeError naming the choices', () => {
    expect(() => createWasmBackend({ winograd: 'precise' as never })).toThrow(/winograd must be true, false, 'fast' or 'accurate', got precise/);
    expect(() => createWasmBackend({ winograd: 1 as never })).toThrow(TypeError);
  });
});

describe('Winograd is used only where it pays off', () => {
  const base: ConvCase = { inHW: [16, 16], inC: 32, outC: 32, kernel: [3, 3], padding: [1, 1] };
  const cases: [string, ConvCase, boolean][] = [
    ['3x3 stride 1, 32 -> 32, 16x16', base, true],
    ['fewer than 16 input channels', { ...base, inC: 15 }, false],
    ['fewer than 16 output channels', { ...base, outC: 8 }, false],
    ['output smaller than 7 rows', { ...base, inHW: [6, 16] }, false],
    ['output smaller than 7 columns', { ...base, inHW: [16, 6] }, false],
    ['7x7 output, 512 -> 512 (ResNet layer4)', { ...base, inHW: [7, 7], inC: 512, outC: 512 }, true],
    ['stride 2', { ...base, stride: [2, 2] }, false],
    ['dilation 2', { ...base, dilation: [2, 2], padding: [2, 2] }, false],
    ['grouped', { ...base, groups: 2 }, false],
    ['1x1 kernel', { ...base, kernel: [1, 1], padding: [0, 0] }, false],
  ];
  for (const [name, c, expected] of cases) {
    it(`${name}: ${expected ? 'Winograd' : 'direct'}`, async () => {
      expect(usesWinograd(makeConv(new ArenaBuilder(), c))).toBe(expected);
      await checkConv(c);
    });
  }
});

describe('wasm linear matches the js reference', () => {
  const cases: [string, number, number, number, boolean, Activation][] = [
    ['odd inF 37, outF 10, batch 3', 3, 37, 10, false, 'none'],
    ['inF 7 (all tail), outF 5, residual, gelu', 2, 7, 5, true, 'gelu'],
    ['inF 2048 -> 1000 (ResNet head)', 1, 2048, 1000, false, 'none'],
    ['inF 129, outF 1, sigmoid', 4, 129, 1, false, 'sigmoid'],
    // four streams of 2 quads each, then 3 quads and 2 inputs after them (linear.rs)
    ['inF 46, outF 33, relu', 1, 46, 33, false, 'relu'],
  ];
  for (const [name, n, inF, outF, residual, activation] of cases) {
    it(name, async () => {
      const a = new ArenaBuilder();
      const op: PlanOp = {
        kind: 'linear',
        input: a.slot([n, 1, 1, inF]),
        output: a.slot([n, 1, 1, outF]),
        residual: residual ? a.slot([n, 1, 1, outF]) : undefined,
        weight: randomFloats(outF * inF, seed++, -0.1, 0.1),
        bias: randomFloats(outF, seed++),
        activation,
      };
      expect(await compareWithReference(backend, [op], a.size, seed++)).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});

describe('wasm pooling matches the js reference', () => {
  function pool(
    a: ArenaBuilder,
    mode: 'max' | 'avg',
    inHW: Pair,
    c: number,
    outHW: Pair,
    kernel: Pair,
    stride: Pair,
    padding: Pair,
    countIncludePad = true,
    activation: Activation = 'none',
  ): PlanOp {
    return {
      kind: 'pool2d',
      mode,
      input: a.slot([2, inHW[0], inHW[1], c]),
      output: a.slot([2, outHW[0], outHW[1], c]),
      kernel,
      stride,
      padding,
      countIncludePad,
      activation,
    };
  }
  it('max 3x3 stride 2 pad 1 (ResNet), 5 channels', async () => {
    const a = new ArenaBuilder();
    const op = pool(a, 'max', [9, 9], 5, [5, 5], [3, 3], [2, 2], [1, 1]);
    expect(await compareWithReference(backend, [op], a.size, seed++)).toBeLessThanOrEqual(TOLERANCE);
  });
  it('max with ceil-mode output (clipped last window) and relu', async () => {
    const a = new ArenaBuilder();
    const op = pool(a, 'max', [8, 8], 7, [4, 4], [3, 3], [2, 2], [0, 0], true, 'relu');
    expect(await compareWithReference(backend, [op], a.size, seed++)).toBeLessThanOrEqual(TOLERANCE);
  });
  for (const countIncludePad of [true, false]) {
    it(`avg 3x3 stride 2 pad 1, ceil-mode shape, count_include_pad=${countIncludePad}`, async () => {
      const a = new ArenaBuilder();
      const ops = [
        pool(a, 'avg', [6, 6], 10, [4, 4], [3, 3], [2, 2], [1, 1], countIncludePad),
        pool(a, 'avg', [7, 5], 3, [4, 3], [3, 2], [2, 2], [1, 1], countIncludePad, 'relu6'),
        pool(a, 'avg', [5, 5], 4, [2, 2], [2, 2], [2, 2], [0, 0], countIncludePad),
      ];
      expect(await compareWithReference(backend, ops, a.size, seed++)).toBeLessThanOrEqual(TOLERANCE);
    });
  }
  for (const [inHW, outHW, c] of [
    [[7, 7], [3, 3], 9],
    [[5, 5], [2, 2], 4],
    [[7, 5], [3, 2], 6],
    [[4, 4], [6, 6], 3],
    [[7, 7], [1, 1], 2048],
  ] as [Pair, Pair, number][]) {
    it(`adaptive avg ${inHW.join('x')} -> ${outHW.join('x')}, ${c} channels`, async () => {
      const a = new ArenaBuilder();
      const op: PlanOp = {
        kind: 'adaptiveAvgPool2d',
        input: a.slot([2, inHW[0], inHW[1], c]),
        output: a.slot([2, outHW[0], outHW[1], c]),
      };
      expect(await compareWithReference(backend, [op], a.size, seed++)).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});

describe('wasm element-wise ops match the js reference', () => {
  it('add with every activation, odd lengths', async () => {
    const a = new ArenaBuilder();
    const ops: PlanOp[] = ACTIVATIONS.map((activation, i) => {
      const shape = [1, 3, 5, 7 + i] as const;
      return { kind: 'add', a: a.slot(shape), b: a.slot(shape), output: a.slot(shape), activation };
    });
    expect(await compareWithReference(backend, ops, a.size, seed++, [-4, 4])).toBeLessThanOrEqual(TOLERANCE);
  });
  it('add in place (output aliases a)', async () => {
    const a = new ArenaBuilder();
    const x = a.slot([1, 2, 3, 5]);
    const op: PlanOp = { kind: 'add', a: x, b: a.slot([1, 2, 3, 5]), output: x, activation: 'relu' };
    expect(await compareWithReference(backend, [op], a.size, seed++)).toBeLessThanOrEqual(TOLERANCE);
  });
  it('channel affine, 3 and 19 channels', async () => {
    const a = new ArenaBuilder();
    const ops: PlanOp[] = [3, 19].map((c) => ({
      kind: 'channelAffine',
      input: a.slot([2, 3, 4, c]),
      output: a.slot([2, 3, 4, c]),
      scale: randomFloats(c, seed++),
      shift: randomFloats(c, seed++),
      activation: 'silu',
    }));
    expect(await compareWithReference(backend, ops, a.size, seed++)).toBeLessThanOrEqual(TOLERANCE);
  });
  it('standalone activations, every code, in place and not', async () => {
    const a = new ArenaBuilder();
    const ops: PlanOp[] = ACTIVATIONS.flatMap((activation, i) => {
      const x = a.slot([1, 1, 1, 1001 + i]);
      const y = a.slot([1, 1, 1, 1001 + i]);
      return [
        { kind: 'activation', input: x, output: y, activation },
        { kind: 'activation', input: x, output: x, activation },
      ] as PlanOp[];
    });
    expect(await compareWithReference(backend, ops, a.size, seed++, [-10, 10])).toBeLessThanOrEqual(TOLERANCE);
  });
  it('copyChannels into a concatenation at odd channel offsets', async () => {
    const a = new ArenaBuilder();
    const out = a.slot([2, 3, 3, 16]);
    const ops: PlanOp[] = [
      { kind: 'copyChannels', input: a.slot([2, 3, 3, 5]), output: out, channelOffset: 0 },
      { kind: 'copyChannels', input: a.slot([2, 3, 3, 8]), output: out, channelOffset: 5 },
      { kind: 'copyChannels', input: a.slot([2, 3, 3, 3]), output: out, channelOffset: 13 },
    ];
    expect(await compareWithReference(backend, ops, a.size, seed++)).toBeLessThanOrEqual(TOLERANCE);
  });
});

/** erfc(z) for z >= 2.5 by its continued fraction (Lentz), accurate to double precision. */
function erfcContinuedFraction(z: number): number {
  let f = z;
  let c = z;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    d = 1 / (z + (n / 2) * d);
    c = z + n / 2 / c;
    f *= c * d;
    if (Math.abs(c * d - 1) < 1e-16) break;
  }
  return Math.exp(-z * z) / (f * Math.sqrt(Math.PI));
}

/**
 * The js oracle computes 1 + erf(z), which cancels to 0 in double precision below x = -8.5;
 * the accuracy check needs the true tail value there, 0.5 x erfc(-x / sqrt 2).
 */
function geluWithoutCancellation(oracle: (x: number) => number): (x: number) => number {
  return (x) => (x < -4 ? 0.5 * x * erfcContinuedFraction(-x / Math.SQRT2) : oracle(x));
}

describe('wasm normalisation ops match the js reference', () => {
  it('scaleChannels (squeeze-and-excitation gating), batch 2, 3 and 21 channels', async () => {
    const a = new ArenaBuilder();
    const ops: PlanOp[] = [3, 21].map((c) => ({
      kind: 'scaleChannels',
      input: a.slot([2, 3, 5, c]),
      scale: a.slot([2, 1, 1, c]),
      output: a.slot([2, 3, 5, c]),
    }));
    expect(await compareWithReference(backend, ops, a.size, seed++)).toBeLessThanOrEqual(TOLERANCE);
  });
  it('layerNorm over channels (3, 96 and 37 channels), with and without gelu', async () => {
    const a = new ArenaBuilder();
    const ops: PlanOp[] = ([[3, 'none'], [96, 'gelu'], [37, 'none']] as const).map(([c, activation]) => ({
      kind: 'layerNorm',
      input: a.slot([2, 3, 4, c]),
      output: a.slot([2, 3, 4, c]),
      weight: randomFloats(c, seed++, 0.5, 1.5),
      bias: randomFloats(c, seed++),
      eps: 1e-6,
      activation,
    }));
    // An offset mean stresses the two-pass variance.
    expect(await compareWithReference(backend, ops, a.size, seed++, [2, 5])).toBeLessThanOrEqual(TOLERANCE);
  });
  it('localResponseNorm (AlexNet/GoogLeNet settings and an even window)', async () => {
    const a = new ArenaBuilder();
    const ops: PlanOp[] = [
      { size: 5, alpha: 1e-4, beta: 0.75, k: 2, c: 13 },
      { size: 4, alpha: 0.5, beta: 0.6, k: 1, c: 6 },
      { size: 1, alpha: 2, beta: 1.3, k: 0.5, c: 3 },
    ].map(({ c, ...p }) => ({ kind: 'localResponseNorm', input: a.slot([2, 3, 3, c]), output: a.slot([2, 3, 3, c]), ...p }));
    expect(await compareWithReference(backend, ops, a.size, seed++, [-3, 3])).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('wasm fake quantisation matches the js reference bit for bit', () => {
  it('fakeQuantize: uint8 with a zero point, int8, a narrow clamped range, and ties from a finer grid', async () => {
    const a = new ArenaBuilder();
    const ops = fakeQuantizeOps(a);
    expect(await compareWithReference(backend, ops, a.size, seed++, [-3, 3])).toBe(0);
  });
});

describe('wasm activation functions are accurate', () => {
  // A stricter, per-element check of the polynomial/rational approximations themselves.
  it('each activation is within 1e-6 relative (or 1e-30 absolute) of the double-precision reference', async () => {
    const { activationFunction } = await import('../js/activations.js');
    const xs: number[] = [];
    for (let x = -30; x <= 30; x += 0.0137) xs.push(x);
    for (let e = -30; e <= 2; e += 0.25) xs.push(2 ** e, -(2 ** e));
    xs.push(0, 88, -88, 100, -100, 0.625, -0.625, 0.7071, -0.7071, 3, -3);
    const values = Float32Array.from(xs);
    const a = new ArenaBuilder();
    const slots: [Activation, Slot, Slot][] = ACTIVATIONS.map((act) => [
      act,
      a.slot([1, 1, 1, values.length]),
      a.slot([1, 1, 1, values.length]),
    ]);
    const arena = new Float32Array(a.size);
    for (const [, x] of slots) arena.set(values, x.offset);
    const { wholeArenaPlan } = await import('../test-helpers.js');
    const ops: PlanOp[] = slots.map(([activation, input, output]) => ({ kind: 'activation', input, output, activation }));
    const exe = await backend.compile(wholeArenaPlan(ops, a.size));
    const [got] = await exe.run(arena);
    exe.dispose();
    const worst: Record<string, number> = {};
    for (const [act, , y] of slots) {
      const f = act === 'gelu' ? geluWithoutCancellation(activationFunction('gelu')) : activationFunction(act);
      let w = 0;
      values.forEach((x, i) => {
        const ref = f(x);
        const err = Math.abs(got[y.offset + i] - ref);
        const rel = err <= 1e-30 ? 0 : err / Math.abs(ref);
        w = Math.max(w, rel);
      });
      worst[act] = w;
    }
    for (const act of ACTIVATIONS) expect(worst[act], `${act}: ${worst[act]}`).toBeLessThanOrEqual(1e-6);
  });
});
}
