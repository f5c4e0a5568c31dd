// What the wasm backend does for each plan op at compile time: the floats its packed weights,
// staging, zero row and scratch take, how the weights are packed (by the binary's own packers),
// and its descriptor (typed by the generated field lists of abi.ts). One planner per op kind.
// Packed sizes and scratch layouts come from abi.ts's formulas (stated once in abi/spec.mjs,
// the same functions the Rust packers and kernels use); what is decided here and only here is
// which convolutions take Winograd and how a Winograd op is split into bands (the descriptor's
// `winograd_band`, which the kernels obey).
import { ShapeError, activationCode, fakeQuantizeScales, pixelStride, unfoldedWeight, type Conv2dOp, type FloatOpKind, type LinearOp, type PlanOp, type Slot } from '@cnn/core';
import {
  LINEAR_ROWS,
  MR,
  NR,
  activationDescriptor,
  adaptiveAvgpool2dDescriptor,
  addDescriptor,
  avgpool2dDescriptor,
  channelAffineDescriptor,
  conv2dDescriptor,
  copyChannelsDescriptor,
  dwconv2dDescriptor,
  fakeQuantizeDescriptor,
  layerNormDescriptor,
  linearDescriptor,
  localResponseNormDescriptor,
  maxpool2dDescriptor,
  scaleChannelsDescriptor,
  convPackedFloats,
  dwconvPackedFloats,
  linearBlockFloats,
  linearPackedFloats,
  winogradInputFloats,
  winogradThreadFloats,
  winogradTileFloats,
  winogradTiles,
  type Descriptor,
} from './abi.js';
import type { KernelExports } from './loader.js';

export const BYTES_PER_FLOAT = 4;
/** Every region starts on a 64-byte boundary (the same as @cnn/core's arena alignment). */
export const ALIGN_FLOATS = 16;
export const alignUp = (x: number, a: number) => Math.ceil(x / a) * a;

/** Host-side plan for one op: weight floats to reserve, how to fill them, and its descriptor. */
export interface OpPlan {
  /** floats to reserve in the weight region (0 for weightless ops) */
  weightFloats: number;
  /**
   * The fewest raw floats the wasm packer can take at once (0 if JS copies directly): weights
   * are staged in the arena region, in as few slices as fit there.
   */
  stagingFloats: number;
  /** floats the zero row must hold */
  zeroFloats: number;
  /** floats of scratch the op needs while it runs, placed in the arena (`plan.scratch`) */
  scratchFloats?: number;
  /** fills the op's weight region starting at float index `at`, staging at most `capacity` floats at `staging` */
  fill(k: KernelExports, heap: Float32Array, at: number, staging: number, capacity: number): void;
  /** the op's descriptor; `slot` maps a slot to its byte address */
  describe(at: number, slot: (s: Slot) => number, zeros: number, scratch: number): Descriptor;
}

/** How compile() runs a plan (what op planning depends on). */
/** The wasm backend's Winograd choice (`WasmBackendOptions.winograd`, `winogradTileSides`). */
export type WinogradMode = 'fast' | 'accurate';

export interface PlanConfig {
  threads: number;
  /** false: no Winograd; true: 'accurate' */
  winograd: boolean | WinogradMode;
}

/**
 * Winograd band sizing (decided here only; the descriptor carries the band to the kernels):
 * transformed input per band, and the fewest tiles per band.
 */
const WINOGRAD_BAND_FLOATS = 144 * 1024;
const WINOGRAD_MIN_BAND = 32;
/**
 * Smallest input and output channel counts, and output height and width, for Winograd
 * (benchmarks/kernels.mjs, 'conv 3x3'; one thread, weights transformed on the fly): it ran
 * 3.4x the direct igemm path at 56x56 and 28x28, 2.4x at 14x14 and 1.8x at 7x7 (ResNet-50,
 * 64-512 channels; 1.8x for DenseNet's 7x7 128 -> 32 too). Smaller outputs would be mostly
 * empty 4x4 tiles, and fewer channels leave the transforms too little GEMM to amortise.
 */
