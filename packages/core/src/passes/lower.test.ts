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

  it('copies weights it may fold into, and says which weight is missing or misshapen', () => {
    expect((draft.ops[0] as { weight: Float32Array }).weight).not.toBe(weights.get('conv.weight')!.data);
    const missing = new Map(weights);
    missing.delete('bn.running_var');
    expect(() => lowerNodes(graph, missing, pruneGraph(graph, ['logits']), 1)).toThrow(/weight 'bn.running_var' was not loaded/);
    const wrong = new Map(weights).set('bn.weight', { shape: [4], data: new Float32Array(4) });
    expect(() => lowerNodes(graph, wrong, pruneGraph(graph, ['logits']), 1)).toThrow(ShapeError);
  });
});
