// The user-facing pieces: an Architecture (a pure description), a Model (architecture plus
// validated weights) and a Runner (a model compiled for one backend, batch and input size).
import type { Graph, GraphBuilder, Value } from './graph.js';
import { GraphBuilder as Builder } from './graph.js';
import type { Backend, Executable, ExecutionPlan, Slot } from './plan.js';
import type { WeightMap, WeightsFormat } from './weights.js';
import { generateWeights } from './weights.js';
import { lowerGraph, type LowerOptions, type PlanPass } from './compile.js';
import type { QuantizedModel } from './quantize/plan.js';
import { assertBackend, compilePlan } from './scratch.js';
import { reachingNodes } from './passes/prune.js';
import { ShapeError, WeightsError, formatShape } from './errors.js';
import { LIMITS, formatBytes } from './limits.js';
import { Tensor, nchwToNhwc, nhwcToNchw } from './tensor.js';

/** What torchvision's weights enums carry: how to preprocess, and what the weights score. */
export interface Preprocessing {
  readonly resizeSize: number;
  readonly cropSize: number;
  readonly interpolation: 'bilinear' | 'bicubic' | 'nearest';
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

export interface ModelMetadata {
  /** torchvision's weights enum entry these numbers describe, e.g. ResNet50_Weights.IMAGENET1K_V1 */
  readonly weights?: string;
  readonly preprocessing?: Preprocessing;
  readonly top1?: number;
  readonly top5?: number;
  readonly parameters: number;
  /** torchvision's "GFLOPS" figure (it counts multiply-adds) */
  readonly gflops?: number;
  readonly paper?: string;
}

export interface Architecture {
  /** torchvision's builder name, e.g. 'resnet50' */
  readonly name: string;
  /** [c, h, w] the network was designed for */
  readonly inputShape: readonly [number, number, number];
  readonly metadata: ModelMetadata;
  /** adds the network's layers after `input`; must declare a 'logits' output */
  define(b: GraphBuilder, input: Value): void;
  /**
   * Plan rewrites this network's plans take after the standard fusions. A network that
   * concatenates lists `viewConcatInputs` (from @cnn/core) so its concatenated maps are channel
   * views of one buffer, not copies; it is a pass of its own so that apps of other networks do
   * not bundle it.
   */
  readonly planPasses?: readonly PlanPass[];
}

export function buildGraph(arch: Architecture, inputShape: readonly [number, number, number] = arch.inputShape): Graph {
  const b = new Builder();
  arch.define(b, b.input(inputShape));
  return b.build();
}

export interface CompileOptions {
  /** images per run; default 1 */
  batch?: number;
  /** [h, w]; default the architecture's native size */
  inputSize?: readonly [number, number];
  /** named outputs to return ('logits' and/or feature taps); default ['logits'] */
  outputs?: readonly string[];
}

/** Graph, weights and options to a plan: lowerGraph's signature, which Model.lowering replaces. */
export type PlanLowering = ((graph: Graph, weights: WeightMap, options: LowerOptions) => ExecutionPlan) & {
  /** set on int8 lowerings (useInt8): the parameters they plan with */
  readonly int8?: QuantizedModel;
};

export interface ModelOptions {
  /**
   * The family's other variants (built only when a weights file does not fit, to say which
   * variant it was made for, e.g. a resnet34 file loaded into resnet18).
   */
  siblings?: () => Iterable<Architecture>;
}

export class Model {
  readonly architecture: Architecture;
  private readonly graph: Graph;
  private weights: WeightMap | undefined;
  private readonly siblings: (() => Iterable<Architecture>) | undefined;
  /** set when weights were released after a compile; the message says why they are gone */
  private released: string | undefined;
  private keepWeights = true;
  /** where the loaded weights came from, and what was unwrapped to reach the state dict */
  weightsInfo: { readonly format: WeightsFormat; readonly notes: readonly string[]; /** the URL or path read */ readonly source?: string } | undefined;
  /**
   * When set, plans come from this instead of the float passes: how int8 models plan (useInt8
   * in @cnn/core's quantize sets it, so apps that never quantise bundle none of that).
   */
  lowering: PlanLowering | undefined;

  constructor(architecture: Architecture, options: ModelOptions = {}) {
    this.architecture = architecture;
    this.graph = buildGraph(architecture);
    this.siblings = options.siblings;
  }

  get name(): string {
    return this.architecture.name;
  }

  /** Every parameter and buffer the model reads, by torchvision key. */
  get parameters() {
    return this.graph.parameters;
  }

  /** Named outputs: 'logits' and the feature taps. */
  get outputNames(): string[] {
    return [...this.graph.outputs.keys()];
  }

  get hasWeights(): boolean {
    return this.weights !== undefined;
  }

  /** The loaded weights by torchvision key (after validation; float32). */
  getWeights(): WeightMap {
    if (!this.weights) throw new WeightsError(`${this.name}: ${this.released ?? 'no weights loaded (loadWeights or useGeneratedWeights)'}`);
    return this.weights;
  }

