import { describe, expect, it } from 'vitest';
import { pruneGraph } from './prune.js';
import { buildGraph, type Architecture } from '../model.js';
import { ShapeError } from '../errors.js';

const tapped: Architecture = {
  name: 'tapped',
  inputShape: [2, 4, 4],
  metadata: { parameters: 0 },
  define(b, x) {
    const stem = b.output('stem', b.relu(x));
    b.output('logits', b.linear(b.flatten(stem), 'fc', 3));
  },
};

describe('pruneGraph', () => {
  const graph = buildGraph(tapped, tapped.inputShape);

  it('keeps only the nodes the asked outputs depend on', () => {
    const { needed, outputs } = pruneGraph(graph, ['stem']);
    expect(outputs).toEqual([graph.outputs.get('stem')]);
    expect([...needed].map((id) => graph.nodes[id].op.type).sort()).toEqual(['activation', 'input']);
    expect(pruneGraph(graph, ['logits']).needed.size).toBe(graph.nodes.length);
  });

  it('names the outputs there are when asked for an unknown one', () => {
    expect(() => pruneGraph(graph, ['head'])).toThrow(ShapeError);
    expect(() => pruneGraph(graph, ['head'])).toThrow(/unknown output 'head'; this network has 'stem', 'logits'/);
  });
});