const WINOGRAD_MIN_CHANNELS = 16;
const WINOGRAD_MIN_SIZE = 7;

const bytes = (floats: number) => floats * BYTES_PER_FLOAT;

/** Depthwise (dwconv.rs). A 1 -> 1 channel convolution stays dense: its output may be a channel view. */
function isDepthwise(op: Conv2dOp): boolean {
  return op.groups > 1 && op.groups === op.input.shape[3] && op.groups === op.output.shape[3];
}

/** Whether the wasm backend runs this convolution by Winograd (kernels-wasm/src/winograd.rs; tile side: `winogradTileSides`). */
export function usesWinograd(op: Conv2dOp): boolean {
  const [, , , inC] = op.input.shape;
  const [, outH, outW, outC] = op.output.shape;
  return (
    op.groups === 1 &&
    op.kernel[0] === 3 && op.kernel[1] === 3 &&
    op.stride[0] === 1 && op.stride[1] === 1 &&
    op.dilation[0] === 1 && op.dilation[1] === 1 &&
    inC >= WINOGRAD_MIN_CHANNELS && outC >= WINOGRAD_MIN_CHANNELS &&
    outH >= WINOGRAD_MIN_SIZE && outW >= WINOGRAD_MIN_SIZE
  );
}

/**
 * Winograd convolutions, counted from the input in plan order, that take F(2x2, 3x3) in the
 * 'accurate' mode. The layers nearest the image set the logits' error (README, Correctness:
 * ResNet-18 with F(4, 3) on one stage only was at 1.3e-6 for its 56-px stage, 6.3e-7-8.8e-7 for
 * the others), and these are the first four: VGG-16's conv1_2 to conv3_1, ResNet-18's four 56-px
 * convolutions, the stem side of ResNet-50 or Inception. Branches that write a channel range of a
 * concatenation (GoogLeNet's and Inception's 3x3 branches, DenseNet's layers) neither take it nor
 * count: with F(4, 3) on all of them GoogLeNet is at 1.4x torchvision float32's error and DenseNet
 * at 1.3x, and F(2, 3) there cost GoogLeNet 19% of its time (10% with the stem's conv2 alone). A
 * rule by position, not by size, so that small inputs (VGG-16 at 32 px, whose outputs never reach
 * 56 x 56) are covered too, and deep networks pay for four layers only (measured:
 * benchmarks/accuracy.mjs, benchmarks/checkouts-ab.mjs; README, Correctness).
 */
export const WINOGRAD_ACCURATE_LAYERS = 4;

/**
 * Per op of a plan: its Winograd output tile side, 4 for F(4x4, 3x3), 2 for F(2x2, 3x3), or 0
 * for an op that does not run by Winograd. In float32, F(4, 3) is up to 4-5x further from float64
 * than a direct convolution (its transformed products are far larger than the outputs they
 * cancel down to, and A^T's entries reach 8), F(2, 3) about 1.1x, at 1.8x F(4, 3)'s
 * multiply-adds (tools/fit/winograd_layers.py). 'accurate' gives the first
 * WINOGRAD_ACCURATE_LAYERS Winograd convolutions F(2, 3) (true is 'accurate', false no Winograd).
 */
export function winogradTileSides(ops: readonly PlanOp[], mode: boolean | WinogradMode): (0 | 2 | 4)[] {
  let seen = 0;
  return ops.map((op) =>
    mode === false || op.kind !== 'conv2d' || !usesWinograd(op) ? 0 : mode !== 'fast' && !op.output.base && ++seen <= WINOGRAD_ACCURATE_LAYERS ? 2 : 4,
  );
}