  /** Fills every parameter from the seeded counter-based generator the golden tests use. */
  useGeneratedWeights(seed = 1): this {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new WeightsError(`generated weights need an integer seed in 0..4294967295, got ${seed}`);
    }
    this.weights = generateWeights(this.graph.parameters, seed);
    // generated weights are for tests and demos, which compile the same model many times
    this.keepWeights = true;
    this.released = undefined;
    this.weightsInfo = undefined;
    return this;
  }

  /** Lowers the model for one backend; the returned runner owns backend memory until disposed. */
  plan(options: CompileOptions = {}): ExecutionPlan {
    if (!this.weights) throw new WeightsError(`${this.name}: ${this.released ?? 'load weights before compiling (loadWeights or useGeneratedWeights)'}`);
    const batch = options.batch ?? 1;
    if (!Number.isSafeInteger(batch) || batch < 1) throw new ShapeError(`batch must be a positive integer, got ${batch}`);
    const graph = options.inputSize ? buildGraph(this.architecture, this.shapeFor(options.inputSize)) : this.graph;
    // Both checks cost one pass over the nodes, before any work proportional to the image size.
    const needed = neededNodes(graph, options.outputs ?? ['logits']);
    if (graph !== this.graph) this.checkWeightsFit(graph, needed, options.inputSize!);
    checkActivationSizes(graph, needed, batch, this.name);
    const plan = (this.lowering ?? lowerGraph)(graph, this.weights, { batch, outputs: options.outputs ?? ['logits'], passes: this.architecture.planPasses });
    if (!this.keepWeights) {
      // the plan reads the weights it did not fold straight from the decoded tensors (no copy):
      // once a backend has packed its own, nothing holds them or the file bytes they view
      this.weights = undefined;
      this.released = 'weights were released after the first compile or plan (load them with { keepWeights: true } to compile again)';
    }
    return plan;
  }

  async compile(backend: Backend, options: CompileOptions = {}): Promise<Runner> {
    assertBackend(backend);
    const plan = this.plan(options);
    const executable = await compilePlan(backend, plan);
    const [c, h, w] = options.inputSize ? this.shapeFor(options.inputSize) : this.architecture.inputShape;
    return new Runner(this.name, backend.name, plan, executable, [plan.batch, c, h, w], options.outputs ?? ['logits']);
  }

  /** A classifier sized for the native input (e.g. LeNet's flatten) cannot take another size. */
  private checkWeightsFit(graph: Graph, needed: ReadonlySet<number>, size: readonly [number, number]): void {
    const layers = new Set<string>();
    for (const id of needed) {
      const op = graph.nodes[id].op as { name?: unknown };
      if (typeof op.name === 'string') layers.add(op.name);
    }
    for (const spec of graph.parameters) {
      if (!layers.has(spec.key.slice(0, spec.key.lastIndexOf('.')))) continue;
      const t = this.weights!.get(spec.key);
      if (t !== undefined && formatShape(t.shape) !== formatShape(spec.shape)) {
        const [, h, w] = this.architecture.inputShape;
        throw new ShapeError(
          `${this.name} at inputSize ${size[0]}x${size[1]} needs '${spec.key}' of shape ${formatShape(spec.shape)}, but its weights are ${formatShape(t.shape)}: the layers before it fix the input to ${h}x${w}`,
        );
      }
    }
  }

  private shapeFor(size: readonly [number, number]): [number, number, number] {
    if (!Array.isArray(size) || size.length !== 2 || !size.every((d) => Number.isSafeInteger(d) && d > 0)) {
      throw new ShapeError(`inputSize must be [height, width] in positive integers, got ${Array.isArray(size) ? `[${size.map(String).join(', ')}]` : String(size)}`);
    }
    if (size[0] > LIMITS.inputSide || size[1] > LIMITS.inputSide) {
      throw new ShapeError(`inputSize ${size[0]}x${size[1]} exceeds the limit of ${LIMITS.inputSide} pixels a side (LIMITS.inputSide)`, { code: 'limit' });
    }
    return [this.architecture.inputShape[0], size[0], size[1]];
  }
}

/** The nodes the requested outputs depend on (unknown names are left for lowerGraph to report). */
function neededNodes(graph: Graph, outputs: readonly string[]): Set<number> {
  return reachingNodes(graph, outputs.map((o) => graph.outputs.get(o)).filter((id): id is number => id !== undefined));
}

/** Refuses a plan whose largest single activation alone would exceed the arena limit. */
function checkActivationSizes(graph: Graph, needed: ReadonlySet<number>, batch: number, name: string): void {
  for (const node of graph.nodes) {
    if (!needed.has(node.id)) continue;
    const bytes = node.shape.reduce((a, b) => a * b, 1) * batch * 4;
    if (bytes > LIMITS.arenaBytes) {
      throw new ShapeError(
        `${name}: '${node.label}' outputs ${formatShape([batch, ...node.shape])}, ${formatBytes(bytes)} alone, over the activation arena limit of ${formatBytes(LIMITS.arenaBytes)} (LIMITS.arenaBytes); use a smaller inputSize or batch`,
        { code: 'limit' },
      );
    }
  }
}

