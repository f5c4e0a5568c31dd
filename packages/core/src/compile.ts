// Lowering a graph with weights into an ExecutionPlan: batch norm folded into convolutions,
// activations and residual additions fused into the producing kernel, NHWC layout, and an
// activation arena planned by liveness so buffers are reused.
import type { Graph, GraphNode } from './graph.js';
import type { Activation, ExecutionPlan, PlanOp, Slot } from './plan.js';
import type { WeightTensor } from './weights.js';
import { ShapeError, formatShape } from './errors.js';
import { LIMITS, formatBytes } from './limits.js';

export interface LowerOptions {
  batch: number;
  /** names from graph.outputs, in the order the runner returns them */
  outputs: readonly string[];
}

interface Value {
  readonly id: number;
  readonly shape: [number, number, number, number];
  readonly buffer: number;
  /** set on flatten aliases: the [c, h, w] shape the features came from */
  readonly flattenedFrom?: readonly [number, number, number];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
/** Ops during lowering reference values by id; slots are attached after planning. */
type ValueRef = number;
type LOp =
  | (Omit<Mutable<Extract<PlanOp, { kind: 'conv2d' }>>, 'input' | 'output' | 'residual'> & { input: ValueRef; output: ValueRef; residual?: ValueRef })
  | (Omit<Mutable<Extract<PlanOp, { kind: 'linear' }>>, 'input' | 'output' | 'residual'> & { input: ValueRef; output: ValueRef; residual?: ValueRef })
  | (Omit<Mutable<Extract<PlanOp, { kind: 'pool2d' }>>, 'input' | 'output'> & { input: ValueRef; output: ValueRef })
  | (Omit<Mutable<Extract<PlanOp, { kind: 'adaptiveAvgPool2d' }>>, 'input' | 'output'> & { input: ValueRef; output: ValueRef })
  | (Omit<Mutable<Extract<PlanOp, { kind: 'add' }>>, 'a' | 'b' | 'output'> & { a: ValueRef; b: ValueRef; output: ValueRef })
  | (Omit<Mutable<Extract<PlanOp, { kind: 'channelAffine' }>>, 'input' | 'output'> & { input: ValueRef; output: ValueRef })
  | (Omit<Mutable<Extract<PlanOp, { kind: 'activation' }>>, 'input' | 'output'> & { input: ValueRef; output: ValueRef })
  | (Omit<Mutable<Extract<PlanOp, { kind: 'copyChannels' }>>, 'input' | 'output'> & { input: ValueRef; output: ValueRef })
  | (Omit<Mutable<Extract<PlanOp, { kind: 'scaleChannels' }>>, 'input' | 'scale' | 'output'> & { input: ValueRef; scale: ValueRef; output: ValueRef })
  | (Omit<Mutable<Extract<PlanOp, { kind: 'layerNorm' }>>, 'input' | 'output'> & { input: ValueRef; output: ValueRef })
  | (Omit<Mutable<Extract<PlanOp, { kind: 'localResponseNorm' }>>, 'input' | 'output'> & { input: ValueRef; output: ValueRef });

/** Arena offsets are aligned to this many floats (64 bytes) for vector loads. */
const ALIGN = 16;

export function lowerGraph(graph: Graph, weights: ReadonlyMap<string, WeightTensor>, options: LowerOptions): ExecutionPlan {
  const { batch } = options;
  const outputNodes = options.outputs.map((name) => {
    const id = graph.outputs.get(name);
    if (id === undefined) {
      throw new ShapeError(`unknown output '${name}'; this network has ${[...graph.outputs.keys()].map((k) => `'${k}'`).join(', ')}`);
    }
    return id;
  });

  // Only the nodes the requested outputs depend on (feature taps skip the head).
  const needed = new Set<number>();
  const stack = [...outputNodes];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (needed.has(id)) continue;
    needed.add(id);
    stack.push(...graph.nodes[id].inputs);
  }
  const consumers = new Map<number, number>();
  for (const node of graph.nodes) {
    if (!needed.has(node.id)) continue;
    for (const i of node.inputs) consumers.set(i, (consumers.get(i) ?? 0) + 1);
  }
  const pinned = new Set(outputNodes);
  /** a node's value may be absorbed into its single consumer's kernel */
  const fusable = (nodeId: number) => consumers.get(nodeId) === 1 && !pinned.has(nodeId);

