// The ten benchmark architectures run on tfjs-core's fused ops, the way tfjs-converter's graph
// executor runs a converted model (the fastest form tfjs has), instead of one tf.layers layer per op:
// - convolutions are tf.fused.conv2d / tf.fused.depthwiseConv2d with the bias and a fusable
//   activation (relu, relu6, sigmoid) in the same call, batch norm folded into the weights, the
//   kernels pre-transposed to [k, k, C, O] once at load, and PyTorch's padding given as an explicit
//   padding array (no separate pad op, no 'same' guessing);
// - linear layers are tf.fused.matMul with bias and activation, weights pre-transposed to [in, out];
// - max pools take explicit (asymmetric for ceil_mode) padding, so no padding op either;
// - a per-channel constant multiply right after a linear layer (ConvNeXt's layer scale) is folded
//   into that layer's weights, as a graph optimiser's constant folding does;
// - everything else (hardswish, SiLU, GELU, LayerNorm, SE gating, residual adds, concat) is the
//   tfjs-core ops a converted graph would contain.
// The model is a flat list of nodes run in order; each intermediate tensor is disposed after its
// last use, as the converter's executor does.
//
// The architectures themselves are the ARCHS functions of tfjs-models.mjs (torchvision 0.14 module
// by module); FusedBuilder implements the module methods they call on symbolic values ({ shape }),
// so both tfjs variants run the same networks with the same torchvision-keyed counter weights.
import { ARCHS, TFJS_INPUT, TorchArchBuilder, poolOutputSize } from './tfjs-models.mjs';

/** activations tfjs fuses into conv2d / depthwiseConv2d / matMul kernels (tfjs-backend-wasm's FusableActivation) */
const FUSABLE = { relu: 'relu', relu6: 'relu6', sigmoid: 'sigmoid' };
const ACTIVATIONS = new Set(['relu', 'relu6', 'sigmoid', 'silu', 'hardswish', 'hardsigmoid', 'gelu']);

/**
 * Builds `name` (torchvision builder name). `param(key, shape)` returns torchvision parameter `key`
 * (Float32Array, state_dict layout). `input` is [H, W, C] (default: the native size, TFJS_INPUT).
 * Returns { predict(x) -> logits tensor, macs, paramMs, nodes, dispose() }, paramMs being the time
 * spent in `param` and weight folding (not model loading).
 */
export function buildTfjsFusedModel(tf, name, param, { input: inputShape = TFJS_INPUT[name] } = {}) {
  const build = ARCHS[name];
  if (!build) throw new Error(`no tfjs architecture for '${name}'; known: ${Object.keys(ARCHS).join(', ')}`);
  const b = new FusedBuilder(tf, param);
  const input = b.value([null, ...inputShape]);
  const logits = build(b, input);
  return { predict: b.executor(input, logits), macs: b.macs, paramMs: b.paramMs, nodes: b.nodes.length, dispose: () => b.dispose() };
}

class FusedBuilder extends TorchArchBuilder {
  constructor(tf, param) {
    super(param);
    this.tf = tf;
    this.nodes = [];
    this.constants = [];
    this.scalars = new Map();
    this.nextId = 0;
    for (const v of [3, 1 / 6, 0.5, Math.SQRT1_2]) this.scalar(v); // the activations' constants, made before any run
  }

  value(shape, extra = {}) {
    return { id: this.nextId++, shape, ...extra };
  }

  /** appends a node computing fn(...input tensors) -> tensor of the given symbolic shape */
  node(inputs, shape, fn, extra) {
    const out = this.value(shape, extra);
    this.nodes.push({ inputs: inputs.map((v) => v.id), out: out.id, fn });
    return out;
  }

  constant(data, shape) {
    const t = this.tf.tensor(data, shape, 'float32');
    this.constants.push(t);
    return t;
  }

  /** a cached scalar constant (kept: a first use inside a node's tidy must not dispose it) */
  scalar(v) {
    if (!this.scalars.has(v)) this.scalars.set(v, this.tf.keep(this.constant([v], [])));
    return this.scalars.get(v);
  }

  /** the activations that are not fused into a conv/matMul kernel, from tfjs-core ops */
  activate(y, kind) {
    const tf = this.tf;
    switch (kind) {
      case null:
      case undefined:
        return y;
      case 'relu':
        return tf.relu(y);
      case 'relu6':
        return tf.relu6(y);
      case 'sigmoid':
        return tf.sigmoid(y);
      case 'silu':
        return tf.mul(y, tf.sigmoid(y));
      case 'hardswish': // x · relu6(x + 3) / 6
        return tf.mul(y, tf.mul(tf.relu6(tf.add(y, this.scalar(3))), this.scalar(1 / 6)));
      case 'hardsigmoid': // torch's relu6(x + 3) / 6
        return tf.mul(tf.relu6(tf.add(y, this.scalar(3))), this.scalar(1 / 6));
      case 'gelu': // exact (erf) GELU, torch's default
        return tf.mul(y, tf.add(this.scalar(0.5), tf.mul(this.scalar(0.5), tf.erf(tf.mul(y, this.scalar(Math.SQRT1_2))))));
      default:
        throw new Error(`unknown activation ${kind}`);
    }
  }

