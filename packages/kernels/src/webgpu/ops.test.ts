// Every WGSL kernel against the js reference, op by op, on odd shapes (Dawn on SwiftShader here).
// Pass criterion everywhere: max |webgpu - js| / max |js| <= 1e-5 over each op's output
// (f32 storage and accumulation; GPU fma, exp and summation order differ from the float64 reference).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIVATIONS, type Activation, type Conv2dOp, type LinearOp, type PlanOp, type Slot, validatePlan } from '@cnn/core';
import { createWebGpuBackend, type WebGpuBackend, type WebGpuExecutable } from './index.js';
import { DEFAULT_CONV_GEMM_TUNING, planConvGemm, resolveConvGemmTuning, type ConvGemmTuning } from './wgsl/matmul.js';
import { nodeGpu } from './test-gpu.js';
import { ArenaBuilder, channelViewOps, compareWithReference as compare, fakeQuantizeOps, randomFloats } from '../test-helpers.js';
import { fromHalfBits, toHalfBits } from './half.js';

export const TOLERANCE = 1e-5;

/** The worst error seen, printed at the end: the measured figure behind TOLERANCE. */
let worst = { error: 0, where: '' };
async function compareWithReference(...args: Parameters<typeof compare>): Promise<number> {
  const error = await compare(...args);
  if (error > worst.error) worst = { error, where: expect.getState().currentTestName ?? '' };
  return error;
}
afterAll(() => console.log(`worst webgpu f32 op error: ${worst.error.toExponential(2)} (${worst.where})`));

let backend: WebGpuBackend;
beforeAll(async () => {
  backend = await createWebGpuBackend({ gpu: await nodeGpu(), warmup: false });
});

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

let seed = 1000;
const outSize = (size: number, k: number, s: number, p0: number, p1: number, d: number) => Math.floor((size + p0 + p1 - d * (k - 1) - 1) / s) + 1;

function makeConv(a: ArenaBuilder, c: ConvCase, gap?: number): Conv2dOp {
  const n = c.n ?? 1;
  const one: Pair = [1, 1];
  const zero: Pair = [0, 0];
  const [stride, padding, dilation] = [c.stride ?? one, c.padding ?? zero, c.dilation ?? one];
  const padEnd = c.padEnd ?? padding;
  const groups = c.groups ?? 1;
  const oh = outSize(c.inHW[0], c.kernel[0], stride[0], padding[0], padEnd[0], dilation[0]);
  const ow = outSize(c.inHW[1], c.kernel[1], stride[1], padding[1], padEnd[1], dilation[1]);
  const input = a.slot([n, c.inHW[0], c.inHW[1], c.inC], gap);
  const output = a.slot([n, oh, ow, c.outC], gap);
  const residual = c.residual ? a.slot([n, oh, ow, c.outC], gap) : undefined;
  const fanIn = (c.inC / groups) * c.kernel[0] * c.kernel[1];
  const bound = 1 / Math.sqrt(fanIn);
  return {
    kind: 'conv2d', input, output, residual,
    weight: randomFloats(c.outC * fanIn, seed++, -bound, bound),
    bias: randomFloats(c.outC, seed++),
    kernel: c.kernel, stride, padding, dilation, groups,
    activation: c.activation ?? 'none',
  };
}

async function convError(c: ConvCase, b: WebGpuBackend = backend): Promise<number> {
  const a = new ArenaBuilder();
  const op = makeConv(a, c);
  return compareWithReference(b, [op], a.size + 7, seed++);
}

function makeLinear(a: ArenaBuilder, batch: number, inF: number, outF: number, residual: boolean, activation: Activation): LinearOp {
  const bound = 1 / Math.sqrt(inF);
  return {
    kind: 'linear',
    input: a.slot([batch, 1, 1, inF]),
    output: a.slot([batch, 1, 1, outF]),
    residual: residual ? a.slot([batch, 1, 1, outF]) : undefined,
    weight: randomFloats(outF * inF, seed++, -bound, bound),
    bias: randomFloats(outF, seed++),
    activation,
  };
}

