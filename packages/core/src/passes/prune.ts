// Pass 1: the graph nodes the requested outputs depend on (feature taps skip the head).
import type { Graph } from '../graph.js';
import { ShapeError } from '../errors.js';

export interface Pruned {
  /** node ids the outputs depend on */
  readonly needed: ReadonlySet<number>;
  /** the output node ids, in the order asked */
  readonly outputs: readonly number[];
}

/** Throws a ShapeError for an output name the graph does not have. */
export function pruneGraph(graph: Graph, outputs: readonly string[]): Pruned {
  const outputNodes = outputs.map((name) => {
    const id = graph.outputs.get(name);
    if (id === undefined) {
      throw new ShapeError(`unknown output '${name}'; this network has ${[...graph.outputs.keys()].map((k) => `'${k}'`).join(', ')}`);
    }
    return id;
  });
  return { needed: reachingNodes(graph, outputNodes), outputs: outputNodes };
}

/** The nodes `from` depends on, themselves included. */
export function reachingNodes(graph: Graph, from: readonly number[]): Set<number> {
  const needed = new Set<number>();
  const stack = [...from];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (needed.has(id)) continue;
    needed.add(id);
    stack.push(...graph.nodes[id].inputs);
  }
  return needed;
}
