// Test-only helpers shared by the wasm and WebGPU tests: hand-built arenas and plans, and a
// comparison of any backend against the js reference kernels, op by op.
import { validatePlan, type Backend, type ExecutionPlan, type PlanOp, type Slot } from '@cnn/core';
import { runJsOp } from './js/run-op.js';

import { randomFloats } from './random-floats.js';

export { randomFloats };

/** Hands out slots one after another at odd offsets, so no tensor starts on a binding boundary. */
export class ArenaBuilder {
  size = 0;
  private nextId = 0;
  slot(shape: readonly [number, number, number, number], gap = 5): Slot {
    const offset = this.size + gap;
    const size = shape[0] * shape[1] * shape[2] * shape[3];
    this.size = offset + size;
    return { id: this.nextId++, shape, offset, size };
  }
  /** Channels [channelOffset, + channels) of `base` as a channel view. */
  view(base: Slot, channelOffset: number, channels: number): Slot {
    const [n, h, w] = base.shape;
    return { id: this.nextId++, shape: [n, h, w, channels], offset: base.offset + channelOffset, size: n * h * w * channels, base };
  }
}

/** A plan whose input and single output are the whole arena, so any op sequence can be checked. */
export function wholeArenaPlan(ops: readonly PlanOp[], arenaSize: number): ExecutionPlan {
  const all: Slot = { id: -1, shape: [1, 1, 1, arenaSize], offset: 0, size: arenaSize };
  return validatePlan({ batch: 1, input: all, outputs: [all], ops, arenaSize });
}

/**
 * max |got - ref| / max |ref| over one slot (NaN counts as infinitely wrong); over a channel
 * view's whole base, so a kernel that writes past its channels fails too.
 */
export function slotError(got: Float32Array, ref: Float32Array, slot: Slot): number {
  let maxDiff = 0;
  let maxRef = 0;
  const whole = slot.base ?? slot;
  for (let i = whole.offset; i < whole.offset + whole.size; i++) {
    const d = Math.abs(got[i] - ref[i]);
    maxDiff = Number.isNaN(d) ? Infinity : Math.max(maxDiff, d);
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
  }
  return maxDiff / Math.max(maxRef, 1e-30);
}

/** Runs `ops` on a random arena with `backend` and with the js reference; worst error over the ops' outputs. */
export async function compareWithReference(backend: Backend, ops: readonly PlanOp[], arenaSize: number, seed = 1, range: [number, number] = [-1, 1]): Promise<number> {
  const arena = randomFloats(arenaSize, seed, range[0], range[1]);
  const ref = arena.slice();
  for (const op of ops) runJsOp(ref, op);
  const exe = await backend.compile(wholeArenaPlan(ops, arenaSize));
  const [got] = await exe.run(arena);
  exe.dispose();
  return Math.max(...ops.map((op) => slotError(got, ref, op.output)));
}

/** A convolution with random weights, square kernel k, "same" padding, stride s; output `output`. */
function viewConv(input: Slot, output: Slot, k: number, s: number, seed: number): PlanOp {
  const [inC, outC] = [input.shape[3], output.shape[3]];
  const fanIn = inC * k * k;
  return {
    kind: 'conv2d', input, output, weight: randomFloats(outC * fanIn, seed, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn)),
    bias: randomFloats(outC, seed + 1), kernel: [k, k], stride: [s, s], padding: [(k - 1) >> 1, (k - 1) >> 1], dilation: [1, 1], groups: 1, activation: 'relu',
  };
}

/**
 * Every op field that takes a channel view (CHANNEL_VIEW_FIELDS), on odd channel counts and
 * offsets: convolutions (direct, 1x1 GEMM, 7x7 stride 2, a 3x3 with enough channels for
 * Winograd, a 7x7 image with 256 input channels, which WebGPU splits along K, 1 -> 1) and poolings writing a channel range of a wider base, channel affines
 * and copies reading one. Compare with compareWithReference: the whole bases are checked.
 */
export function channelViewOps(a: ArenaBuilder, seed: number): PlanOp[] {
  const x = a.slot([2, 9, 11, 17]);
  const single = a.slot([2, 9, 11, 1]);
  const five = a.slot([2, 9, 11, 5]);
  const seven = a.slot([2, 9, 11, 7]);
  const wide = a.slot([2, 9, 11, 45]);
  const half = a.slot([2, 5, 6, 13]);
  const copied = a.slot([2, 9, 11, 10]);
  const pair = a.slot([2, 9, 11, 12]);
  const deep = a.slot([1, 7, 7, 256]);
  const deepOut = a.slot([1, 7, 7, 70]);
  return [
    viewConv(deep, a.view(deepOut, 3, 64), 3, 1, seed + 12),
    viewConv(x, a.view(wide, 3, 6), 3, 1, seed),
    viewConv(x, a.view(wide, 9, 10), 1, 1, seed + 2),
    viewConv(x, a.view(wide, 19, 20), 3, 1, seed + 4),
    viewConv(single, a.view(wide, 39, 1), 1, 1, seed + 6),
    viewConv(x, a.view(half, 1, 5), 7, 2, seed + 8),
    { kind: 'pool2d', mode: 'avg', input: five, output: a.view(wide, 40, 5), kernel: [3, 3], stride: [1, 1], padding: [1, 1], countIncludePad: true, activation: 'relu' },
    { kind: 'channelAffine', input: a.view(wide, 0, 7), output: seven, scale: randomFloats(7, seed + 10), shift: randomFloats(7, seed + 11), activation: 'relu' },
    { kind: 'pool2d', mode: 'max', input: seven, output: a.view(half, 6, 7), kernel: [3, 3], stride: [2, 2], padding: [1, 1], countIncludePad: false, activation: 'none' },
    { kind: 'copyChannels', input: a.view(wide, 2, 5), output: copied, channelOffset: 3 },
    { kind: 'copyChannels', input: a.view(x, 11, 6), output: a.view(pair, 1, 8), channelOffset: 2 },
  ];
}

/**
 * fakeQuantize on one 210-float tensor (a tail of 2 after the last full vector): uint8 with a zero
 * point, int8, a narrow clamped range, and exact ties (multiples of 1/128 re-quantised to 1/64).
 */
export function fakeQuantizeOps(a: ArenaBuilder): PlanOp[] {
  const x = a.slot([2, 3, 5, 7]);
  const fine = a.slot([2, 3, 5, 7]);
  const q = (input: Slot, scale: number, zeroPoint: number, quantMin: number, quantMax: number): PlanOp =>
    ({ kind: 'fakeQuantize', input, output: a.slot([2, 3, 5, 7]), scale, zeroPoint, quantMin, quantMax });
  return [
    q(x, 0.05, 3, 0, 255),
    q(x, 0.0371, -5, -128, 127),
    q(x, 0.1, 0, -7, 7),
    // multiples of 1/128, then a grid of 1/64: every odd multiple is a tie, rounded to even
    { ...q(x, 1 / 128, 0, -1024, 1023), output: fine },
    q(fine, 1 / 64, 0, -1024, 1023),
  ];
}