describe('webgpu conv2d (implicit GEMM and depthwise templates) matches the js reference', () => {
  const cases: [string, ConvCase][] = [
    ['general 3x3 pad 1, odd channels 5 -> 6, batch 2, relu', { n: 2, inHW: [7, 9], inC: 5, outC: 6, kernel: [3, 3], padding: [1, 1], activation: 'relu' }],
    ['pointwise 1x1, 17 -> 10, batch 3, residual', { n: 3, inHW: [5, 7], inC: 17, outC: 10, kernel: [1, 1], residual: true }],
    ['pointwise 1x1 with several K and N tiles, 520 -> 70, relu', { inHW: [3, 5], inC: 520, outC: 70, kernel: [1, 1], activation: 'relu' }],
    ['pointwise 1x1 on the 64x64 output tile, 16 -> 256, hardswish', { inHW: [64, 64], inC: 16, outC: 256, kernel: [1, 1], activation: 'hardswish' }],
    ['1x1 stride 2 (downsample), 12 -> 24', { inHW: [9, 8], inC: 12, outC: 24, kernel: [1, 1], stride: [2, 2] }],
    ['1x1 with bottom/right padding only (output larger than input)', { inHW: [3, 4], inC: 6, outC: 5, kernel: [1, 1], padEnd: [1, 2] }],
    ['7x7 stride 2 pad 3 (stem), 3 -> 8, relu', { inHW: [15, 13], inC: 3, outC: 8, kernel: [7, 7], stride: [2, 2], padding: [3, 3], activation: 'relu' }],
    ['tap-aligned 3x3 pad 1, 32 -> 40, batch 2, residual, relu', { n: 2, inHW: [6, 7], inC: 32, outC: 40, kernel: [3, 3], padding: [1, 1], residual: true, activation: 'relu' }],
    ['tap-aligned 3x3 stride 2 with extra bottom padding, 16 -> 13, gelu', { inHW: [9, 6], inC: 16, outC: 13, kernel: [3, 3], stride: [2, 2], padding: [1, 1], padEnd: [3, 1], activation: 'gelu' }],
    ['3x3 dilation 2 pad 2, 4 -> 5, silu', { inHW: [9, 10], inC: 4, outC: 5, kernel: [3, 3], padding: [2, 2], dilation: [2, 2], activation: 'silu' }],
    ['asymmetric 1x7 pad [0, 3], 6 -> 3, tanh', { inHW: [5, 11], inC: 6, outC: 3, kernel: [1, 7], padding: [0, 3], activation: 'tanh' }],
    ['asymmetric 3x1 stride [2, 1], 8 -> 9, sigmoid', { inHW: [10, 4], inC: 8, outC: 9, kernel: [3, 1], stride: [2, 1], padding: [1, 0], activation: 'sigmoid' }],
    ['2x2 with padding only at the bottom/right, hardsigmoid', { inHW: [6, 5], inC: 3, outC: 7, kernel: [2, 2], padEnd: [1, 1], activation: 'hardsigmoid' }],
    ['5x5 stride 3, uneven padding, dilation [1, 2]', { inHW: [13, 17], inC: 7, outC: 11, kernel: [5, 5], stride: [3, 3], padding: [2, 1], padEnd: [0, 3], dilation: [1, 2] }],
    ['11x11 stride 4 pad 2 (AlexNet stem), 3 -> 10', { inHW: [31, 27], inC: 3, outC: 10, kernel: [11, 11], stride: [4, 4], padding: [2, 2], activation: 'relu' }],
    ['wide input channels 3x3, 300 -> 16, residual, relu6', { inHW: [4, 5], inC: 300, outC: 16, kernel: [3, 3], padding: [1, 1], residual: true, activation: 'relu6' }],
    ['ResNeXt groups: 32 groups of 4, 3x3 stride 2', { inHW: [9, 9], inC: 128, outC: 128, kernel: [3, 3], stride: [2, 2], padding: [1, 1], groups: 32, activation: 'relu' }],
    ['tap-aligned groups: 2 groups of 16 -> 24', { inHW: [5, 6], inC: 32, outC: 48, kernel: [3, 3], padding: [1, 1], groups: 2 }],
    ['groups 4 with 3 -> 5 channels per group, residual', { inHW: [6, 7], inC: 12, outC: 20, kernel: [3, 3], padding: [1, 1], groups: 4, residual: true }],
    ['depthwise 3x3 pad 1, 13 channels, relu6', { inHW: [8, 9], inC: 13, outC: 13, kernel: [3, 3], padding: [1, 1], groups: 13, activation: 'relu6' }],
    ['depthwise 5x5 stride 2 pad 2, 24 channels, residual, batch 2', { n: 2, inHW: [11, 10], inC: 24, outC: 24, kernel: [5, 5], stride: [2, 2], padding: [2, 2], groups: 24, residual: true }],
    ['depthwise 7x7 pad 3 (ConvNeXt), 9 channels, batch 2, residual', { n: 2, inHW: [8, 25], inC: 9, outC: 9, kernel: [7, 7], padding: [3, 3], groups: 9, residual: true }],
    ['depthwise 3x3 dilation 2, padding only at the end, hardswish', { inHW: [7, 9], inC: 10, outC: 10, kernel: [3, 3], padEnd: [4, 4], dilation: [2, 2], groups: 10, activation: 'hardswish' }],
    ['depthwise with channel multiplier 2 (grouped GEMM path)', { inHW: [6, 6], inC: 4, outC: 8, kernel: [3, 3], padding: [1, 1], groups: 4 }],
    ['single output pixel', { inHW: [3, 3], inC: 2, outC: 3, kernel: [3, 3] }],
  ];
  for (const [name, c] of cases) {
    it(name, async () => {
      expect(await convError(c)).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});

describe('webgpu split-K convolution (few output tiles, long K) matches the js reference', () => {
  const splitCases: [string, ConvCase, number][] = [
    ['7x7 pixels at batch 1, 3x3 256 -> 64 (K 2304 in 9 slices), residual, relu', { inHW: [7, 7], inC: 256, outC: 64, kernel: [3, 3], padding: [1, 1], residual: true, activation: 'relu' }, 9],
    ['2 groups of 64 -> 8 on 2x2 (K 576 in 2 slices), gelu', { inHW: [2, 2], inC: 128, outC: 16, kernel: [3, 3], padding: [1, 1], groups: 2, activation: 'gelu' }, 2],
  ];
  for (const [name, c, slices] of splitCases) {
    it(name, async () => {
      const a = new ArenaBuilder();
      const op = makeConv(a, c);
      const exe = (await backend.compile(validatePlan({ batch: 1, input: op.input, outputs: [op.output], ops: [op], arenaSize: a.size }))) as WebGpuExecutable;
      expect(exe.dispatchCount).toBe(2); // the sliced GEMM and the reduction
      exe.dispose();
      const k = c.kernel[0] * c.kernel[1] * (c.inC / (c.groups ?? 1));
      expect(planConvGemm({ n: 1, inH: c.inHW[0], inW: c.inHW[1], inC: c.inC, outH: op.output.shape[1], outW: op.output.shape[2], outC: c.outC, kernel: c.kernel, stride: [1, 1], padding: c.padding!, dilation: [1, 1], groups: c.groups ?? 1, groupStart: 0, groupCount: c.groups ?? 1, channelStart: 0, channelCount: c.outC / (c.groups ?? 1), residual: false, activation: 'none', outStride: c.outC }))
        .toMatchObject({ K: k, kSplit: slices });
      expect(await compareWithReference(backend, [op], a.size + 7, seed++)).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});

describe('webgpu GEMM tunings change the tiling, not the results', () => {
  // 7x7x256 -> 64, 3x3: K 2304 over 2 tiles of 64 rows (4 of 32): split along K by default
  const c: ConvCase = { inHW: [7, 7], inC: 256, outC: 64, kernel: [3, 3], padding: [1, 1], residual: true, activation: 'relu' };
  const tunings: [string, Partial<ConvGemmTuning>, { dispatches: number; kernel: RegExp }][] = [
    ['the defaults', {}, { dispatches: 2, kernel: /^conv\.tapAligned 32x64 splitK9 3x3$/ }],
    ['32-row tiles, no split', { rowTile: 32, splitKBelowTiles: 0 }, { dispatches: 1, kernel: /^conv\.tapAligned 32x64 3x3$/ }],
    ['64-row tiles', { rowTile: 64 }, { dispatches: 2, kernel: /^conv\.tapAligned 64x64 splitK9 3x3$/ }],
    ['a deeper split', { splitKTargetWorkgroups: 1024, splitKMinSlice: 64 }, { dispatches: 2, kernel: /^conv\.tapAligned 32x64 splitK36 3x3$/ }],
  ];
  for (const [name, tuning, want] of tunings) {
    it(name, async () => {
      const tuned = await createWebGpuBackend({ gpu: await nodeGpu(), warmup: false, gemmTuning: tuning });
      try {
        const a = new ArenaBuilder();
        const op = makeConv(a, c);
        const exe = (await tuned.compile(validatePlan({ batch: 1, input: op.input, outputs: [op.output], ops: [op], arenaSize: a.size }))) as WebGpuExecutable;
        expect(exe.dispatchCount).toBe(want.dispatches);
        exe.dispose();
        const shape = { n: 1, inH: 7, inW: 7, inC: 256, outH: 7, outW: 7, outC: 64, kernel: [3, 3] as const, stride: [1, 1] as const, padding: [1, 1] as const, dilation: [1, 1] as const, groups: 1, groupStart: 0, groupCount: 1, channelStart: 0, channelCount: 64, residual: true, activation: 'relu' as const, outStride: 64 };
        const plan = planConvGemm(shape, resolveConvGemmTuning(tuning));
        const label = `conv.tapAligned ${plan.tile[0]}x${plan.tile[1]}${plan.kSplit > 1 ? ` splitK${plan.kSplit}` : ''} 3x3`;
        expect(label).toMatch(want.kernel);
        expect(await compareWithReference(tuned, [op], a.size + 3, seed++)).toBeLessThanOrEqual(TOLERANCE);
      } finally {
        tuned.destroy();
      }
    });
  }

  it('refuses unknown or malformed knobs before asking for a device, naming what it takes', async () => {
    const bad: [unknown, RegExp][] = [
      [{ rowTile: 48 }, /rowTile must be 'auto', 32 or 64, got 48/],
      [{ splitKMinSlice: 0 }, /splitKMinSlice must be an integer from 1 to 16777216, got 0/],
      [{ splitKTargetWorkgroups: 1.5 }, /splitKTargetWorkgroups must be an integer/],
      [{ wideTileMinTiles: '256' }, /wideTileMinTiles must be an integer from 0 .* got "256"/],
      [{ tileK: 32 }, /no knob 'tileK'; the knobs are rowTile, wideTileMinTiles, splitKBelowTiles, splitKTargetWorkgroups, splitKMinSlice/],
      [7, /gemmTuning must be an object, got number/],
    ];
    for (const [tuning, message] of bad) {
      // no gpu given: a tuning that passed would go on to fail on the missing adapter instead
      await expect(createWebGpuBackend({ gpu: { requestAdapter: async () => null } as unknown as GPU, gemmTuning: tuning as Partial<ConvGemmTuning> })).rejects.toThrow(message);
    }
    expect(resolveConvGemmTuning({ rowTile: 64, splitKBelowTiles: 0 })).toEqual({ ...DEFAULT_CONV_GEMM_TUNING, rowTile: 64, splitKBelowTiles: 0 });
  });
});

describe('webgpu ops on channel views (concatenation in place) match the js reference', () => {
  it('writes and reads channel ranges of wider tensors (split K included), leaving the other channels as they were', async () => {
    const a = new ArenaBuilder();
    const ops = channelViewOps(a, seed++);
    const deep = ops[0] as Conv2dOp;
    const exe = (await backend.compile(validatePlan({ batch: 1, input: deep.input, outputs: [deep.output.base!], ops: [deep], arenaSize: a.size }))) as WebGpuExecutable;
    expect(exe.dispatchCount).toBe(2); // the first case is split along K: the reduction stores the view
    exe.dispose();
    expect(await compareWithReference(backend, ops, a.size + 5, seed++)).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('webgpu linear matches the js reference', () => {
  const cases: [string, number, number, number, boolean, Activation][] = [
    ['odd inF 37, outF 10, batch 3', 3, 37, 10, false, 'none'],
    ['inF 7, outF 5, residual, gelu', 2, 7, 5, true, 'gelu'],
    ['inF 2048 -> 1000 (ResNet head)', 1, 2048, 1000, false, 'none'],
    ['inF 129, outF 1, sigmoid, batch 4', 4, 129, 1, false, 'sigmoid'],
    ['batch 11 (two batch tiles), 50 -> 9, relu', 11, 50, 9, false, 'relu'],
  ];
  for (const [name, batch, inF, outF, residual, activation] of cases) {
    it(name, async () => {
      const a = new ArenaBuilder();
      const op = makeLinear(a, batch, inF, outF, residual, activation);
      expect(await compareWithReference(backend, [op], a.size + 3, seed++)).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});

describe('webgpu splits what exceeds the device limits', () => {
  it('splits a linear weight into several bindings and dispatches (8 KiB binding limit: 7 chunks)', async () => {
    const small = await createWebGpuBackend({ gpu: await nodeGpu(), warmup: false, limits: { maxStorageBufferBindingSize: 8192 } });
    const a = new ArenaBuilder();
    const op = makeLinear(a, 2, 300, 40, true, 'relu');
    const exe = await small.compile(validatePlan({ batch: 1, input: op.input, outputs: [op.output], ops: [op, op], arenaSize: a.size }));
    expect((exe as unknown as { dispatchCount: number }).dispatchCount).toBe(14);
    exe.dispose();
    expect(await compareWithReference(small, [op], a.size, seed++)).toBeLessThanOrEqual(TOLERANCE);
    small.destroy();
  });

  it('splits conv weights by output channels, by whole groups, and within a group', async () => {
    const small = await createWebGpuBackend({ gpu: await nodeGpu(), warmup: false, limits: { maxStorageBufferBindingSize: 8192 } });
    // 576 bytes per output channel: 14 channels per chunk, 3 chunks
    expect(await convError({ inHW: [4, 4], inC: 16, outC: 40, kernel: [3, 3], padding: [1, 1], residual: true, activation: 'relu' }, small)).toBeLessThanOrEqual(TOLERANCE);
    // 20 channels of 576 bytes per group exceed 8 KiB: each group split in two
    expect(await convError({ inHW: [3, 3], inC: 64, outC: 80, kernel: [3, 3], padding: [1, 1], groups: 4 }, small)).toBeLessThanOrEqual(TOLERANCE);
    small.destroy();
    const tiny = await createWebGpuBackend({ gpu: await nodeGpu(), warmup: false, limits: { maxStorageBufferBindingSize: 2048 } });
    // 576 bytes per group of 4 channels: chunks of 3, 3 and 2 groups
    expect(await convError({ inHW: [2, 2], inC: 32, outC: 32, kernel: [3, 3], padding: [1, 1], groups: 8 }, tiny)).toBeLessThanOrEqual(TOLERANCE);
    tiny.destroy();
  });

  it('binds a window of an arena larger than one binding, and folds big dispatches into 2-D grids', async () => {
    const small = await createWebGpuBackend({
      gpu: await nodeGpu(),
      warmup: false,
      limits: { maxStorageBufferBindingSize: 32768, maxComputeWorkgroupsPerDimension: 3 },
    });
    const a = new ArenaBuilder();
    // slots 3000 floats apart: the arena (~58 KiB) is well over the binding limit
    const conv = makeConv(a, { inHW: [6, 6], inC: 16, outC: 24, kernel: [3, 3], padding: [1, 1], activation: 'relu' }, 3001);
    const pool: PlanOp = { kind: 'pool2d', mode: 'max', input: conv.output, output: a.slot([1, 3, 3, 24], 3001), kernel: [2, 2], stride: [2, 2], padding: [0, 0], countIncludePad: false, activation: 'none' };
    const act: PlanOp = { kind: 'activation', input: conv.output, output: a.slot([1, 6, 6, 24], 3001), activation: 'silu' };
    const lin = makeLinear(a, 1, 216, 30, false, 'tanh');
    const flat: PlanOp = { ...lin, input: { ...pool.output, shape: [1, 1, 1, 216] } };
    expect(a.size * 4).toBeGreaterThan(1.5 * 32768);
    expect(await compareWithReference(small, [conv, pool, act, flat], a.size + 1, seed++)).toBeLessThanOrEqual(TOLERANCE);
    small.destroy();
    // an op whose own slots span more than one binding is refused, saying what and how much
    const tight = await createWebGpuBackend({ gpu: await nodeGpu(), warmup: false, limits: { maxStorageBufferBindingSize: 16384 } });
    await expect(compareWithReference(tight, [conv], a.size + 1)).rejects.toThrow(
      /plan\.ops\[0\] \(conv2d\) reads and writes 17992 bytes of the activation arena.*maxStorageBufferBindingSize 16384/,
    );
    tight.destroy();
  });
});

describe('webgpu pooling matches the js reference', () => {
  const pool = (mode: 'max' | 'avg', n: number, inHW: Pair, c: number, k: Pair, s: Pair, p: Pair, outHW: Pair, countIncludePad: boolean, activation: Activation = 'none') => {
    const a = new ArenaBuilder();
    const op: PlanOp = {
      kind: 'pool2d', mode, input: a.slot([n, inHW[0], inHW[1], c]), output: a.slot([n, outHW[0], outHW[1], c]),
      kernel: k, stride: s, padding: p, countIncludePad, activation,
    };
    return compareWithReference(backend, [op], a.size + 1, seed++);
  };
  it('max 3x3 stride 2 pad 1 (ResNet), batch 2', async () => {
    expect(await pool('max', 2, [9, 8], 6, [3, 3], [2, 2], [1, 1], [5, 4], true)).toBeLessThanOrEqual(TOLERANCE);
  });
  it('max 3x3 stride 2 in ceil mode (window clipped at the end), relu', async () => {
    expect(await pool('max', 1, [8, 8], 5, [3, 3], [2, 2], [0, 0], [4, 4], false, 'relu')).toBeLessThanOrEqual(TOLERANCE);
  });
  it('avg 3x3 stride 1 pad 1, count_include_pad true and false', async () => {
    expect(await pool('avg', 1, [5, 7], 9, [3, 3], [1, 1], [1, 1], [5, 7], true)).toBeLessThanOrEqual(TOLERANCE);
    expect(await pool('avg', 1, [5, 7], 9, [3, 3], [1, 1], [1, 1], [5, 7], false)).toBeLessThanOrEqual(TOLERANCE);
  });
  it('avg 3x3 stride 2 pad 1 in ceil mode with count_include_pad (divisor clipped to the padded input)', async () => {
    expect(await pool('avg', 2, [6, 6], 3, [3, 3], [2, 2], [1, 1], [4, 4], true)).toBeLessThanOrEqual(TOLERANCE);
  });
  it('avg 2x2 stride 2 (LeNet), tanh', async () => {
    expect(await pool('avg', 1, [10, 10], 16, [2, 2], [2, 2], [0, 0], [5, 5], true, 'tanh')).toBeLessThanOrEqual(TOLERANCE);
  });

  const adaptive = (n: number, inHW: Pair, c: number, outHW: Pair) => {
    const a = new ArenaBuilder();
    const op: PlanOp = { kind: 'adaptiveAvgPool2d', input: a.slot([n, inHW[0], inHW[1], c]), output: a.slot([n, outHW[0], outHW[1], c]) };
    return compareWithReference(backend, [op], a.size + 1, seed++);
  };
  it('adaptive average: global 7x7, uneven 13x11 -> 3x4, upsampling 2x3 -> 5x4', async () => {
    expect(await adaptive(2, [7, 7], 20, [1, 1])).toBeLessThanOrEqual(TOLERANCE);
    expect(await adaptive(1, [13, 11], 5, [3, 4])).toBeLessThanOrEqual(TOLERANCE);
    expect(await adaptive(1, [2, 3], 4, [5, 4])).toBeLessThanOrEqual(TOLERANCE);
  });
  it('adaptive average: workgroup reduction for large cells (16x16 global, 37 channels; 20x18 -> 2x1)', async () => {
    expect(await adaptive(2, [16, 16], 37, [1, 1])).toBeLessThanOrEqual(TOLERANCE);
    expect(await adaptive(1, [20, 18], 16, [2, 1])).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('webgpu elementwise and normalisation ops match the js reference', () => {
  it('applies every activation (inputs in [-8, 8])', async () => {
    const a = new ArenaBuilder();
    const x = a.slot([1, 3, 5, 7]);
    const ops: PlanOp[] = ACTIVATIONS.map((activation) => ({ kind: 'activation', input: x, output: a.slot([1, 3, 5, 7]), activation }));
    for (const op of ops) {
      const err = await compareWithReference(backend, [op], a.size + 1, seed++, [-8, 8]);
      expect(err, (op as { activation: string }).activation).toBeLessThanOrEqual(TOLERANCE);
    }
  });
  it('add with an activation, channel affine, channel copy into a concatenation, channel scaling', async () => {
    const a = new ArenaBuilder();
    const x = a.slot([2, 3, 4, 5]);
    const y = a.slot([2, 3, 4, 5]);
    const s = a.slot([2, 1, 1, 5]);
    const cat = a.slot([2, 3, 4, 12]);
    const ops: PlanOp[] = [
      { kind: 'add', a: x, b: y, output: a.slot([2, 3, 4, 5]), activation: 'relu' },
      { kind: 'channelAffine', input: x, output: a.slot([2, 3, 4, 5]), scale: randomFloats(5, seed++), shift: randomFloats(5, seed++), activation: 'hardswish' },
      { kind: 'copyChannels', input: x, output: cat, channelOffset: 0 },
      { kind: 'copyChannels', input: y, output: cat, channelOffset: 7 },
      { kind: 'scaleChannels', input: x, scale: s, output: a.slot([2, 3, 4, 5]) },
    ];
    expect(await compareWithReference(backend, ops, a.size + 1, seed++)).toBeLessThanOrEqual(TOLERANCE);
  });
  it('layer norm over 96 and 37 channels, with an activation', async () => {
    const a = new ArenaBuilder();
    const x1 = a.slot([2, 3, 5, 96]);
    const x2 = a.slot([1, 2, 3, 37]);
    const ops: PlanOp[] = [
      { kind: 'layerNorm', input: x1, output: a.slot([2, 3, 5, 96]), weight: randomFloats(96, seed++), bias: randomFloats(96, seed++), eps: 1e-6, activation: 'none' },
      { kind: 'layerNorm', input: x2, output: a.slot([1, 2, 3, 37]), weight: randomFloats(37, seed++), bias: randomFloats(37, seed++), eps: 1e-5, activation: 'gelu' },
    ];
    expect(await compareWithReference(backend, ops, a.size + 1, seed++, [-3, 5])).toBeLessThanOrEqual(TOLERANCE);
  });
  it('local response norm, odd and even sizes (AlexNet and the 2012 form)', async () => {
    const a = new ArenaBuilder();
    const x = a.slot([2, 3, 4, 11]);
    const ops: PlanOp[] = [
      { kind: 'localResponseNorm', input: x, output: a.slot([2, 3, 4, 11]), size: 5, alpha: 1e-4, beta: 0.75, k: 2 },
      { kind: 'localResponseNorm', input: x, output: a.slot([2, 3, 4, 11]), size: 4, alpha: 0.3, beta: 0.5, k: 1 },
    ];
    expect(await compareWithReference(backend, ops, a.size + 1, seed++, [-4, 4])).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('webgpu fake quantisation matches the js reference bit for bit', () => {
  it('fakeQuantize: uint8 with a zero point, int8, a narrow clamped range, and ties from a finer grid', async () => {
    const a = new ArenaBuilder();
    const ops = fakeQuantizeOps(a);
    expect(await compareWithReference(backend, ops, a.size + 1, seed++, [-3, 3])).toBe(0);
  });
});

describe('binary16 packing', () => {
  it('rounds to nearest even, keeps subnormals, saturates to infinity', () => {
    for (const v of [0, -0, 1, -2.5, 65504, 6.1035156e-5, 5.9604645e-8, 1 / 3, 0.1, 1000.7]) {
      expect(fromHalfBits(toHalfBits(v))).toBeCloseTo(v, Math.abs(v) < 1 ? 3 : 0);
    }
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // halfway: rounds to even
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(fromHalfBits(toHalfBits(70000))).toBe(Infinity);
    expect(fromHalfBits(toHalfBits(2 ** -25 * 1.5))).toBe(2 ** -24);
    expect(Number.isNaN(fromHalfBits(toHalfBits(NaN)))).toBe(true);
  });
});

export type { Slot };
