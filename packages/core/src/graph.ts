// Describing a network: a builder that records layers in execution order, infers shapes,
// and declares parameters under torchvision's state_dict keys.
import { fakeQuantizeProblem, type Activation, type FakeQuantizeParams } from './plan.js';
import { ShapeError, formatShape } from './errors.js';

/** Logical shapes exclude the batch: [c, h, w] for feature maps, [f] after flatten. */
export type Shape = readonly number[];

export interface ParameterSpec {
  readonly key: string;
  readonly shape: Shape;
  /** counted in the model's parameter total (torchvision's parameters()); buffers are not */
  readonly trainable: boolean;
}

export type Pair = readonly [number, number];

export type NodeOp =
  | { readonly type: 'input' }
  | {
      readonly type: 'conv2d';
      readonly name: string;
      readonly inChannels: number;
      readonly outChannels: number;
      readonly kernel: Pair;
      readonly stride: Pair;
      readonly padding: Pair;
      readonly dilation: Pair;
      readonly groups: number;
      readonly bias: boolean;
    }
  | { readonly type: 'batchNorm2d'; readonly name: string; readonly channels: number; readonly eps: number }
  | { readonly type: 'activation'; readonly fn: Activation }
  | {
      readonly type: 'pool2d';
      readonly mode: 'max' | 'avg';
      readonly kernel: Pair;
      readonly stride: Pair;
      readonly padding: Pair;
      readonly ceilMode: boolean;
      readonly countIncludePad: boolean;
    }
  | { readonly type: 'adaptiveAvgPool2d'; readonly size: Pair }
  | { readonly type: 'add' }
  | { readonly type: 'concat' }
  | { readonly type: 'flatten' }
  | { readonly type: 'linear'; readonly name: string; readonly inFeatures: number; readonly outFeatures: number; readonly bias: boolean }
  /** nn.Linear applied to the channels of every pixel (channels-last MLPs, as in ConvNeXt) */
  | { readonly type: 'pointwiseLinear'; readonly name: string; readonly inFeatures: number; readonly outFeatures: number; readonly bias: boolean }
  | { readonly type: 'layerNorm2d'; readonly name: string; readonly channels: number; readonly eps: number }
  /** multiplies each channel by a learned [c, 1, 1] parameter stored under `key` */
  | { readonly type: 'layerScale'; readonly key: string; readonly channels: number }
  /** x * gate, gate [c, 1, 1] broadcast over the spatial dims */
  | { readonly type: 'scaleChannels' }
  | { readonly type: 'channelAffine'; readonly scale: readonly number[]; readonly shift: readonly number[] }
  | { readonly type: 'localResponseNorm'; readonly size: number; readonly alpha: number; readonly beta: number; readonly k: number }
  | ({ readonly type: 'fakeQuantize' } & FakeQuantizeParams);

export interface GraphNode {
  readonly id: number;
  readonly op: NodeOp;
  readonly inputs: readonly number[];
  readonly shape: Shape;
  /** torchvision module path for layers with weights, otherwise a generated label */
  readonly label: string;
}

/** A handle to a value while building. */
export interface Value {
  readonly id: number;
  readonly shape: Shape;
}

export interface Graph {
  readonly nodes: readonly GraphNode[];
  readonly parameters: readonly ParameterSpec[];
  /** keys that may appear in weight files and are ignored (e.g. num_batches_tracked) */
  readonly ignoredKeys: ReadonlySet<string>;
  /** named outputs: 'logits' for the head, feature taps by their names */
  readonly outputs: ReadonlyMap<string, number>;
}

export interface Conv2dOptions {
  outChannels: number;
  kernelSize: number | Pair;
  stride?: number | Pair;
  padding?: number | Pair;
  dilation?: number | Pair;
  groups?: number;
  bias?: boolean;
}

export interface Pool2dOptions {
  kernelSize: number | Pair;
  stride?: number | Pair;
  padding?: number | Pair;
  ceilMode?: boolean;
  countIncludePad?: boolean;
}