  const values: Value[] = [];
  let buffers = 0;
  const newValue = (shape: [number, number, number, number], alias?: Value, flattenedFrom?: readonly [number, number, number]): Value => {
    const v: Value = { id: values.length, shape, buffer: alias ? alias.buffer : buffers++, flattenedFrom };
    values.push(v);
    return v;
  };
  const nhwc = (shape: readonly number[]): [number, number, number, number] =>
    shape.length === 3 ? [batch, shape[1], shape[2], shape[0]] : [batch, 1, 1, shape[0]];

  const ops: LOp[] = [];
  const valueOfNode = new Map<number, Value>();
  const producer = new Map<number, number>(); // value id -> op index
  const specShapes = new Map(graph.parameters.map((p) => [p.key, p.shape]));
  const weight = (key: string) => {
    const t = weights.get(key);
    if (!t) throw new ShapeError(`weight '${key}' was not loaded`);
    const spec = specShapes.get(key);
    if (spec && formatShape(spec) !== formatShape(t.shape)) throw new ShapeError(`weight '${key}' is ${formatShape(t.shape)}; this graph needs ${formatShape(spec)}`);
    return t.data;
  };
  // the plan owns (and folds into) its weights: copy them, unless decoding made a fresh array
  // for this call anyway (weights read from disk or converted from f16/int8), which saves a
  // whole copy of the weights at the peak of loading
  const owned = (key: string) => {
    const t = weights.get(key);
    if (!t) throw new ShapeError(`weight '${key}' was not loaded`);
    return t.fresh ? t.data : Float32Array.from(t.data);
  };
  const emit = (op: LOp) => {
    ops.push(op);
    producer.set(op.output, ops.length - 1);
  };
  const inputValue = (node: GraphNode, i = 0) => valueOfNode.get(node.inputs[i])!;
  const producerOp = (v: Value) => {
    const index = producer.get(v.id);
    // flatten aliases share a producer but not its output value: never fuse through them
    return index === undefined || ops[index].output !== v.id ? undefined : ops[index];
  };