/**
 * Gives a model the weights loadWeights (model-weights.ts) read and checked: the one way in
 * besides useGeneratedWeights, kept out of the class so that an app that never reads a file
 * bundles no reader (not exported from the package).
 */
export function adoptWeights(model: Model, weights: WeightMap, info: NonNullable<Model['weightsInfo']>, keepWeights: boolean): void {
  model['weights'] = weights;
  model['keepWeights'] = keepWeights;
  model['released'] = undefined;
  model.weightsInfo = info;
}

/** What loadWeights needs of a model: its graph and the family's other variants. */
export function modelInternals(model: Model): { graph: Graph; siblings: (() => Iterable<Architecture>) | undefined } {
  return { graph: model['graph'], siblings: model['siblings'] };
}

export class Runner {
  /** where each requested output lives, and whether it is [n, f] (after a linear or flatten) */
  private readonly outputSlots: readonly { readonly slot: Slot; readonly flat: boolean }[];
  /** float32 elements of the activation arena the plan needs */
  readonly plannedArenaSize: number;
  private nhwc: Float32Array | undefined;

  constructor(
    readonly modelName: string,
    readonly backendName: string,
    plan: ExecutionPlan,
    private readonly executable: Executable,
    /** [n, c, h, w] the runner accepts */
    readonly inputShape: readonly [number, number, number, number],
    readonly outputNames: readonly string[],
  ) {
    // Keep only the slots: the plan holds folded copies of every weight, which the backend has
    // packed by now, so holding the plan here would double the memory of a loaded model.
    this.outputSlots = plan.outputs.map((slot) => {
      // the op that writes it (into a channel view of it, for a concatenation), none for a flatten;
      // in an int8 plan, the one that wrote what the output dequantizes
      const writer = (id: number) => plan.ops.find((o) => o.output.id === id || o.output.base?.id === id);
      let op = writer(slot.id);
      if (op?.kind === 'dequantize') op = writer(op.input.id);
      return { slot, flat: slot.shape[1] === 1 && slot.shape[2] === 1 && (op === undefined || op.kind === 'linear' || op.kind === 'q8linear') };
    });
    this.plannedArenaSize = plan.arenaSize;
  }

  get arenaBytes(): number {
    return this.executable.arenaBytes;
  }
  get weightBytes(): number {
    return this.executable.weightBytes;
  }

  /** Runs one forward pass and returns the first requested output (the logits by default). */
  async run(input: Tensor | Float32Array): Promise<Tensor> {
    const outputs = await this.runAll(input);
    return outputs[this.outputNames[0]];
  }

  /** Runs one forward pass and returns every requested output by name, in NCHW (or [n, f]). */
  async runAll(input: Tensor | Float32Array): Promise<Record<string, Tensor>> {
    const [n, c, h, w] = this.inputShape;
    const data = this.check(input);
    // one NHWC buffer for every call: run() reads it before returning (Executable.run)
    this.nhwc ??= new Float32Array(n * c * h * w);
    const results = await this.executable.run(nchwToNhwc(data, n, c, h, w, this.nhwc));
    const out: Record<string, Tensor> = {};
    this.outputSlots.forEach(({ slot, flat }, i) => {
      const [sn, sh, sw, sc] = slot.shape;
      out[this.outputNames[i]] = flat ? new Tensor([sn, sc], results[i]) : new Tensor([sn, sc, sh, sw], nhwcToNchw(results[i], sn, sc, sh, sw));
    });
    return out;
  }

  dispose(): void {
    this.executable.dispose();
    this.nhwc = undefined;
  }

  private check(input: Tensor | Float32Array): Float32Array {
    const expected = this.inputShape;
    if (input instanceof Float32Array) {
      const size = expected.reduce((a, b) => a * b, 1);
      if (input.length !== size) {
        throw new ShapeError(`${this.modelName}: expected ${size} values for input ${formatShape(expected)}, got ${input.length}`);
      }
      return input;
    }
    if (!(input instanceof Tensor)) throw new ShapeError(`${this.modelName}: input must be a Tensor or Float32Array`);
    const s = input.shape;
    if (s.length !== 4) throw new ShapeError(`${this.modelName}: expected a 4-D NCHW input ${formatShape(expected)}, got ${formatShape(s)}`);
    if (s[1] !== expected[1]) {
      throw new ShapeError(`${this.modelName}: expected ${expected[1]} input channel(s), got ${s[1]} (input ${formatShape(s)})`);
    }
    if (s[0] !== expected[0]) {
      throw new ShapeError(`${this.modelName}: runner was compiled for batch ${expected[0]}, got batch ${s[0]} (compile with { batch: ${s[0]} })`);
    }
    if (s[2] !== expected[2] || s[3] !== expected[3]) {
      throw new ShapeError(
        `${this.modelName}: runner was compiled for ${expected[2]}x${expected[3]} images, got ${s[2]}x${s[3]} (compile with { inputSize: [${s[2]}, ${s[3]}] })`,
      );
    }
    return input.data;
  }
}