  act(x, kind) {
    if (!kind) return x;
    if (!ACTIVATIONS.has(kind)) throw new Error(`unknown activation ${kind}`);
    return this.node([x], x.shape, (y) => this.activate(y, kind));
  }

  /** torch Conv2d `key` (+ BatchNorm2d `bn`, folded) + activation; groups 1 or depthwise */
  conv(x, key, { out, k, s = 1, p = 0, groups = 1, bias = false, bn = null, eps = 1e-5, act = null }) {
    const tf = this.tf;
    const [h, w, inC] = this.dims(x);
    const depthwise = groups !== 1;
    if (depthwise && !(groups === inC && out === inC)) throw new Error(`${key}: only depthwise grouped convs are supported`);
    const inPerGroup = inC / groups;
    const [kernel, b] = this.prep(() => this.convWeights(key, { out, k, inC, inPerGroup, depthwise, bias, bn, eps }));
    const filter = this.constant(kernel, depthwise ? [k, k, inC, 1] : [k, k, inC, out]);
    const biasT = this.constant(b, [out]);
    const pad = p === 0 ? 'valid' : [[0, 0], [p, p], [p, p], [0, 0]];
    const [oh, ow] = [h, w].map((n) => Math.floor((n + 2 * p - k) / s) + 1);
    this.macs += oh * ow * out * inPerGroup * k * k;
    if (act && !ACTIVATIONS.has(act)) throw new Error(`${key}: unknown activation ${act}`);
    const activation = FUSABLE[act] ?? 'linear';
    const rest = FUSABLE[act] ? null : act;
    const op = depthwise ? tf.fused.depthwiseConv2d : tf.fused.conv2d;
    return this.node([x], [null, oh, ow, out], (xt) => this.activate(op({ x: xt, filter, strides: s, pad, bias: biasT, activation }), rest));
  }

  /** torch Linear `key` on [N, F] or per pixel on [N, H, W, F]; nchw: see TorchArchBuilder.denseWeights */
  dense(x, key, out, { act = null, nchw = null } = {}) {
    const tf = this.tf;
    const dims = this.dims(x);
    const inF = dims.at(-1);
    const [kernel, bias] = this.prep(() => this.denseWeights(key, inF, out, nchw));
    this.macs += dims.slice(0, -1).reduce((a, d) => a * d, 1) * inF * out;
    const linear = { kernel, bias: Float32Array.from(bias), b: this.constant(kernel, [inF, out]), biasT: this.constant(bias, [out]) };
    if (act && !ACTIVATIONS.has(act)) throw new Error(`${key}: unknown activation ${act}`);
    const activation = FUSABLE[act] ?? 'linear';
    const rest = FUSABLE[act] ? null : act;
    const fn = (xt) => {
      const a = xt.rank === 2 ? xt : tf.reshape(xt, [-1, inF]);
      let y = tf.fused.matMul({ a, b: linear.b, bias: linear.biasT, activation });
      if (xt.rank !== 2) y = tf.reshape(y, [...xt.shape.slice(0, -1), out]);
      return this.activate(y, rest);
    };
    // a linear layer with no activation can absorb a following per-channel scale (layerScale)
    return this.node([x], [null, ...dims.slice(0, -1), out], fn, act ? {} : { linear });
  }

  /** ConvNeXt's layer scale, y = x · gamma: folded into the producing linear layer when there is one */
  layerScale(x, key) {
    const c = this.dims(x).at(-1);
    const gamma = this.prep(() => this.p(key, [c, 1, 1]));
    const lin = x.linear;
    if (lin && !lin.folded) {
      this.prep(() => {
        for (let i = 0; i < lin.kernel.length; i++) lin.kernel[i] *= gamma[i % c];
        for (let o = 0; o < c; o++) lin.bias[o] *= gamma[o];
      });
      lin.b.dispose();
      lin.biasT.dispose();
      lin.b = this.constant(lin.kernel, [lin.kernel.length / c, c]);
      lin.biasT = this.constant(lin.bias, [c]);
      lin.folded = true;
      return x;
    }
    const g = this.constant(gamma, [c]);
    return this.node([x], x.shape, (xt) => this.tf.mul(xt, g));
  }