/**
 * Winograd tiles per band, or 0 to transform all tiles into one shared buffer first. Bands
 * keep a large output's transformed input per thread and cache-sized (VGG's 224x224 layers
 * would need 29 MB of shared buffer, more than their activations). Outputs take bands when
 * their shared buffer would exceed 4 x WINOGRAD_BAND_FLOATS, or when it would not fit in the
 * arena's free space at that op (`sharedFits` false). Each band transforms every weight block
 * again, so a band has at least WINOGRAD_MIN_BAND tiles (then the weight transforms cost
 * about a fifth of the GEMM, less for fewer output channels), as many as fit in
 * WINOGRAD_BAND_FLOATS beyond that, and there are at least two per thread.
 */
export function winogradBand(tiles: number, inC: number, threads: number, sharedFits: boolean, tile: number): number {
  const tileFloats = winogradTileFloats(inC, tile);
  if (sharedFits && tiles * tileFloats <= 4 * WINOGRAD_BAND_FLOATS) return 0;
  const fit = Math.floor(WINOGRAD_BAND_FLOATS / tileFloats / MR) * MR;
  const perThreads = Math.ceil(tiles / (2 * threads) / MR) * MR;
  const band = Math.max(WINOGRAD_MIN_BAND, Math.min(fit, perThreads));
  return tiles > 2 * band ? band : 0;
}

interface WinogradScratch {
  /** output pixels per tile side (`winogradTileSides`) */
  readonly tile: number;
  /** tiles per band, 0: two phases over one shared transformed input */
  readonly band: number;
  /** the shared transformed input (0 with bands) */
  readonly sharedFloats: number;
  /** per thread: its band's transformed input (with bands) and its chunk of transformed weights */
  readonly threadFloats: number;
}

/**
 * Winograd scratch (kernels-wasm/src/winograd.rs, layout by abi.ts's winograd* formulas): for
 * two phases, all tiles' transformed input, then each thread's chunk of transformed weight
 * blocks; with bands, per thread one band's transformed input and its chunk. `room`: the
 * scratch floats the op may take without growing the arena (the free floats at the op when
 * asking, the floats granted in plan.scratch when compiling, which gives the same answer).
 * Bands are taken only where they need less scratch than the shared buffer: otherwise (a few
 * tiles per band per thread) the floats granted for bands would let the shared buffer fit at
 * compile time, and the answers would differ.
 */
function winogradScratch(op: Conv2dOp, threads: number, room: number, tile: 2 | 4): WinogradScratch {
  const [n, , , inC] = op.input.shape;
  const [, outH, outW, outC] = op.output.shape;
  const tiles = winogradTiles(n, outH, outW, tile);
  const shared = winogradInputFloats(tiles, 0, inC, tile);
  const sharedTotal = shared + threads * winogradThreadFloats(tiles, 0, inC, outC, tile);
  let band = winogradBand(tiles, inC, threads, sharedTotal <= room, tile);
  if (band && threads * winogradThreadFloats(tiles, band, inC, outC, tile) >= sharedTotal) band = 0;
  return { tile, band, sharedFloats: band ? 0 : shared, threadFloats: winogradThreadFloats(tiles, band, inC, outC, tile) };
}

/** Packed convolution weights (kernels-wasm/src/conv.rs, dwconv.rs): bias, then taps, per block of NR. */
function convPacking(op: Conv2dOp) {
  const inCg = op.input.shape[3] / op.groups;
  const outC = op.output.shape[3];
  const taps = op.kernel[0] * op.kernel[1];
  const depthwise = isDepthwise(op);
  // A unit is the fewest output channels that pack on their own: a block of NR channels, or a
  // whole group of a grouped convolution (whose blocks restart at each group). Winograd keeps
  // the same blocks (9 taps).
  const unit = depthwise || op.groups === 1 ? NR : outC / op.groups;
  const packed = (channels: number, groups: number) => (depthwise ? dwconvPackedFloats(channels, taps) : convPackedFloats(channels, inCg, taps, groups));
  return { inCg, outC, taps, depthwise, unit, unitFloats: packed(unit, 1), weightFloats: packed(outC, depthwise ? 1 : op.groups) };
}