const pair = (v: number | Pair): Pair => (typeof v === 'number' ? [v, v] : v);

function convOutput(size: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
}

function poolOutput(size: number, k: number, s: number, p: number, ceil: boolean): number {
  let out = Math.floor((size + 2 * p - k + (ceil ? s - 1 : 0)) / s) + 1;
  // PyTorch: the last window must start inside the input or left padding
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

export class GraphBuilder {
  private readonly nodes: GraphNode[] = [];
  private readonly params: ParameterSpec[] = [];
  private readonly paramKeys = new Set<string>();
  private readonly ignored = new Set<string>();
  private readonly outputs = new Map<string, number>();
  private counter = 0;

  input(shape: Shape): Value {
    if (this.nodes.length > 0) throw new Error('input() must be the first node');
    return this.push({ type: 'input' }, [], shape, 'input');
  }

  conv2d(x: Value, name: string, o: Conv2dOptions): Value {
    const [c, h, w] = this.feature(x, name);
    const kernel = pair(o.kernelSize);
    const stride = pair(o.stride ?? 1);
    const padding = pair(o.padding ?? 0);
    const dilation = pair(o.dilation ?? 1);
    const groups = o.groups ?? 1;
    const bias = o.bias ?? true;
    if (c % groups !== 0 || o.outChannels % groups !== 0) {
      throw new ShapeError(`${name}: ${groups} groups must divide in channels ${c} and out channels ${o.outChannels}`);
    }
    const oh = convOutput(h, kernel[0], stride[0], padding[0], dilation[0]);
    const ow = convOutput(w, kernel[1], stride[1], padding[1], dilation[1]);
    if (oh < 1 || ow < 1) {
      throw new ShapeError(`${name}: input ${formatShape([c, h, w])} is too small for a ${kernel.join('x')} convolution`);
    }
    this.param(`${name}.weight`, [o.outChannels, c / groups, kernel[0], kernel[1]]);
    if (bias) this.param(`${name}.bias`, [o.outChannels]);
    return this.push(
      { type: 'conv2d', name, inChannels: c, outChannels: o.outChannels, kernel, stride, padding, dilation, groups, bias },
      [x.id],
      [o.outChannels, oh, ow],
      name,
    );
  }

  batchNorm2d(x: Value, name: string, eps = 1e-5): Value {
    const [c] = this.feature(x, name);
    this.param(`${name}.weight`, [c]);
    this.param(`${name}.bias`, [c]);
    this.param(`${name}.running_mean`, [c], false);
    this.param(`${name}.running_var`, [c], false);
    this.ignored.add(`${name}.num_batches_tracked`);
    return this.push({ type: 'batchNorm2d', name, channels: c, eps }, [x.id], x.shape, name);
  }

  activation(x: Value, fn: Activation): Value {
    return this.push({ type: 'activation', fn }, [x.id], x.shape, this.label(fn));
  }
  relu(x: Value): Value {
    return this.activation(x, 'relu');
  }
  tanh(x: Value): Value {
    return this.activation(x, 'tanh');
  }

  maxPool2d(x: Value, o: Pool2dOptions): Value {
    return this.pool(x, 'max', o);
  }
  avgPool2d(x: Value, o: Pool2dOptions): Value {
    return this.pool(x, 'avg', o);
  }

  adaptiveAvgPool2d(x: Value, size: number | Pair): Value {
    const [c] = this.feature(x, 'adaptiveAvgPool2d');
    const s = pair(size);
    return this.push({ type: 'adaptiveAvgPool2d', size: s }, [x.id], [c, s[0], s[1]], this.label('avgpool'));
  }

  add(a: Value, b: Value): Value {
    if (formatShape(a.shape) !== formatShape(b.shape)) {
      throw new ShapeError(`add: shapes differ, ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
    }
    return this.push({ type: 'add' }, [a.id, b.id], a.shape, this.label('add'));
  }

  /** Concatenation along channels (torch.cat(dim=1)). */
  concat(values: readonly Value[]): Value {
    if (values.length === 0) throw new ShapeError('concat needs at least one input');
    const [, h, w] = this.feature(values[0], 'concat');
    let c = 0;
    for (const v of values) {
      const [vc, vh, vw] = this.feature(v, 'concat');
      if (vh !== h || vw !== w) throw new ShapeError(`concat: spatial sizes differ, ${h}x${w} and ${vh}x${vw}`);
      c += vc;
    }
    return this.push({ type: 'concat' }, values.map((v) => v.id), [c, h, w], this.label('cat'));
  }

  flatten(x: Value): Value {
    const f = x.shape.reduce((a, b) => a * b, 1);
    return this.push({ type: 'flatten' }, [x.id], [f], this.label('flatten'));
  }

  linear(x: Value, name: string, outFeatures: number, bias = true): Value {
    if (x.shape.length !== 1) throw new ShapeError(`${name}: linear expects a flattened input, got ${formatShape(x.shape)}`);
    const inFeatures = x.shape[0];
    this.param(`${name}.weight`, [outFeatures, inFeatures]);
    if (bias) this.param(`${name}.bias`, [outFeatures]);
    return this.push({ type: 'linear', name, inFeatures, outFeatures, bias }, [x.id], [outFeatures], name);
  }

  /** nn.Linear over the channel dimension of a [c, h, w] map; parameters `${name}.weight` [out, c]. */
  pointwiseLinear(x: Value, name: string, outFeatures: number, bias = true): Value {
    const [c, h, w] = this.feature(x, name);
    this.param(`${name}.weight`, [outFeatures, c]);
    if (bias) this.param(`${name}.bias`, [outFeatures]);
    return this.push({ type: 'pointwiseLinear', name, inFeatures: c, outFeatures, bias }, [x.id], [outFeatures, h, w], name);
  }

  /** LayerNorm over channels at every pixel (torchvision's LayerNorm2d), or over features of a flat value. */
  layerNorm2d(x: Value, name: string, eps = 1e-6): Value {
    const c = x.shape[0];
    if (x.shape.length !== 3 && x.shape.length !== 1) throw new ShapeError(`${name}: expects [c, h, w] or [f], got ${formatShape(x.shape)}`);
    this.param(`${name}.weight`, [c]);
    this.param(`${name}.bias`, [c]);
    return this.push({ type: 'layerNorm2d', name, channels: c, eps }, [x.id], x.shape, name);
  }

  /** Per-channel learned scale (ConvNeXt's layer_scale), parameter `key` of shape [c, 1, 1]. */
  layerScale(x: Value, key: string): Value {
    const [c] = this.feature(x, key);
    this.param(key, [c, 1, 1]);
    return this.push({ type: 'layerScale', key, channels: c }, [x.id], x.shape, key);
  }

  /** x * gate with gate [c, 1, 1] (squeeze-and-excitation). */
  scaleChannels(x: Value, gate: Value): Value {
    const [c] = this.feature(x, 'scaleChannels');
    if (formatShape(gate.shape) !== formatShape([c, 1, 1])) {
      throw new ShapeError(`scaleChannels: gate must be ${formatShape([c, 1, 1])}, got ${formatShape(gate.shape)}`);
    }
    return this.push({ type: 'scaleChannels' }, [x.id, gate.id], x.shape, this.label('mul'));
  }

  /** A fixed per-channel affine map, y_c = x_c * scale_c + shift_c (e.g. Inception's transform_input). */
  channelAffine(x: Value, scale: readonly number[], shift: readonly number[]): Value {
    const [c] = this.feature(x, 'channelAffine');
    if (scale.length !== c || shift.length !== c) throw new ShapeError(`channelAffine: needs ${c} scales and shifts`);
    return this.push({ type: 'channelAffine', scale, shift }, [x.id], x.shape, this.label('affine'));
  }

  /** torch.nn.LocalResponseNorm across channels. */
  localResponseNorm(x: Value, size: number, alpha = 1e-4, beta = 0.75, k = 1): Value {
    this.feature(x, 'localResponseNorm');
    return this.push({ type: 'localResponseNorm', size, alpha, beta, k }, [x.id], x.shape, this.label('lrn'));
  }

  /**
   * torch.fake_quantize_per_tensor_affine(x, scale, zeroPoint, quantMin, quantMax): rounds x to
   * the quantisation grid and back (int8 calibration, quantisation-aware training), any shape.
   */
  fakeQuantize(x: Value, scale: number, zeroPoint: number, quantMin: number, quantMax: number): Value {
    const params = { scale, zeroPoint, quantMin, quantMax };
    const problem = fakeQuantizeProblem(params);
    if (problem) throw new ShapeError(`fakeQuantize: ${problem}`);
    return this.push({ type: 'fakeQuantize', ...params }, [x.id], x.shape, this.label('fake_quantize'));
  }

  /** Dropout and stochastic depth are the identity at inference; kept for reading like the paper. */
  dropout(x: Value): Value {
    return x;
  }

  /** Marks a value as a named output (a feature tap, or 'logits'). */
  output(name: string, x: Value): Value {
    if (this.outputs.has(name)) throw new Error(`output '${name}' declared twice`);
    this.outputs.set(name, x.id);
    return x;
  }

  /** Declares a key that weight files may carry and the network does not use (e.g. an auxiliary head). */
  ignore(key: string): void {
    this.ignored.add(key);
  }

  /** Declares a parameter the network reads directly (for custom ops). */
  param(key: string, shape: Shape, trainable = true): void {
    if (this.paramKeys.has(key)) throw new Error(`parameter '${key}' declared twice`);
    this.paramKeys.add(key);
    this.params.push({ key, shape, trainable });
  }

  build(): Graph {
    if (!this.outputs.has('logits')) throw new Error("a network must declare its 'logits' output");
    return { nodes: this.nodes, parameters: this.params, ignoredKeys: this.ignored, outputs: this.outputs };
  }

  private pool(x: Value, mode: 'max' | 'avg', o: Pool2dOptions): Value {
    const [c, h, w] = this.feature(x, `${mode}Pool2d`);
    const kernel = pair(o.kernelSize);
    const stride = pair(o.stride ?? o.kernelSize);
    const padding = pair(o.padding ?? 0);
    const ceilMode = o.ceilMode ?? false;
    if (padding[0] * 2 > kernel[0] || padding[1] * 2 > kernel[1]) {
      throw new ShapeError(`pool padding ${padding.join('x')} must be at most half the kernel ${kernel.join('x')}`);
    }
    const oh = poolOutput(h, kernel[0], stride[0], padding[0], ceilMode);
    const ow = poolOutput(w, kernel[1], stride[1], padding[1], ceilMode);
    if (oh < 1 || ow < 1) throw new ShapeError(`pooling: input ${formatShape([c, h, w])} is smaller than the ${kernel.join('x')} window`);
    return this.push(
      { type: 'pool2d', mode, kernel, stride, padding, ceilMode, countIncludePad: o.countIncludePad ?? true },
      [x.id],
      [c, oh, ow],
      this.label(`${mode}pool`),
    );
  }

  private feature(x: Value, who: string): readonly [number, number, number] {
    if (x.shape.length !== 3) throw new ShapeError(`${who}: expects a [c, h, w] feature map, got ${formatShape(x.shape)}`);
    return x.shape as unknown as readonly [number, number, number];
  }

  private label(kind: string): string {
    return `${kind}_${this.counter++}`;
  }

  private push(op: NodeOp, inputs: number[], shape: Shape, label: string): Value {
    const node: GraphNode = { id: this.nodes.length, op, inputs, shape, label };
    this.nodes.push(node);
    return { id: node.id, shape };
  }
}
