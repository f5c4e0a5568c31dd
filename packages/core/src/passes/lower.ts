// Pass 2: every needed graph node becomes plan ops over NHWC values, one rule per node type,
// nothing fused yet (the fusion passes that follow do that). Weights are copied into the plan
// here, and batch norm turns into a channel affine whose factors later passes may fold.
import type { Graph, GraphNode, NodeOp, Pair } from '../graph.js';
import type { WeightTensor } from '../weights.js';
import { ShapeError, formatShape } from '../errors.js';
import type { Draft, DraftOp, Nhwc, ValueRef, AffineFold } from './draft.js';
import type { Pruned } from './prune.js';

type NodeOf<T extends NodeOp['type']> = Extract<NodeOp, { type: T }>;
type Rule<T extends NodeOp['type']> = (l: Lowering, node: GraphNode, op: NodeOf<T>) => ValueRef;

/** Builds the draft: values, ops, and the value each graph node became. */
class Lowering {
  readonly draft: Draft;
  private readonly valueOfNode = new Map<number, ValueRef>();
  private readonly specShapes: Map<string, readonly number[]>;

  constructor(
    readonly graph: Graph,
    private readonly weights: ReadonlyMap<string, WeightTensor>,
    batch: number,
  ) {
    this.draft = { batch, values: [], ops: [], input: 0, outputs: [], owned: new WeakSet() };
    this.specShapes = new Map(graph.parameters.map((p) => [p.key, p.shape]));
  }

  nhwc(shape: readonly number[]): Nhwc {
    return shape.length === 3 ? [this.draft.batch, shape[1], shape[2], shape[0]] : [this.draft.batch, 1, 1, shape[0]];
  }

  newValue(node: GraphNode, alias?: Omit<NonNullable<Draft['values'][number]>, 'shape'>): ValueRef {
    this.draft.values.push({ shape: this.nhwc(node.shape), ...alias });
    return this.draft.values.length - 1;
  }

  /** The value of the node's i-th input. */
  input(node: GraphNode, i = 0): ValueRef {
    return this.valueOfNode.get(node.inputs[i])!;
  }

  /** A new value for `node`, written by `op` (given the output's id). */
  emit(node: GraphNode, op: (output: ValueRef) => DraftOp): ValueRef {
    const output = this.newValue(node);
    this.draft.ops.push(op(output));
    return output;
  }

  setValue(node: GraphNode, v: ValueRef): void {
    this.valueOfNode.set(node.id, v);
  }

  valueOf(nodeId: number): ValueRef {
    return this.valueOfNode.get(nodeId)!;
  }

  /**
   * A weight as loaded, its shape checked against the graph's parameter spec: the model's own
   * array (never copied; passes that change weights write new arrays), or one decoded for this
   * compile alone (`fresh`), which passes may change in place (draft.owned).
   */
  weight(key: string): Float32Array {
    const t = this.tensor(key);
    const spec = this.specShapes.get(key);
    if (spec && formatShape(spec) !== formatShape(t.shape)) throw new ShapeError(`weight '${key}' is ${formatShape(t.shape)}; this graph needs ${formatShape(spec)}`);
    const data = t.data;
    if (t.fresh) this.draft.owned.add(data);
    return data;
  }

  /** A zero bias of its own (passes may fold into it in place). */
  zeros(n: number): Float32Array {
    const data = new Float32Array(n);
    this.draft.owned.add(data);
    return data;
  }

  private tensor(key: string): WeightTensor {
    const t = this.weights.get(key);
    if (!t) throw new ShapeError(`weight '${key}' was not loaded`);
    return t;
  }
}

interface ConvGeometry {
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly groups: number;
}

/** A convolution (or nn.Linear over channels, a 1x1 one) with its own weights and bias. */
function convolution(l: Lowering, node: GraphNode, name: string, bias: boolean, outChannels: number, geometry: ConvGeometry): ValueRef {
  const { kernel, stride, padding, dilation, groups } = geometry;
  const input = l.input(node);
  const weight = l.weight(`${name}.weight`);
  const b = bias ? l.weight(`${name}.bias`) : l.zeros(outChannels);
  return l.emit(node, (output) => ({ kind: 'conv2d', name, input, output, weight, bias: b, kernel, stride, padding, dilation, groups, activation: 'none' }));
}

/** y = x * scale + shift per channel, foldable into the producer's weights where `into` allows. */
function affine(l: Lowering, node: GraphNode, scale: Float64Array, shift: Float64Array, into: AffineFold['into']): ValueRef {
  const input = l.input(node);
  const fold = into.length > 0 ? { scale, shift, into } : undefined;
  return l.emit(node, (output) => ({ kind: 'channelAffine', input, output, scale: Float32Array.from(scale), shift: Float32Array.from(shift), activation: 'none', fold }));
}