  for (const node of graph.nodes) {
    if (!needed.has(node.id)) continue;
    const op = node.op;
    switch (op.type) {
      case 'input': {
        valueOfNode.set(node.id, newValue(nhwc(node.shape)));
        break;
      }
      case 'conv2d': {
        const out = newValue(nhwc(node.shape));
        emit({
          kind: 'conv2d',
          input: inputValue(node).id,
          output: out.id,
          weight: owned(`${op.name}.weight`),
          bias: op.bias ? owned(`${op.name}.bias`) : new Float32Array(op.outChannels),
          kernel: op.kernel,
          stride: op.stride,
          padding: op.padding,
          dilation: op.dilation,
          groups: op.groups,
          activation: 'none',
        });
        valueOfNode.set(node.id, out);
        break;
      }
      case 'batchNorm2d': {
        const x = inputValue(node);
        const gamma = weight(`${op.name}.weight`);
        const beta = weight(`${op.name}.bias`);
        const mean = weight(`${op.name}.running_mean`);
        const variance = weight(`${op.name}.running_var`);
        const scale = new Float32Array(op.channels);
        const shift = new Float32Array(op.channels);
        for (let c = 0; c < op.channels; c++) {
          const s = gamma[c] / Math.sqrt(variance[c] + op.eps);
          scale[c] = s;
          shift[c] = beta[c] - mean[c] * s;
        }
        const p = producerOp(x);
        if (p && p.kind === 'conv2d' && p.activation === 'none' && p.residual === undefined && fusable(node.inputs[0])) {
          // Fold: W' = W * s (per output channel), b' = b * s + (beta - mean * s), in double precision.
          const per = p.weight.length / op.channels;
          for (let c = 0; c < op.channels; c++) {
            const s = gamma[c] / Math.sqrt(variance[c] + op.eps);
            for (let i = 0; i < per; i++) p.weight[c * per + i] = p.weight[c * per + i] * s;
            p.bias[c] = p.bias[c] * s + (beta[c] - mean[c] * s);
          }
          valueOfNode.set(node.id, x);
        } else {
          const out = newValue(nhwc(node.shape));
          emit({ kind: 'channelAffine', input: x.id, output: out.id, scale, shift, activation: 'none' });
          valueOfNode.set(node.id, out);
        }
        break;
      }
      case 'activation': {
        const x = inputValue(node);
        const p = producerOp(x);
        if (p && 'activation' in p && p.kind !== 'activation' && p.activation === 'none' && fusable(node.inputs[0])) {
          p.activation = op.fn;
          valueOfNode.set(node.id, x);
        } else {
          const out = newValue(nhwc(node.shape));
          emit({ kind: 'activation', input: x.id, output: out.id, activation: op.fn });
          valueOfNode.set(node.id, out);
        }
        break;
      }
      case 'pool2d': {
        const out = newValue(nhwc(node.shape));
        emit({
          kind: 'pool2d',
          mode: op.mode,
          input: inputValue(node).id,
          output: out.id,
          kernel: op.kernel,
          stride: op.stride,
          padding: op.padding,
          countIncludePad: op.countIncludePad,
          activation: 'none',
        });
        valueOfNode.set(node.id, out);
        break;
      }
      case 'adaptiveAvgPool2d': {
        const out = newValue(nhwc(node.shape));
        emit({ kind: 'adaptiveAvgPool2d', input: inputValue(node).id, output: out.id });
        valueOfNode.set(node.id, out);
        break;
      }
      case 'add': {
        const a = inputValue(node, 0);
        const b = inputValue(node, 1);
        const ia = producer.get(a.id) ?? -1;
        const ib = producer.get(b.id) ?? -1;
        // Fuse into whichever operand is produced last: the other one is ready by then.
        const [later, other, laterNode] = ia > ib ? [a, b, node.inputs[0]] : [b, a, node.inputs[1]];
        const p = producerOp(later);
        if (p && (p.kind === 'conv2d' || p.kind === 'linear') && p.residual === undefined && p.activation === 'none' && fusable(laterNode) && a.id !== b.id) {
          p.residual = other.id;
          valueOfNode.set(node.id, later);
        } else {
          const out = newValue(nhwc(node.shape));
          emit({ kind: 'add', a: a.id, b: b.id, output: out.id, activation: 'none' });
          valueOfNode.set(node.id, out);
        }
        break;
      }
      case 'concat': {
        const out = newValue(nhwc(node.shape));
        let offset = 0;
        for (let i = 0; i < node.inputs.length; i++) {
          const x = inputValue(node, i);
          ops.push({ kind: 'copyChannels', input: x.id, output: out.id, channelOffset: offset });
          if (i === 0) producer.set(out.id, ops.length - 1);
          offset += x.shape[3];
        }
        valueOfNode.set(node.id, out);
        break;
      }
      case 'flatten': {
        const x = inputValue(node);
        const from = graph.nodes[node.inputs[0]].shape;
        const out = newValue(nhwc(node.shape), x, from.length === 3 ? (from as unknown as [number, number, number]) : undefined);
        if (producer.has(x.id)) producer.set(out.id, producer.get(x.id)!);
        valueOfNode.set(node.id, out);
        break;
      }
      case 'pointwiseLinear': {
        // nn.Linear over channels is a 1x1 convolution: [out, in] is already [out, in, 1, 1].
        const out = newValue(nhwc(node.shape));
        emit({
          kind: 'conv2d',
          input: inputValue(node).id,
          output: out.id,
          weight: owned(`${op.name}.weight`),
          bias: op.bias ? owned(`${op.name}.bias`) : new Float32Array(op.outFeatures),
          kernel: [1, 1],
          stride: [1, 1],
          padding: [0, 0],
          dilation: [1, 1],
          groups: 1,
          activation: 'none',
        });
        valueOfNode.set(node.id, out);
        break;
      }
      case 'layerNorm2d': {
        const out = newValue(nhwc(node.shape));
        emit({
          kind: 'layerNorm',
          input: inputValue(node).id,
          output: out.id,
          weight: owned(`${op.name}.weight`),
          bias: owned(`${op.name}.bias`),
          eps: op.eps,
          activation: 'none',
        });
        valueOfNode.set(node.id, out);
        break;
      }
      case 'layerScale': {
        const x = inputValue(node);
        const gamma = weight(op.key);
        const p = producerOp(x);
        if (p && (p.kind === 'conv2d' || p.kind === 'linear') && p.activation === 'none' && p.residual === undefined && fusable(node.inputs[0])) {
          // Fold the scale into the producing layer's rows: (Wx + b)·g = (gW)x + gb.
          const per = p.weight.length / op.channels;
          for (let c = 0; c < op.channels; c++) {
            for (let i = 0; i < per; i++) p.weight[c * per + i] *= gamma[c];
            p.bias[c] *= gamma[c];
          }
          valueOfNode.set(node.id, x);
        } else {
          const out = newValue(nhwc(node.shape));
          emit({ kind: 'channelAffine', input: x.id, output: out.id, scale: Float32Array.from(gamma), shift: new Float32Array(op.channels), activation: 'none' });
          valueOfNode.set(node.id, out);
        }
        break;
      }
      case 'scaleChannels': {
        const out = newValue(nhwc(node.shape));
        emit({ kind: 'scaleChannels', input: inputValue(node, 0).id, scale: inputValue(node, 1).id, output: out.id });
        valueOfNode.set(node.id, out);
        break;
      }
      case 'channelAffine': {
        const out = newValue(nhwc(node.shape));
        emit({ kind: 'channelAffine', input: inputValue(node).id, output: out.id, scale: Float32Array.from(op.scale), shift: Float32Array.from(op.shift), activation: 'none' });
        valueOfNode.set(node.id, out);
        break;
      }
      case 'localResponseNorm': {
        const out = newValue(nhwc(node.shape));
        emit({ kind: 'localResponseNorm', input: inputValue(node).id, output: out.id, size: op.size, alpha: op.alpha, beta: op.beta, k: op.k });
        valueOfNode.set(node.id, out);
        break;
      }
      case 'linear': {
        const x = inputValue(node);
        const out = newValue(nhwc(node.shape));
        let w: Float32Array = owned(`${op.name}.weight`);
        const from = x.flattenedFrom;
        if (from && from[1] * from[2] > 1) w = permuteColumnsToChannelsLast(w, op.outFeatures, from);
        emit({
          kind: 'linear',
          input: x.id,
          output: out.id,
          weight: w,
          bias: op.bias ? owned(`${op.name}.bias`) : new Float32Array(op.outFeatures),
          activation: 'none',
        });
        valueOfNode.set(node.id, out);
        break;
      }
    }
  }

