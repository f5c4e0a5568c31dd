import { describe, expect, it } from 'vitest';
import { viewConcatInputs } from './channel-views.js';
import { bufferLiveness } from './liveness.js';
import { placeBuffers } from './arena.js';
import { emitPlan } from './emit.js';
import { add, affine, draftOf } from './fixture.test-helper.js';
import type { DraftOp, ValueRef } from './draft.js';
import { pixelStride, slotSpan, type ChannelAffineOp } from '../plan.js';
import { validatePlan } from '../validate-plan.js';

/** A 1x1 convolution from inC to outC channels. */
function conv(input: ValueRef, output: ValueRef, inC: number, outC: number, extra: Partial<Extract<DraftOp, { kind: 'conv2d' }>> = {}): DraftOp {
  return {
    kind: 'conv2d', input, output, weight: new Float32Array(inC * outC), bias: new Float32Array(outC),
    kernel: [1, 1], stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, activation: 'none', ...extra,
  };
}
const copy = (input: ValueRef, output: ValueRef, channelOffset: number): DraftOp => ({ kind: 'copyChannels', input, output, channelOffset });

/**
 * A two-layer dense block as DenseNet lowers it: x0 (1), layer 1 reads x0 and makes f1 (3),
 * layer 2 reads cat(x0, f1) (4) and makes f2 (6), and the block's output is cat(x0, f1, f2) (7).
 */
function denseBlock() {
  const ops = [
    conv(0, 1, 2, 2),
    affine(1, 2, 2, 1, 0), conv(2, 3, 2, 2),
    copy(1, 4, 0), copy(3, 4, 2),
    affine(4, 5, 4, 1, 0), conv(5, 6, 4, 2),
    copy(1, 7, 0), copy(3, 7, 2), copy(6, 7, 4),
    affine(7, 8, 6, 1, 0),
  ];
  return draftOf([2, 2, 2, 2, 4, 4, 2, 6, 6], ops, [8]);
}

describe('viewConcatInputs', () => {
  it("makes a dense block's features and every layer's input views of the block's output: no copies", () => {
    const d = denseBlock();
    viewConcatInputs(d);
    expect(d.ops.some((op) => op.kind === 'copyChannels')).toBe(false);
    expect(d.ops).toHaveLength(6);
    expect([1, 3, 6, 4].map((v) => d.values[v]!.viewOf)).toEqual([
      { base: 7, channelOffset: 0 },
      { base: 7, channelOffset: 2 },
      { base: 7, channelOffset: 4 },
      { base: 7, channelOffset: 0 },
    ]);
  });

  it('gives views their base buffer, which stays live from the first view written to the last read', () => {
    const d = denseBlock();
    viewConcatInputs(d);
    const b = bufferLiveness(d);
    const block = b.bufferOf[7];
    expect([1, 3, 4, 6].map((v) => b.bufferOf[v])).toEqual([block, block, block, block]);
    expect([b.start[block], b.end[block], b.size[block]]).toEqual([0, 5, 24]);
  });

  it('emits view slots at their channel offset with the base attached, and the plan validates', () => {
    const d = denseBlock();
    viewConcatInputs(d);
    const buffers = bufferLiveness(d);
    const plan = emitPlan(d, buffers, placeBuffers(buffers));
    validatePlan(plan);
    const f2 = plan.ops[4].output;
    const inputOf = (i: number) => (plan.ops[i] as ChannelAffineOp).input;
    expect(f2.base).toBe(inputOf(5));
    expect(f2.offset - f2.base!.offset).toBe(4);
    expect([pixelStride(f2), slotSpan(f2)]).toEqual([6, 3 * 6 + 2]);
    expect(inputOf(3).base).toBe(f2.base);
  });

  it('keeps the copy where a reader cannot take a view, or the value is an output', () => {
    // value 1 is also read by an add (no views there); value 2 is a requested output
    const d = draftOf([2, 2, 2, 4, 2], [conv(0, 1, 2, 2), conv(0, 2, 2, 2), copy(1, 3, 0), copy(2, 3, 2), add(1, 1, 4)], [3, 4, 2]);
    viewConcatInputs(d);
    expect(d.ops.filter((op) => op.kind === 'copyChannels')).toHaveLength(2);
    expect(d.values[1]!.viewOf).toBeUndefined();
    expect(d.values[2]!.viewOf).toBeUndefined();
  });

  it('keeps the copy where the producer cannot write a view (a fused residual, a grouped conv)', () => {
    const d = draftOf([2, 2, 2, 4], [conv(0, 1, 2, 2, { residual: 0 }), conv(0, 2, 2, 2, { groups: 2 }), copy(1, 3, 0), copy(2, 3, 2)], [3]);
    viewConcatInputs(d);
    expect(d.ops.filter((op) => op.kind === 'copyChannels')).toHaveLength(2);
  });

  it('places a nested concat inside the outer one (Inception v3 E blocks)', () => {
    // inner = cat(2, 3) at channels [2, 6) of outer = cat(1, inner)
    const ops = [conv(0, 1, 2, 2), conv(0, 2, 2, 2), conv(0, 3, 2, 2), copy(2, 4, 0), copy(3, 4, 2), copy(1, 5, 0), copy(4, 5, 2)];
    const d = draftOf([2, 2, 2, 2, 4, 6], ops, [5]);
    viewConcatInputs(d);
    expect(d.ops.map((op) => op.kind)).toEqual(['conv2d', 'conv2d', 'conv2d']);
    expect([1, 4, 2, 3].map((v) => d.values[v]!.viewOf?.channelOffset)).toEqual([0, 2, 2, 4]);
  });

  it('copies a value that two concats want at different places once, reading it as a view', () => {
    // value 1 is the first channels of concat 3 and the last of concat 4
    const ops = [conv(0, 1, 2, 2), conv(0, 2, 2, 2), copy(1, 3, 0), copy(2, 3, 2), copy(2, 4, 0), copy(1, 4, 2)];
    const d = draftOf([2, 2, 2, 4, 4], ops, [3, 4]);
    viewConcatInputs(d);
    const copies = d.ops.filter((op) => op.kind === 'copyChannels');
    expect(copies).toEqual([copy(2, 4, 0), copy(1, 4, 2)]);
    expect(d.values[1]!.viewOf).toEqual({ base: 3, channelOffset: 0 });
  });
});