function planConv(op: Conv2dOp, config: PlanConfig, room: number, tile: 0 | 2 | 4): OpPlan {
  const winograd = tile !== 0;
  const p = convPacking(op);
  const w = winograd ? winogradScratch(op, config.threads, room, tile) : undefined;
  const kw = op.kernel[1];
  const inC = op.input.shape[3];
  return {
    weightFloats: p.weightFloats,
    scratchFloats: w ? w.sharedFloats + config.threads * w.threadFloats : 0,
    stagingFloats: stagingFloats(p.unit, p.inCg * p.taps),
    // conv2d reads whole kernel rows (kw * inC floats) from the zero row when groups == 1.
    zeroFloats: p.depthwise ? 0 : op.groups === 1 ? kw * inC : p.inCg,
    fill: (k, heap, at, staging, capacity) => fillConvWeights(k, heap, op, p, winograd, { at, staging, capacity }),
    describe: (at, slot, zeros, scratch) => describeConv(op, p.depthwise, { packed: bytes(at), zeros, slot, scratch: w ? scratch : 0, band: w?.band ?? 0, tile: w?.tile ?? 0 }),
  };
}

/**
 * Floats staged per slice at most (when one unit of rows fits): a slice is copied in, scaled and
 * packed while it stays in L2. Slices as large as the arena (tens of MB for ResNet-50) went
 * through DRAM three times: ResNet-50's scaling took 28 ms, its packing 70.
 */
const SLICE_FLOATS = 65536;

/** Staging for one unit of `unit` rows of `per` floats: the rows, their biases and folded factors (f64: two floats each). */
const stagingFloats = (unit: number, per: number) => alignUp(unit * per, ALIGN_FLOATS) + 3 * unit + ALIGN_FLOATS;

/**
 * Stages a layer's rows (output channels of `per` floats) slice by slice, whole units of `unit`
 * rows at a time, and packs each: `pack(r0, rows, biasAt)` with the rows at `staging` and their
 * biases at `biasAt`. When the plan keeps a folded scale apart (`unfoldedWeight`), the binary
 * scales the staged rows (`scale_rows`, from f64 factors staged after the biases): the products
 * the plan's own `weight` would give, without a scaled copy in JavaScript. `heap` views the
 * whole memory.
 */
function fillRows(k: KernelExports, heap: Float32Array, op: Conv2dOp | LinearOp, per: number, unit: number, staging: number, capacity: number, pack: (r0: number, rows: number, biasAt: number) => void): void {
  const { weight, scale } = unfoldedWeight(op);
  const total = op.bias.length;
  const perSlice = Math.max(1, Math.floor(Math.min(capacity, SLICE_FLOATS) / stagingFloats(unit, per))) * unit;
  for (let r0 = 0; r0 < total; r0 += perSlice) {
    const rows = Math.min(perSlice, total - r0);
    const biasAt = staging + alignUp(rows * per, ALIGN_FLOATS);
    heap.set(weight.subarray(r0 * per, (r0 + rows) * per), staging);
    heap.set(op.bias.subarray(r0, r0 + rows), biasAt);
    if (scale) {
      const at = alignUp(biasAt + rows, 2);
      new Float64Array(heap.buffer, bytes(at), rows).set(scale.subarray(r0, r0 + rows));
      k.scale_rows(bytes(staging), rows, per, bytes(at));
    }
    pack(r0, rows, biasAt);
  }
}