  // Liveness per buffer: from its first write to its last read (outputs live to the end).
  const start = new Array<number>(buffers).fill(Infinity);
  const end = new Array<number>(buffers).fill(-Infinity);
  const inputVal = valueOfNode.get(graph.nodes[0].id)!;
  start[inputVal.buffer] = -1;
  end[inputVal.buffer] = -1;
  const touch = (ref: ValueRef, i: number) => {
    const b = values[ref].buffer;
    start[b] = Math.min(start[b], i);
    end[b] = Math.max(end[b], i);
  };
  ops.forEach((op, i) => {
    for (const ref of opValueRefs(op)) touch(ref, i);
  });
  const outputValues = outputNodes.map((id) => valueOfNode.get(id)!);
  for (const v of outputValues) end[v.buffer] = Infinity;
  const bufferSize = new Array<number>(buffers).fill(0);
  for (const v of values) bufferSize[v.buffer] = Math.max(bufferSize[v.buffer], v.shape.reduce((a, b) => a * b, 1));

  const offsets = planArena(bufferSize, start, end);
  let arenaSize = 0;
  for (let b = 0; b < buffers; b++) if (start[b] !== Infinity) arenaSize = Math.max(arenaSize, offsets[b] + bufferSize[b]);
  if (arenaSize * 4 > LIMITS.arenaBytes) {
    throw new ShapeError(
      `the activation arena would take ${formatBytes(arenaSize * 4)}, over the limit of ${formatBytes(LIMITS.arenaBytes)} (LIMITS.arenaBytes); use a smaller inputSize or batch`,
      { code: 'limit' },
    );
  }

