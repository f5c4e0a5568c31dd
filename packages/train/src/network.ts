// A trainable network built from the same Graph the inference compiler lowers: parameters
// become long-lived Vars (handles), batch-norm buffers plain arrays, and each node an autodiff op.
import { formatShape } from './format.js';
import { ShapeError, WeightsError, buildGraph, type Architecture, type Graph, type GraphNode, type WeightMap, type WeightTensor } from '@cnn/core';
import { Autodiff } from './ops.js';
import { Random } from './random.js';
import { Var } from './tape.js';
import { PassBuffers } from './buffers.js';
import { fastKernels } from './kernels/fast.js';
import type { FloatArray, TrainActivation, TrainKernels } from './kernels/types.js';

const TRAINABLE_ACTIVATIONS = new Set<string>(['relu', 'relu6', 'tanh', 'sigmoid', 'silu']);

/** A trainable tensor by its torchvision key; the optimiser updates `data` in place. */
export class Parameter extends Var {
  constructor(
    readonly key: string,
    data: FloatArray,
    shape: readonly number[],
  ) {
    super(data, shape, [], null, true);
  }
}

export interface TrainableOptions {
  /** seed of PyTorch-style default initialisation; default 1 */
  seed?: number;
  /** 'float64' for gradient checks; default 'float32' */
  precision?: 'float32' | 'float64';
  /** training kernels; default the GEMM-based fast kernels */
  kernels?: TrainKernels;
  /** [c, h, w]; default the architecture's input shape */
  inputShape?: readonly [number, number, number];
}

export interface ForwardOptions {
  /** batch norm uses batch statistics and updates its running statistics; default false */
  training?: boolean;
  /** which named output to return; default 'logits' */
  output?: string;
}

interface BatchNormBuffers {
  readonly runningMean: FloatArray;
  readonly runningVar: FloatArray;
}

export class TrainableNetwork {
  readonly graph: Graph;
  readonly ops: Autodiff;
  private readonly params = new Map<string, Parameter>();
  private readonly buffers = new Map<string, BatchNormBuffers>();
  /** activations and their gradients, reused from one training step to the next */
  private readonly passBuffers = new PassBuffers();
  private readonly alloc: (n: number) => FloatArray;

  private constructor(graph: Graph, options: TrainableOptions) {
    this.graph = graph;
    this.ops = new Autodiff(options.kernels ?? fastKernels);
    this.alloc = options.precision === 'float64' ? (n) => new Float64Array(n) : (n) => new Float32Array(n);
    for (const node of graph.nodes) checkTrainable(node);
    initialise(this, new Random(options.seed ?? 1));
  }

  static fromArchitecture(arch: Architecture, options: TrainableOptions = {}): TrainableNetwork {
    return new TrainableNetwork(buildGraph(arch, options.inputShape ?? arch.inputShape), options);
  }

  static fromGraph(graph: Graph, options: TrainableOptions = {}): TrainableNetwork {
    return new TrainableNetwork(graph, options);
  }

  /** Trainable parameters in declaration order (the order of torchvision's parameters()). */
  parameters(): Parameter[] {
    return [...this.params.values()];
  }

  parameter(key: string): Parameter {
    const p = this.params.get(key);
    if (!p) throw new WeightsError(`no parameter '${key}'; the network has ${[...this.params.keys()].join(', ')}`);
    return p;
  }

  /** Stops gradients for every parameter whose key does not satisfy `trainable` (fine-tuning part of a network). */
  freeze(trainable: (key: string) => boolean): void {
    for (const p of this.params.values()) p.requiresGrad = trainable(p.key);
  }

  zeroGrad(): void {
    for (const p of this.params.values()) p.grad?.fill(0);
  }

  /** Runs the graph on an NCHW batch and returns the requested output as a Var on a fresh tape. */
  forward(input: FloatArray, batch: number, options: ForwardOptions = {}): Var {
    const training = options.training ?? false;
    const want = options.output ?? 'logits';
    const target = this.graph.outputs.get(want);
    if (target === undefined) throw new ShapeError(`no output '${want}'; the network has ${[...this.graph.outputs.keys()].join(', ')}`);
    const inputShape = this.graph.nodes[0].shape;
    const expected = batch * inputShape.reduce((a, b) => a * b, 1);
    if (input.length !== expected) {
      throw new ShapeError(`expected ${expected} values for input ${formatShape([batch, ...inputShape])}, got ${input.length}`);
    }
    this.ops.kernels.startPass?.(training && [...this.params.values()].some((p) => p.requiresGrad));
    const pass = this.passBuffers.begin();
    this.ops.pass = pass;
    try {
      const values: Var[] = [];
      for (const node of this.graph.nodes) {
        values[node.id] = this.evaluate(node, values, input, batch, training);
        if (node.id === target) {
          const out = values[node.id];
          this.passBuffers.end(pass, () => out.grad !== null);
          return out;
        }
      }
    } finally {
      this.ops.pass = null;
    }
    throw new Error(`output '${want}' was not reached`);
  }

  /** Parameters and buffers by torchvision key, float32, ready for loadWeights (@cnn/core) or writeSafetensors. */
  exportWeights(): Map<string, WeightTensor> {
    const out = new Map<string, WeightTensor>();
    for (const spec of this.graph.parameters) {
      out.set(spec.key, { shape: spec.shape, data: Float32Array.from(this.tensorData(spec.key)) });
    }
    return out;
  }