/** Slices of whole units of output channels, each staged raw and packed by the binary into its own run of blocks. */
function fillConvWeights(k: KernelExports, heap: Float32Array, op: Conv2dOp, p: ReturnType<typeof convPacking>, winograd: boolean, to: { at: number; staging: number; capacity: number }): void {
  const [kh, kw] = op.kernel;
  fillRows(k, heap, op, p.inCg * p.taps, p.unit, to.staging, to.capacity, (c0, cs, biasAt) => {
    const [d, w, b] = [to.at + (c0 / p.unit) * p.unitFloats, to.staging, biasAt].map(bytes);
    if (p.depthwise) k.dwconv2d_pack_weights(d, w, b, cs, kh, kw);
    else if (winograd) k.conv2d_winograd_pack_weights(d, w, b, cs, op.input.shape[3]);
    else k.conv2d_pack_weights(d, w, b, cs, p.inCg, kh, kw, op.groups === 1 ? 1 : cs / (p.outC / op.groups));
  });
}

function describeConv(op: Conv2dOp, depthwise: boolean, at: { packed: number; zeros: number; slot: (s: Slot) => number; scratch: number; band: number; tile: number }): Descriptor {
  const [n, inH, inW, inC] = op.input.shape;
  const [, outH, outW, outC] = op.output.shape;
  const [x, y, r] = [at.slot(op.input), at.slot(op.output), op.residual ? at.slot(op.residual) : 0];
  const window = [...op.kernel, ...op.stride, ...op.padding, ...op.dilation] as const;
  const act = activationCode(op.activation);
  if (depthwise) return dwconv2dDescriptor([x, y, r, at.packed, n, inH, inW, inC, outH, outW, ...window, act]);
  return conv2dDescriptor([x, y, r, at.packed, at.zeros, n, inH, inW, inC, outH, outW, outC, ...window, op.groups, act, at.scratch, at.band, at.tile, pixelStride(op.output)]);
}

/** Blocks of LINEAR_ROWS rows, [inF / 4][rows][4], tails zero-filled (kernels-wasm/src/linear.rs), then the bias. */
function planLinear(op: Extract<PlanOp, { kind: 'linear' }>): OpPlan {
  const n = op.input.shape[0];
  const [inF, outF] = [op.input.size / n, op.output.size / n];
  const blockFloats = linearBlockFloats(inF);
  const biasOffset = alignUp(linearPackedFloats(outF, inF), ALIGN_FLOATS);
  return {
    weightFloats: biasOffset + op.bias.length,
    stagingFloats: stagingFloats(LINEAR_ROWS, inF),
    zeroFloats: 0,
    fill(k, heap, at, staging, capacity) {
      // Slices of whole blocks of rows, staged raw and packed by the kernel binary.
      fillRows(k, heap, op, inF, LINEAR_ROWS, staging, capacity, (r0, rows) => k.linear_pack_weights(bytes(at + (r0 / LINEAR_ROWS) * blockFloats), bytes(staging), rows, inF));
      heap.set(op.bias, at + biasOffset);
    },
    describe: (at, slot) =>
      linearDescriptor([slot(op.input), slot(op.output), op.residual ? slot(op.residual) : 0, bytes(at), bytes(at + biasOffset), n, inF, outF, activationCode(op.activation)]),
  };
}

/** Per-channel parameters copied as they are: two arrays of c floats, the second 64-byte aligned. */
function planChannelPair(c: number, first: Float32Array, second: Float32Array, describe: (a: number, b: number, slot: (s: Slot) => number) => Descriptor): OpPlan {
  const secondOffset = alignUp(c, ALIGN_FLOATS);
  return {
    weightFloats: secondOffset + c,
    stagingFloats: 0,
    zeroFloats: 0,
    fill(_k, heap, at) {
      heap.set(first, at);
      heap.set(second, at + secondOffset);
    },
    describe: (at, slot) => describe(bytes(at), bytes(at + secondOffset), slot),
  };
}

/** An op without weights: only its descriptor. */
const weightless = (describe: (slot: (s: Slot) => number) => Descriptor): OpPlan => ({
  weightFloats: 0,
  stagingFloats: 0,
  zeroFloats: 0,
  fill() {},
  describe: (_at, slot) => describe(slot),
});

type Planner<K extends PlanOp['kind']> = (op: Extract<PlanOp, { kind: K }>, config: PlanConfig, room: number, tile: 0 | 2 | 4) => OpPlan;

