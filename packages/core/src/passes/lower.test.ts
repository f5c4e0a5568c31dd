import { describe, expect, it } from 'vitest';
import { lowerNodes } from './lower.js';
import { pruneGraph } from './prune.js';
import { buildGraph, type Architecture } from '../model.js';
import { generateWeights } from '../weights.js';
import { ShapeError } from '../errors.js';

const net: Architecture = {
  name: 'net',
  inputShape: [2, 4, 4],
  metadata: { parameters: 0 },
  define(b, x) {
    const y = b.batchNorm2d(b.conv2d(x, 'conv', { outChannels: 3, kernelSize: 3, padding: 1 }), 'bn');
    const cat = b.concat([y, x]);
    b.output('logits', b.linear(b.flatten(cat), 'fc', 2));
  },
};

describe('lowerNodes', () => {
  const graph = buildGraph(net, net.inputShape);
  const weights = generateWeights(graph.parameters, 3);
  const draft = lowerNodes(graph, weights, pruneGraph(graph, ['logits']), 2);

  it('lowers one op per node, unfused, over NHWC values of the batch', () => {
    expect(draft.ops.map((o) => o.kind)).toEqual(['conv2d', 'channelAffine', 'copyChannels', 'copyChannels', 'linear']);
    expect(draft.values[draft.input]!.shape).toEqual([2, 4, 4, 2]);
    expect(draft.ops.slice(2, 4).map((o) => (o as { channelOffset: number }).channelOffset)).toEqual([0, 3]);
  });

  it('computes the batch norm factors once, in double precision, for folding or as they are', () => {
    const bn = draft.ops[1] as Extract<(typeof draft.ops)[number], { kind: 'channelAffine' }>;
    const [g, v] = [weights.get('bn.weight')!.data[1], weights.get('bn.running_var')!.data[1]];
    expect(bn.fold!.scale[1]).toBe(g / Math.sqrt(v + 1e-5));
    expect(bn.scale[1]).toBe(Math.fround(bn.fold!.scale[1]));
    expect(bn.fold!.into).toEqual(['conv2d']);
  });

  it('makes flatten an alias of its input and permutes linear columns to NHWC order', () => {
    const fc = draft.ops[4] as Extract<(typeof draft.ops)[number], { kind: 'linear' }>;
    expect(draft.values[fc.input]!.aliasOf).toBe(draft.ops[2].output);
    // torch column c*16 + p  ->  ours p*5 + c (5 channels, 16 pixels)
    expect(fc.weight[7 * 5 + 4]).toBe(weights.get('fc.weight')!.data[4 * 16 + 7]);
  });

  it('permutes an owned linear weight (decoded for this compile alone) in place, to the same columns as the copy', () => {
    const copied = (draft.ops[4] as { weight: Float32Array }).weight;
    expect(copied).not.toBe(weights.get('fc.weight')!.data); // the model's own array stays as it was
    const own = new Map(weights).set('fc.weight', { shape: weights.get('fc.weight')!.shape, data: weights.get('fc.weight')!.data.slice(), fresh: true });
    const mine = own.get('fc.weight')!.data;
    const fc = lowerNodes(graph, own, pruneGraph(graph, ['logits']), 2).ops[4] as { weight: Float32Array };
    expect(fc.weight).toBe(mine);
    expect(Array.from(fc.weight)).toEqual(Array.from(copied));
    expect(Array.from(fc.weight)).not.toEqual(Array.from(weights.get('fc.weight')!.data)); // it did move
  });

  it('reads weights without copying them (folds make new arrays), and says which weight is missing or misshapen', () => {
    expect((draft.ops[0] as { weight: Float32Array }).weight).toBe(weights.get('conv.weight')!.data);
    const missing = new Map(weights);
    missing.delete('bn.running_var');
    expect(() => lowerNodes(graph, missing, pruneGraph(graph, ['logits']), 1)).toThrow(/weight 'bn.running_var' was not loaded/);
    const wrong = new Map(weights).set('bn.weight', { shape: [4], data: new Float32Array(4) });
    expect(() => lowerNodes(graph, wrong, pruneGraph(graph, ['logits']), 1)).toThrow(ShapeError);
  });

  it('lowers fakeQuantize to one op carrying its parameters, on any shape (after flatten too)', () => {
    const fq: Architecture = {
      name: 'fq',
      inputShape: [2, 3, 3],
      metadata: { parameters: 0 },
      define(b, x) {
        const q = b.output('q', b.fakeQuantize(x, 0.05, 3, 0, 255));
        b.output('logits', b.fakeQuantize(b.flatten(q), 0.25, -1, -8, 7));
      },
    };
    const g = buildGraph(fq, fq.inputShape);
    const d = lowerNodes(g, generateWeights(g.parameters, 1), pruneGraph(g, ['q', 'logits']), 1);
    expect(d.ops).toMatchObject([
      { kind: 'fakeQuantize', scale: 0.05, zeroPoint: 3, quantMin: 0, quantMax: 255 },
      { kind: 'fakeQuantize', scale: 0.25, zeroPoint: -1, quantMin: -8, quantMax: 7 },
    ]);
    const second = d.ops[1] as Extract<(typeof d.ops)[number], { kind: 'fakeQuantize' }>;
    expect(d.values[second.input]!.aliasOf).toBe(d.ops[0].output);
  });

  it('refuses fake quantisation parameters torch refuses, when the graph is built', () => {
    const bad = (zeroPoint: number): Architecture => ({ name: 'bad', inputShape: [1, 2, 2], metadata: { parameters: 0 }, define: (b, x) => void b.output('logits', b.fakeQuantize(x, 0.1, zeroPoint, 0, 255)) });
    expect(() => buildGraph(bad(256), [1, 2, 2])).toThrow(ShapeError);
    expect(() => buildGraph(bad(256), [1, 2, 2])).toThrow('fakeQuantize: expected a positive float32 scale and integers quantMin <= zeroPoint <= quantMax, quantMin < quantMax, within +-2^24; got scale 0.1, zeroPoint 256, quantMin 0, quantMax 255');
  });
});
