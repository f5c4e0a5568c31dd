// Test-only: hand-built drafts for the pass tests (no graph, no weights).
import type { Draft, DraftOp, Nhwc, ValueRef } from './draft.js';

/** A draft over values of the given channel counts (shape [1, 2, 2, c]); value 0 is the input; `owned`: weight arrays passes may change in place. */
export function draftOf(channels: readonly number[], ops: DraftOp[], outputs: ValueRef[], owned: Float32Array[] = []): Draft {
  return { batch: 1, values: channels.map((c) => ({ shape: [1, 2, 2, c] as Nhwc })), ops, input: 0, outputs, owned: new WeakSet(owned) };
}

/** A 1x1 convolution from `input` to `output` (c -> c) with weight w per channel and bias b. */
export function conv(input: ValueRef, output: ValueRef, c: number, w = 1, b = 0): DraftOp {
  const weight = new Float32Array(c * c);
  for (let i = 0; i < c; i++) weight[i * c + i] = w;
  return { kind: 'conv2d', input, output, weight, bias: new Float32Array(c).fill(b), kernel: [1, 1], stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, activation: 'none' };
}

export function relu(input: ValueRef, output: ValueRef): DraftOp {
  return { kind: 'activation', input, output, activation: 'relu' };
}

export function add(a: ValueRef, b: ValueRef, output: ValueRef): DraftOp {
  return { kind: 'add', a, b, output, activation: 'none' };
}

/** A foldable channel affine (as a batch norm lowers), c channels of scale s and shift t. */
export function affine(input: ValueRef, output: ValueRef, c: number, s: number, t: number, into: ('conv2d' | 'linear')[] = ['conv2d']): DraftOp {
  const scale = new Float64Array(c).fill(s);
  const shift = new Float64Array(c).fill(t);
  return { kind: 'channelAffine', input, output, scale: Float32Array.from(scale), shift: Float32Array.from(shift), activation: 'none', fold: { scale, shift, into } };
}