  /** a standalone BatchNorm2d (inference), e.g. DenseNet's pre-activation ones */
  bn(x, key, eps = 1e-5) {
    const c = this.dims(x).at(-1);
    const [gamma, beta, mean, variance] = ['weight', 'bias', 'running_mean', 'running_var'].map((s) => this.constant(this.prep(() => this.p(`${key}.${s}`, [c])), [c]));
    return this.node([x], x.shape, (xt) => this.tf.batchNorm(xt, mean, variance, beta, gamma, eps));
  }

  /** LayerNorm over the channel (last) axis */
  layerNorm(x, key, eps) {
    const tf = this.tf;
    const c = this.dims(x).at(-1);
    const [gamma, beta] = ['weight', 'bias'].map((s) => this.constant(this.prep(() => this.p(`${key}.${s}`, [c])), [c]));
    const epsT = this.scalar(eps);
    const axis = x.shape.length - 1;
    return this.node([x], x.shape, (xt) => {
      const centred = tf.sub(xt, tf.mean(xt, axis, true));
      const variance = tf.mean(tf.square(centred), axis, true);
      return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, epsT))), gamma), beta);
    });
  }

  /** max pool with torch's padding and ceil_mode, as explicit (bottom/right-extended) padding */
  maxPool(x, k, s, p = 0, ceil = false) {
    const [h, w, c] = this.dims(x);
    const outSize = (n) => poolOutputSize(n, k, s, p, ceil);
    const [oh, ow] = [outSize(h), outSize(w)];
    const end = (n, o) => p + Math.max((o - 1) * s + k - (n + 2 * p), 0);
    const pad = [[0, 0], [p, end(h, oh)], [p, end(w, ow)], [0, 0]];
    const flat = pad.flat().every((v) => v === 0);
    return this.node([x], [null, oh, ow, c], (xt) => this.tf.maxPool(xt, k, s, flat ? 'valid' : pad));
  }

  avgPool(x, k, s) {
    const [h, w, c] = this.dims(x);
    const [oh, ow] = [h, w].map((n) => Math.floor((n - k) / s) + 1);
    return this.node([x], [null, oh, ow, c], (xt) => this.tf.avgPool(xt, k, s, 'valid'));
  }

  /** AdaptiveAvgPool2d(1) + flatten -> [N, C] */
  gap(x) {
    return this.node([x], [null, this.dims(x).at(-1)], (xt) => this.tf.mean(xt, [1, 2]));
  }

  flatten(x) {
    const f = this.dims(x).reduce((a, d) => a * d, 1);
    return this.node([x], [null, f], (xt) => this.tf.reshape(xt, [xt.shape[0], f]));
  }

  add(a, b) {
    return this.node([a, b], a.shape, (at, bt) => this.tf.add(at, bt));
  }

  concat(xs) {
    const c = xs.reduce((sum, x) => sum + this.dims(x).at(-1), 0);
    return this.node(xs, [...xs[0].shape.slice(0, -1), c], (...ts) => this.tf.concat(ts, ts[0].rank - 1));
  }

  /** x [N, H, W, C] · gate [N, C] */
  scaleChannels(x, gate) {
    const c = this.dims(gate).at(-1);
    return this.node([x, gate], x.shape, (xt, g) => this.tf.mul(xt, this.tf.reshape(g, [g.shape[0], 1, 1, c])));
  }

  /** y = x · scale + shift per channel, constants (GoogLeNet's transform_input) */
  channelAffine(x, scale, shift) {
    const [sc, sh] = [scale, shift].map((v) => this.constant(Float32Array.from(v), [v.length]));
    return this.node([x], x.shape, (xt) => this.tf.add(this.tf.mul(xt, sc), sh));
  }

  /** (x) -> logits: the nodes in order, each intermediate disposed after its last use */
  executor(input, output) {
    const tf = this.tf;
    const nodes = this.nodes;
    const lastUse = new Map();
    nodes.forEach((n, i) => n.inputs.forEach((id) => lastUse.set(id, i)));
    const freeAfter = nodes.map(() => []);
    for (const [id, i] of lastUse) if (id !== input.id && id !== output.id) freeAfter[i].push(id);
    return (x) => {
      const values = new Map([[input.id, x]]);
      for (let i = 0; i < nodes.length; i++) {
        const n = nodes[i];
        const args = n.inputs.map((id) => values.get(id));
        values.set(n.out, tf.tidy(() => n.fn(...args)));
        for (const id of freeAfter[i]) {
          values.get(id).dispose();
          values.delete(id);
        }
      }
      const y = values.get(output.id);
      values.delete(output.id);
      for (const [id, t] of values) if (id !== input.id) t.dispose(); // values never consumed (none in these ten)
      return y;
    };
  }

  dispose() {
    for (const t of this.constants) t.dispose();
    this.constants = [];
  }
}
