import { describe, expect, it } from 'vitest';
import { foldChannelAffines } from './fold-affine.js';
import { affine, conv, draftOf, relu } from './fixture.test-helper.js';

describe('foldChannelAffines', () => {
  it('folds a batch norm into the convolution before it: b·s + t now, W·s as factors beside W', () => {
    const layer = conv(0, 1, 2, 3, 1) as { weight: Float32Array; bias: Float32Array };
    const [weight, bias] = [layer.weight, layer.bias];
    const d = draftOf([2, 2, 2], [layer as never, affine(1, 2, 2, 0.5, 4)], [2]);
    foldChannelAffines(d);
    expect(d.ops.map((o) => o.kind)).toEqual(['conv2d']);
    const c = d.ops[0] as Extract<(typeof d.ops)[number], { kind: 'conv2d' }>;
    // the model's own arrays stay as they were: the weights are read as they are, the bias is new
    expect([...weight, ...bias]).toEqual([3, 0, 0, 3, 1, 1]);
    expect(c.weight).toBe(weight);
    expect([...c.foldScale!]).toEqual([0.5, 0.5]);
    expect(c.bias).not.toBe(bias);
    expect([...c.bias]).toEqual([4.5, 4.5]);
    expect(d.outputs).toEqual([1]);
    expect(d.values[2]).toBeUndefined();
  });

  it('folds the bias in place into arrays decoded for this compile alone (draft.owned)', () => {
    const layer = conv(0, 1, 2, 3, 1) as { weight: Float32Array; bias: Float32Array };
    const d = draftOf([2, 2, 2], [layer as never, affine(1, 2, 2, 0.5, 4)], [2], [layer.weight, layer.bias]);
    foldChannelAffines(d);
    const c = d.ops[0] as { weight: Float32Array; bias: Float32Array; foldScale?: Float64Array };
    expect(c.weight).toBe(layer.weight);
    expect(c.bias).toBe(layer.bias);
    expect([...c.weight, ...c.bias]).toEqual([3, 0, 0, 3, 4.5, 4.5]);
    expect([...c.foldScale!]).toEqual([0.5, 0.5]);
  });

  it('folds in double precision and chains a second affine into the same layer (factors multiplied)', () => {
    const layer = conv(0, 1, 1, 1 / 3, 1) as { weight: Float32Array };
    const d = draftOf([1, 1, 1, 1], [layer as never, affine(1, 2, 1, 3, 0.5), affine(2, 3, 1, 0.1, 2, ['conv2d', 'linear'])], [3]);
    foldChannelAffines(d);
    expect(d.ops).toHaveLength(1);
    const c = d.ops[0] as { weight: Float32Array; bias: Float32Array; foldScale?: Float64Array };
    expect(c.weight).toBe(layer.weight);
    expect([...c.foldScale!]).toEqual([3 * 0.1]);
    // the bias folds one affine after the other: (1 * 3 + 0.5) rounded to float32, then * 0.1 + 2
    expect(c.bias[0]).toBe(Math.fround(Math.fround(1 * 3 + 0.5) * 0.1 + 2));
  });

  it('keeps the affine when the convolution result is read elsewhere or asked for', () => {
    const shared = draftOf([2, 2, 2, 2], [conv(0, 1, 2), affine(1, 2, 2, 2, 0), relu(1, 3)], [2, 3]);
    foldChannelAffines(shared);
    expect(shared.ops.map((o) => o.kind)).toEqual(['conv2d', 'channelAffine', 'activation']);
    const pinned = draftOf([2, 2, 2], [conv(0, 1, 2), affine(1, 2, 2, 2, 0)], [1, 2]);
    foldChannelAffines(pinned);
    expect(pinned.ops.map((o) => o.kind)).toEqual(['conv2d', 'channelAffine']);
  });

  it('folds only into the layer kinds the affine allows, and never past an activation', () => {
    const linear = { ...conv(0, 1, 2), kind: 'linear' } as unknown as Parameters<typeof draftOf>[1][number];
    const bn = draftOf([2, 2, 2], [linear, affine(1, 2, 2, 2, 0, ['conv2d'])], [2]);
    foldChannelAffines(bn);
    expect(bn.ops).toHaveLength(2);
    const activated = draftOf([2, 2, 2], [{ ...conv(0, 1, 2), activation: 'relu' } as Parameters<typeof draftOf>[1][number], affine(1, 2, 2, 2, 0)], [2]);
    foldChannelAffines(activated);
    expect(activated.ops).toHaveLength(2);
  });
});