const RULES: { readonly [T in NodeOp['type']]: Rule<T> } = {
  input: (l, node) => l.newValue(node),
  conv2d: (l, node, op) => convolution(l, node, op.name, op.bias, op.outChannels, op),
  // nn.Linear over channels is a 1x1 convolution: [out, in] is already [out, in, 1, 1].
  pointwiseLinear: (l, node, op) =>
    convolution(l, node, op.name, op.bias, op.outFeatures, { kernel: [1, 1], stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 }),
  batchNorm2d: (l, node, op) => {
    const [gamma, beta, mean, variance] = ['weight', 'bias', 'running_mean', 'running_var'].map((k) => l.weight(`${op.name}.${k}`));
    const scale = new Float64Array(op.channels);
    const shift = new Float64Array(op.channels);
    for (let c = 0; c < op.channels; c++) {
      scale[c] = gamma[c] / Math.sqrt(variance[c] + op.eps);
      shift[c] = beta[c] - mean[c] * scale[c];
    }
    return affine(l, node, scale, shift, ['conv2d']);
  },
  layerScale: (l, node, op) => affine(l, node, Float64Array.from(l.weight(op.key)), new Float64Array(op.channels), ['conv2d', 'linear']),
  channelAffine: (l, node, op) => affine(l, node, Float64Array.from(op.scale), Float64Array.from(op.shift), []),
  activation: (l, node, op) => {
    const input = l.input(node);
    return l.emit(node, (output) => ({ kind: 'activation', input, output, activation: op.fn }));
  },
  pool2d: (l, node, op) => {
    const { mode, kernel, stride, padding, countIncludePad } = op;
    const input = l.input(node);
    return l.emit(node, (output) => ({ kind: 'pool2d', mode, input, output, kernel, stride, padding, countIncludePad, activation: 'none' }));
  },
  adaptiveAvgPool2d: (l, node) => {
    const input = l.input(node);
    return l.emit(node, (output) => ({ kind: 'adaptiveAvgPool2d', input, output }));
  },
  add: (l, node) => {
    const [a, b] = [l.input(node, 0), l.input(node, 1)];
    return l.emit(node, (output) => ({ kind: 'add', a, b, output, activation: 'none' }));
  },
  concat: (l, node) => {
    const output = l.newValue(node);
    let channelOffset = 0;
    for (let i = 0; i < node.inputs.length; i++) {
      const input = l.input(node, i);
      l.draft.ops.push({ kind: 'copyChannels', input, output, channelOffset });
      channelOffset += l.draft.values[input]!.shape[3];
    }
    return output;
  },
  flatten: (l, node) => {
    const from = l.graph.nodes[node.inputs[0]].shape;
    return l.newValue(node, { aliasOf: l.input(node), flattenedFrom: from.length === 3 ? (from as unknown as [number, number, number]) : undefined });
  },
  layerNorm2d: (l, node, op) => {
    const [input, weight, bias] = [l.input(node), l.weight(`${op.name}.weight`), l.weight(`${op.name}.bias`)];
    return l.emit(node, (output) => ({ kind: 'layerNorm', input, output, weight, bias, eps: op.eps, activation: 'none' }));
  },
  scaleChannels: (l, node) => {
    const [input, scale] = [l.input(node, 0), l.input(node, 1)];
    return l.emit(node, (output) => ({ kind: 'scaleChannels', input, scale, output }));
  },
  localResponseNorm: (l, node, op) => {
    const { size, alpha, beta, k } = op;
    const input = l.input(node);
    return l.emit(node, (output) => ({ kind: 'localResponseNorm', input, output, size, alpha, beta, k }));
  },
  fakeQuantize: (l, node, { type, ...params }) => {
    const input = l.input(node);
    return l.emit(node, (output) => ({ kind: type, input, output, ...params }));
  },
  linear: (l, node, op) => {
    const input = l.input(node);
    const from = l.draft.values[input]!.flattenedFrom;
    const key = `${op.name}.weight`;
    // an owned array (decoded for this compile alone) is permuted in place, row by row, else copied
    const loaded = l.weight(key);
    const weight = from && from[1] * from[2] > 1 ? permuteColumnsToChannelsLast(loaded, op.outFeatures, from, l.draft.owned.has(loaded)) : loaded;
    const bias = op.bias ? l.weight(`${op.name}.bias`) : l.zeros(op.outFeatures);
    return l.emit(node, (output) => ({ kind: 'linear', name: op.name, input, output, weight, bias, activation: 'none' }));
  },
};

/** The draft of the pruned graph: one op per node (a concat: one copy per input), unfused. */
export function lowerNodes(graph: Graph, weights: ReadonlyMap<string, WeightTensor>, pruned: Pruned, batch: number): Draft {
  const l = new Lowering(graph, weights, batch);
  for (const node of graph.nodes) {
    if (!pruned.needed.has(node.id)) continue;
    l.setValue(node, (RULES[node.op.type] as Rule<NodeOp['type']>)(l, node, node.op));
  }
  return { ...l.draft, input: l.valueOf(graph.nodes[0].id), outputs: pruned.outputs.map((id) => l.valueOf(id)) };
}

/**
 * torch.flatten gives c·h·w order; our activations are h·w·c, so linear columns move once here:
 * into a new array, or with `inPlace` within `w` itself through one row of scratch (AlexNet's fc6
 * is 151 MB: a copy of it is most of AlexNet's first compile).
 */
export function permuteColumnsToChannelsLast(w: Float32Array, outFeatures: number, [c, h, wd]: readonly [number, number, number], inPlace = false): Float32Array {
  const [hw, inF] = [h * wd, c * h * wd];
  const out = inPlace ? w : new Float32Array(w.length);
  const rowCopy = inPlace ? new Float32Array(inF) : undefined;
  for (let row = 0; row < outFeatures * inF; row += inF) {
    // the row's torch-ordered values: a copy of it when it is about to be overwritten
    const src = rowCopy ? (rowCopy.set(w.subarray(row, row + inF)), rowCopy) : w.subarray(row, row + inF);
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0, from = ch * hw, to = row + ch; p < hw; p++, to += c) out[to] = src[from + p];
    }
  }
  return out;
}