  /**
   * Copies weights in (e.g. Model.getWeights() of a checkpoint); every key must be present with
   * its shape, except those `skip` accepts, which keep their initialisation (a new head).
   */
  loadWeights(weights: WeightMap, options: { skip?: (key: string) => boolean } = {}): this {
    for (const spec of this.graph.parameters) {
      if (options.skip?.(spec.key)) continue;
      const t = weights.get(spec.key);
      if (!t) throw new WeightsError(`missing weight '${spec.key}' ${formatShape(spec.shape)}`);
      if (formatShape(t.shape) !== formatShape(spec.shape)) {
        throw new WeightsError(`'${spec.key}': expected shape ${formatShape(spec.shape)}, got ${formatShape(t.shape)}`);
      }
      this.tensorData(spec.key).set(t.data);
    }
    return this;
  }

  /** @internal used by initialisation */
  addParameter(key: string, shape: readonly number[], fill: (data: FloatArray) => void): void {
    const data = this.alloc(shape.reduce((a, b) => a * b, 1));
    fill(data);
    this.params.set(key, new Parameter(key, data, shape));
  }

  /** @internal used by initialisation */
  addBatchNormBuffers(name: string, channels: number): void {
    const runningVar = this.alloc(channels);
    runningVar.fill(1);
    this.buffers.set(name, { runningMean: this.alloc(channels), runningVar });
  }

  private tensorData(key: string): FloatArray {
    const p = this.params.get(key);
    if (p) return p.data;
    const dot = key.lastIndexOf('.');
    const b = this.buffers.get(key.slice(0, dot));
    const field = key.slice(dot + 1);
    if (b && field === 'running_mean') return b.runningMean;
    if (b && field === 'running_var') return b.runningVar;
    throw new WeightsError(`no parameter or buffer '${key}'`);
  }

  private evaluate(node: GraphNode, values: Var[], input: FloatArray, batch: number, training: boolean): Var {
    const op = node.op;
    const arg = (i: number) => values[node.inputs[i]];
    switch (op.type) {
      case 'input':
        return new Var(input, [batch, ...node.shape], [], null, false);
      case 'conv2d':
        return this.ops.conv2d(arg(0), this.parameter(`${op.name}.weight`), op.bias ? this.parameter(`${op.name}.bias`) : null, op);
      case 'batchNorm2d': {
        const buffers = this.buffers.get(op.name)!;
        return this.ops.batchNorm2d(
          arg(0),
          this.parameter(`${op.name}.weight`),
          this.parameter(`${op.name}.bias`),
          { ...buffers, momentum: 0.1, eps: op.eps },
          training,
        );
      }
      case 'activation':
        return this.ops.activation(arg(0), op.fn as TrainActivation);
      case 'pool2d':
        return this.ops.pool2d(arg(0), op.mode, op);
      case 'adaptiveAvgPool2d':
        return this.ops.adaptiveAvgPool2d(arg(0), op.size);
      case 'add':
        return this.ops.add(arg(0), arg(1));
      case 'flatten':
        return this.ops.flatten(arg(0));
      case 'linear':
        return this.ops.linear(arg(0), this.parameter(`${op.name}.weight`), op.bias ? this.parameter(`${op.name}.bias`) : null);
      default:
        throw new ShapeError(`${node.label}: '${op.type}' cannot be trained yet`);
    }
  }
}

function checkTrainable(node: GraphNode): void {
  const op = node.op;
  const supported = ['input', 'conv2d', 'batchNorm2d', 'activation', 'pool2d', 'adaptiveAvgPool2d', 'add', 'flatten', 'linear'];
  if (!supported.includes(op.type)) throw new ShapeError(`${node.label}: '${op.type}' cannot be trained yet (supported: ${supported.join(', ')})`);
  if (op.type === 'activation' && !TRAINABLE_ACTIVATIONS.has(op.fn)) {
    throw new ShapeError(`${node.label}: activation '${op.fn}' cannot be trained yet (supported: ${[...TRAINABLE_ACTIVATIONS].join(', ')})`);
  }
}

/**
 * PyTorch's default initialisation, drawn from our own seeded generator: conv and linear weights
 * and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform with a = sqrt(5)); batch norm
 * weight 1, bias 0, running mean 0, running variance 1.
 */
function initialise(net: TrainableNetwork, random: Random): void {
  for (const node of net.graph.nodes) {
    const op = node.op;
    if (op.type === 'conv2d' || op.type === 'linear') {
      const fanIn = op.type === 'conv2d' ? (op.inChannels / op.groups) * op.kernel[0] * op.kernel[1] : op.inFeatures;
      const bound = 1 / Math.sqrt(fanIn);
      const wShape = net.graph.parameters.find((p) => p.key === `${op.name}.weight`)!.shape;
      const uniform = (d: FloatArray) => {
        for (let i = 0; i < d.length; i++) d[i] = random.uniform(-bound, bound);
      };
      net.addParameter(`${op.name}.weight`, wShape, uniform);
      if (op.bias) net.addParameter(`${op.name}.bias`, [op.type === 'conv2d' ? op.outChannels : op.outFeatures], uniform);
    } else if (op.type === 'batchNorm2d') {
      net.addParameter(`${op.name}.weight`, [op.channels], (d) => d.fill(1));
      net.addParameter(`${op.name}.bias`, [op.channels], (d) => d.fill(0));
      net.addBatchNormBuffers(op.name, op.channels);
    }
  }
}