  const slots = values.map(
    (v): Slot => ({ id: v.id, shape: v.shape, offset: offsets[v.buffer], size: v.shape.reduce((a, b) => a * b, 1) }),
  );
  const planOps = ops.map((op): PlanOp => attachSlots(op, slots));
  return { batch, input: slots[inputVal.id], outputs: outputValues.map((v) => slots[v.id]), ops: planOps, arenaSize };
}

function opValueRefs(op: LOp): ValueRef[] {
  switch (op.kind) {
    case 'add':
      return [op.a, op.b, op.output];
    case 'scaleChannels':
      return [op.input, op.scale, op.output];
    case 'conv2d':
    case 'linear':
      return op.residual === undefined ? [op.input, op.output] : [op.input, op.residual, op.output];
    default:
      return [op.input, op.output];
  }
}

function attachSlots(op: LOp, slots: Slot[]): PlanOp {
  switch (op.kind) {
    case 'add':
      return { ...op, a: slots[op.a], b: slots[op.b], output: slots[op.output] };
    case 'scaleChannels':
      return { ...op, input: slots[op.input], scale: slots[op.scale], output: slots[op.output] };
    case 'conv2d':
    case 'linear': {
      const { residual, ...rest } = op;
      return residual === undefined
        ? { ...rest, input: slots[op.input], output: slots[op.output] }
        : { ...rest, input: slots[op.input], output: slots[op.output], residual: slots[residual] };
    }
    default:
      return { ...op, input: slots[op.input], output: slots[op.output] } as PlanOp;
  }
}

/**
 * Greedy by size: the largest buffers are placed first, each at the lowest aligned offset
 * that does not collide with an already placed buffer whose lifetime overlaps.
 */
export function planArena(size: readonly number[], start: readonly number[], end: readonly number[]): number[] {
  const order = size.map((_, i) => i).filter((i) => start[i] !== Infinity).sort((a, b) => size[b] - size[a] || start[a] - start[b]);
  const offsets = new Array<number>(size.length).fill(0);
  const placed: number[] = [];
  for (const b of order) {
    const conflicts = placed
      .filter((p) => start[p] <= end[b] && start[b] <= end[p])
      .map((p) => [offsets[p], offsets[p] + size[p]] as const)
      .sort((x, y) => x[0] - y[0]);
    let offset = 0;
    for (const [lo, hi] of conflicts) {
      if (offset + size[b] <= lo) break;
      offset = Math.max(offset, Math.ceil(hi / ALIGN) * ALIGN);
    }
    offsets[b] = offset;
    placed.push(b);
  }
  return offsets;
}

/** torch.flatten gives c·h·w order; our activations are h·w·c, so linear columns move once here. */
function permuteColumnsToChannelsLast(w: Float32Array, outFeatures: number, [c, h, wd]: readonly [number, number, number]): Float32Array {
  const inF = c * h * wd;
  const out = new Float32Array(w.length);
  for (let o = 0; o < outFeatures; o++) {
    const row = o * inF;
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < h * wd; p++) out[row + p * c + ch] = w[row + ch * h * wd + p];
    }
  }
  return out;
}

export type { Activation };