/** Every float op kind has a planner; int8 plans run on the wasm-int8 backend (@cnn/kernels/wasm/q8) or js. */
const PLANNERS: { readonly [K in FloatOpKind]: Planner<K> } = {
  conv2d: planConv,
  linear: planLinear,
  pool2d: (op) => {
    const [n, inH, inW, c] = op.input.shape;
    const [, outH, outW] = op.output.shape;
    const describe = op.mode === 'max' ? maxpool2dDescriptor : avgpool2dDescriptor;
    const window = [...op.kernel, ...op.stride, ...op.padding] as const;
    return weightless((slot) => describe([slot(op.input), slot(op.output), n, inH, inW, c, outH, outW, ...window, op.countIncludePad ? 1 : 0, activationCode(op.activation), pixelStride(op.output)]));
  },
  adaptiveAvgPool2d: (op) => {
    const [n, inH, inW, c] = op.input.shape;
    const [, outH, outW] = op.output.shape;
    return weightless((slot) => adaptiveAvgpool2dDescriptor([slot(op.input), slot(op.output), n, inH, inW, c, outH, outW]));
  },
  add: (op) => weightless((slot) => addDescriptor([slot(op.a), slot(op.b), slot(op.output), op.output.size, activationCode(op.activation)])),
  channelAffine: (op) => {
    const c = op.input.shape[3];
    return planChannelPair(c, op.scale, op.shift, (scale, shift, slot) =>
      channelAffineDescriptor([slot(op.input), slot(op.output), scale, shift, op.input.size / c, c, activationCode(op.activation), pixelStride(op.input)]),
    );
  },
  activation: (op) => weightless((slot) => activationDescriptor([slot(op.input), slot(op.output), op.output.size, activationCode(op.activation)])),
  scaleChannels: (op) => {
    const [n, h, w, c] = op.input.shape;
    return weightless((slot) => scaleChannelsDescriptor([slot(op.input), slot(op.scale), slot(op.output), n, h * w, c]));
  },
  layerNorm: (op) => {
    const c = op.input.shape[3];
    return planChannelPair(c, op.weight, op.bias, (gamma, beta, slot) =>
      layerNormDescriptor([slot(op.input), slot(op.output), gamma, beta, op.input.size / c, c, op.eps, activationCode(op.activation)]),
    );
  },
  localResponseNorm: (op) => {
    const c = op.input.shape[3];
    return weightless((slot) => localResponseNormDescriptor([slot(op.input), slot(op.output), op.input.size / c, c, op.size, op.alpha, op.beta, op.k]));
  },
  fakeQuantize: (op) => {
    const { scale, invScale } = fakeQuantizeScales(op);
    return weightless((slot) => fakeQuantizeDescriptor([slot(op.input), slot(op.output), op.output.size, invScale, scale, op.zeroPoint, op.quantMin, op.quantMax]));
  },
  copyChannels: (op) => {
    const inC = op.input.shape[3];
    return weightless((slot) => copyChannelsDescriptor([slot(op.input), slot(op.output), op.input.size / inC, inC, pixelStride(op.output), op.channelOffset, pixelStride(op.input)]));
  },
};

/** The wasm backend's plan for each op of a plan; `rooms[i]`: op i's `room` (see winogradScratch). */
export function planOps(ops: readonly PlanOp[], config: PlanConfig, rooms: readonly number[]): OpPlan[] {
  const tiles = winogradTileSides(ops, config.winograd);
  return ops.map((op, i) => {
    const planner = (PLANNERS as { readonly [k: string]: Planner<PlanOp['kind']> | undefined })[op.kind];
    // int8 op kinds: createInt8WasmBackend (@cnn/kernels/wasm/q8) runs those plans; every byte here is in every app
    if (!planner) throw new ShapeError(`wasm: no kernel for op '${op.kind}'`);
    return planner(op, config, rooms[i], tiles[i]);
  });
}
