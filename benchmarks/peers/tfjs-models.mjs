// The ten benchmark architectures written with TensorFlow.js layers (tf.model functional API, NHWC),
// following torchvision 0.14 layer by layer, and filled with the same counter-generated weights as
// torchvision/@cnn (looked up by torchvision state_dict key), so their logits can be checked too.
//
// Conventions (all exact for these ten networks, and checked by the logits comparison):
// - Conv + BatchNorm pairs are folded into one conv with bias (what tfjs-converter does to a graph,
//   and what @cnn and onnxruntime do too); a BatchNorm that follows a ReLU or a concatenation
//   (DenseNet's pre-activation layers) stays a tf.layers.batchNormalization.
// - PyTorch's symmetric padding is 'same' when tfjs's 'same' pads identically (stride 1, odd k),
//   otherwise an explicit zeroPadding2d and 'valid'. Max pools with padding / ceil_mode use zero
//   padding, exact because every max pool in these networks reads a ReLU output (>= 0).
// - Dropout and stochastic depth are the identity at inference and are left out; so is an
//   adaptive average pool whose output size equals its input size (VGG 7x7, AlexNet 6x6 at 224).
// - The first Linear after a flatten takes its weight columns permuted from NCHW to NHWC order.
// - Hardswish, hardsigmoid, layer scale and GoogLeNet's input transform have no built-in tfjs
//   layer; they are small custom tf.layers.Layer subclasses built from tfjs-core ops.
//
// Multiply-adds are counted while building (conv: outH·outW·outC·k²·inC/groups, linear: in·out),
// the same rule as @cnn's summary and the torchvision hooks, so the FLOP match is checked.

/** torchvision name -> [H, W, C] at native resolution */
export const TFJS_INPUT = {
  resnet50: [224, 224, 3], resnet18: [224, 224, 3], mobilenet_v2: [224, 224, 3], mobilenet_v3_large: [224, 224, 3],
  efficientnet_b0: [224, 224, 3], convnext_tiny: [224, 224, 3], densenet121: [224, 224, 3], googlenet: [224, 224, 3],
  vgg16: [224, 224, 3], alexnet: [224, 224, 3],
};

/**
 * Builds `name`. `param(key, shape)` returns the torchvision parameter `key` (Float32Array, NCHW
 * layout as in the state_dict); `input` is [H, W, C] (default: the native size, TFJS_INPUT).
 * Returns { model, macs, paramMs } where paramMs is the time spent inside `param` (weight
 * generation, not counted as model loading).
 */
export function buildTfjsModel(tf, tfl, name, param, { input: inputShape = TFJS_INPUT[name] } = {}) {
  const build = ARCHS[name];
  if (!build) throw new Error(`no tfjs architecture for '${name}'; known: ${Object.keys(ARCHS).join(', ')}`);
  const b = new Builder(tf, tfl, param);
  const input = tfl.input({ shape: inputShape });
  const logits = build(b, input);
  const model = tfl.model({ inputs: input, outputs: logits, name });
  return { model, macs: b.macs, paramMs: b.paramMs };
}

// ------------------------------------------------------------------------------------------------
// Custom layers (elementwise; built from tfjs-core ops)
// ------------------------------------------------------------------------------------------------

let customLayers;
function defineCustomLayers(tf, tfl) {
  if (customLayers?.tf === tf) return customLayers;
  const one = (inputs) => (Array.isArray(inputs) ? inputs[0] : inputs);
  class Elementwise extends tfl.layers.Layer {
    constructor(args, fn) {
      super(args);
      this.fn = fn;
    }
    computeOutputShape(s) {
      return s;
    }
    call(inputs) {
      return tf.tidy(() => this.fn(one(inputs)));
    }
  }
  /** x · relu6(x + 3) / 6 */
  class HardSwish extends Elementwise {
    constructor(args = {}) {
      super(args, (x) => tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6)));
    }
  }
  HardSwish.className = 'CnnHardSwish';
  /** relu6(x + 3) / 6 (torch's hardsigmoid; tfjs's 'hardSigmoid' is Keras's 0.2x + 0.5) */
  class HardSigmoid extends Elementwise {
    constructor(args = {}) {
      super(args, (x) => tf.div(tf.relu6(tf.add(x, 3)), 6));
    }
  }
  HardSigmoid.className = 'CnnHardSigmoid';
  /** y = x · gamma, per channel (ConvNeXt's layer scale), gamma a weight of shape [C] */
  class ChannelScale extends tfl.layers.Layer {
    build(inputShape) {
      this.gamma = this.addWeight('gamma', [inputShape[inputShape.length - 1]], 'float32', tfl.initializers.ones());
      this.built = true;
    }
    computeOutputShape(s) {
      return s;
    }
    call(inputs) {
      return tf.tidy(() => tf.mul(one(inputs), this.gamma.read()));
    }
  }
  ChannelScale.className = 'CnnChannelScale';
  /** y = x · scale + shift, per channel, constants (GoogLeNet's transform_input) */
  class ChannelAffine extends Elementwise {
    constructor(args) {
      const scale = tf.keep(tf.tensor1d(args.scale));
      const shift = tf.keep(tf.tensor1d(args.shift));
      super({ name: args.name }, (x) => tf.add(tf.mul(x, scale), shift));
    }
  }
  ChannelAffine.className = 'CnnChannelAffine';
  customLayers = { tf, HardSwish, HardSigmoid, ChannelScale, ChannelAffine };
  return customLayers;
}

// ------------------------------------------------------------------------------------------------
// Builder: torchvision modules -> tf.layers, weights by torchvision key
// ------------------------------------------------------------------------------------------------

const BUILTIN_ACT = { relu: 'relu', relu6: 'relu6', silu: 'swish', sigmoid: 'sigmoid', gelu: 'gelu' };

/**
 * What every builder shares: torchvision parameters by key (their generation timed apart in
 * paramMs), multiply-add counting, and the torch -> tfjs weight layouts (BN folded, NHWC kernels).
 * Subclasses (tf.layers here, fused tfjs-core ops in tfjs-fused.mjs) implement the module methods
 * the ARCHS functions call: conv, dense, bn, layerNorm, maxPool, avgPool, gap, flatten, add,
 * concat, act, scaleChannels, layerScale, channelAffine.
 */
/** A pooling window's output length as torch computes it (ceil_mode: the last window must start inside the input or its left padding). */
export function poolOutputSize(n, k, s, p, ceil) {
  const v = (n + 2 * p - k) / s;
  let o = (ceil ? Math.ceil(v) : Math.floor(v)) + 1;
  if (ceil && (o - 1) * s >= n + p) o -= 1;
  return o;
}

export class TorchArchBuilder {
  constructor(param) {
    this.param = param;
    this.macs = 0;
    this.paramMs = 0;
  }

  p(key, shape) {
    return this.param(key, shape);
  }

  /** Runs fn (weight generation, BN folding, layout permutation) with its time counted in paramMs */
  prep(fn) {
    const t0 = performance.now();
    const v = fn();
    this.paramMs += performance.now() - t0;
    return v;
  }

  dims(x) {
    return x.shape.slice(1); // [H, W, C] or [F]
  }

  /** torch conv weight (+ folded BN) -> tfjs kernel [k, k, C, O] (depthwise: [k, k, C, 1]) and bias */
  convWeights(key, { out, k, inC, inPerGroup, depthwise, bias, bn, eps }) {
    const w = this.p(`${key}.weight`, [out, inPerGroup, k, k]);
    const b = bias ? Float32Array.from(this.p(`${key}.bias`, [out])) : new Float32Array(out);
    const scale = new Float32Array(out).fill(1);
    if (bn) {
      const gamma = this.p(`${bn}.weight`, [out]);
      const beta = this.p(`${bn}.bias`, [out]);
      const mean = this.p(`${bn}.running_mean`, [out]);
      const variance = this.p(`${bn}.running_var`, [out]);
      for (let o = 0; o < out; o++) {
        scale[o] = gamma[o] / Math.sqrt(variance[o] + eps);
        b[o] = (b[o] - mean[o]) * scale[o] + beta[o];
      }
    }
    let kernel;
    if (depthwise) {
      kernel = new Float32Array(k * k * inC); // [k, k, C, 1]
      for (let c = 0; c < inC; c++) {
        for (let i = 0; i < k * k; i++) kernel[i * inC + c] = w[c * k * k + i] * scale[c];
      }
    } else {
      kernel = new Float32Array(k * k * inC * out); // [k, k, C, O]
      for (let o = 0; o < out; o++) {
        for (let c = 0; c < inC; c++) {
          for (let i = 0; i < k * k; i++) kernel[(i * inC + c) * out + o] = w[(o * inC + c) * k * k + i] * scale[o];
        }
      }
    }
    return [kernel, b];
  }

  /** torch Linear weight [out, in] -> tfjs kernel [in, out] (columns NCHW -> NHWC when nchw) */
  denseWeights(key, inF, out, nchw) {
    const w = this.p(`${key}.weight`, [out, inF]);
    const bias = this.p(`${key}.bias`, [out]);
    const kernel = new Float32Array(inF * out); // [in, out]
    for (let o = 0; o < out; o++) {
      for (let i = 0; i < inF; i++) {
        let src = i;
        if (nchw) {
          const [c, h, ww] = nchw;
          const ch = i % c;
          const pix = (i - ch) / c;
          src = ch * h * ww + pix;
        }
        kernel[i * out + o] = w[o * inF + src];
      }
    }
    return [kernel, bias];
  }

  /** torchvision.ops.SqueezeExcitation (fc1/fc2 are 1x1 convs on a 1x1 map: dense layers here) */
  squeezeExcitation(x, key, squeeze, act, gateAct) {
    const c = this.dims(x).at(-1);
    let s = this.gap(x);
    s = this.dense(s, `${key}.fc1`, squeeze, { act });
    s = this.dense(s, `${key}.fc2`, c, { act: gateAct });
    return this.scaleChannels(x, s);
  }
}

class Builder extends TorchArchBuilder {
  constructor(tf, tfl, param) {
    super(param);
    this.tf = tf;
    this.tfl = tfl;
    this.L = tfl.layers;
    this.custom = defineCustomLayers(tf, tfl);
  }

  /** torch padding p on both sides -> tfjs padding mode, with a zeroPadding2d first when needed */
  pad(x, k, s, p) {
    const [h, w] = this.dims(x);
    if (p === 0) return [x, 'valid'];
    const sameMatches = [h, w].every((n) => {
      const out = Math.ceil(n / s);
      const total = Math.max((out - 1) * s + k - n, 0);
      return Math.floor(total / 2) === p && total - Math.floor(total / 2) === p && out === Math.floor((n + 2 * p - k) / s) + 1;
    });
    if (sameMatches) return [x, 'same'];
    return [this.L.zeroPadding2d({ padding: [[p, p], [p, p]] }).apply(x), 'valid'];
  }

  act(x, kind) {
    if (!kind) return x;
    if (BUILTIN_ACT[kind]) return this.L.activation({ activation: BUILTIN_ACT[kind] }).apply(x);
    if (kind === 'hardswish') return new this.custom.HardSwish().apply(x);
    if (kind === 'hardsigmoid') return new this.custom.HardSigmoid().apply(x);
    throw new Error(`unknown activation ${kind}`);
  }

  /**
   * torch Conv2d `key` (+ optional BatchNorm2d `bn`, folded) + activation.
   * groups: 1, or depthwise (groups = in = out).
   */
  conv(x, key, { out, k, s = 1, p = 0, groups = 1, bias = false, bn = null, eps = 1e-5, act = null }) {
    const tf = this.tf;
    const [, , inC] = this.dims(x);
    const depthwise = groups !== 1;
    if (depthwise && !(groups === inC && out === inC)) throw new Error(`${key}: only depthwise grouped convs are supported`);
    const inPerGroup = inC / groups;
    const [kernel, b] = this.prep(() => this.convWeights(key, { out, k, inC, inPerGroup, depthwise, bias, bn, eps }));
    const [xp, padding] = this.pad(x, k, s, p);
    // built-in activations go to the layer (tf.layers fuses relu into conv2d, applies the others after)
    const common = { kernelSize: k, strides: s, padding, useBias: true, activation: BUILTIN_ACT[act] ?? 'linear' };
    const layer = depthwise
      ? this.L.depthwiseConv2d({ ...common, depthMultiplier: 1, weights: [tf.tensor4d(kernel, [k, k, inC, 1]), tf.tensor1d(b)] })
      : this.L.conv2d({ ...common, filters: out, weights: [tf.tensor4d(kernel, [k, k, inC, out]), tf.tensor1d(b)] });
    let y = layer.apply(xp);
    const [oh, ow] = this.dims(y);
    this.macs += oh * ow * out * inPerGroup * k * k;
    return BUILTIN_ACT[act] ? y : this.act(y, act);
  }

  /** A standalone BatchNorm2d (inference form) */
  bn(x, key, eps = 1e-5) {
    const [, , c] = this.dims(x);
    const t = (suffix) => this.tf.tensor1d(this.prep(() => this.p(`${key}.${suffix}`, [c])));
    return this.L.batchNormalization({ axis: -1, epsilon: eps, weights: [t('weight'), t('bias'), t('running_mean'), t('running_var')] }).apply(x);
  }

  /** LayerNorm over channels (torch LayerNorm on NHWC / LayerNorm2d) */
  layerNorm(x, key, eps) {
    const c = this.dims(x).at(-1);
    const t = (suffix) => this.tf.tensor1d(this.prep(() => this.p(`${key}.${suffix}`, [c])));
    return this.L.layerNormalization({ axis: -1, epsilon: eps, weights: [t('weight'), t('bias')] }).apply(x);
  }

  /** max pool; padding and ceil_mode as torch (zero padding: inputs here are ReLU outputs) */
  maxPool(x, k, s, p = 0, ceil = false) {
    const [h, w] = this.dims(x);
    const outSize = (n) => poolOutputSize(n, k, s, p, ceil);
    const [oh, ow] = [outSize(h), outSize(w)];
    const extraH = (oh - 1) * s + k - (h + 2 * p);
    const extraW = (ow - 1) * s + k - (w + 2 * p);
    if (p === 0 && extraH <= 0 && extraW <= 0) return this.L.maxPooling2d({ poolSize: k, strides: s, padding: 'valid' }).apply(x);
    // tfjs 'same' ignores padded cells, as torch does; use it when it pads exactly [p, p + extra]
    const same = [[h, oh, extraH], [w, ow, extraW]].every(([n, o, extra]) => {
      const total = Math.max((Math.ceil(n / s) - 1) * s + k - n, 0);
      return Math.ceil(n / s) === o && Math.floor(total / 2) === p && total - p === p + Math.max(extra, 0);
    });
    if (same) return this.L.maxPooling2d({ poolSize: k, strides: s, padding: 'same' }).apply(x);
    const padded = this.L.zeroPadding2d({ padding: [[p, p + Math.max(extraH, 0)], [p, p + Math.max(extraW, 0)]] }).apply(x);
    return this.L.maxPooling2d({ poolSize: k, strides: s, padding: 'valid' }).apply(padded);
  }

  avgPool(x, k, s) {
    return this.L.averagePooling2d({ poolSize: k, strides: s, padding: 'valid' }).apply(x);
  }

  /** AdaptiveAvgPool2d(1) + flatten -> [N, C] */
  gap(x) {
    return this.L.globalAveragePooling2d({}).apply(x);
  }

  /**
   * torch Linear `key`. nchw: [C, H, W] when x is the NHWC flatten of a C×H×W map, so the torch
   * weight's columns (NCHW order) are permuted to NHWC.
   */
  dense(x, key, out, { act = null, nchw = null } = {}) {
    const inF = this.dims(x).at(-1);
    const [kernel, bias] = this.prep(() => this.denseWeights(key, inF, out, nchw));
    this.macs += (x.shape.slice(1, -1).reduce((a, d) => a * d, 1)) * inF * out;
    const y = this.L.dense({ units: out, activation: BUILTIN_ACT[act] ?? 'linear', weights: [this.tf.tensor2d(kernel, [inF, out]), this.tf.tensor1d(bias)] }).apply(x);
    return BUILTIN_ACT[act] ? y : this.act(y, act);
  }

  flatten(x) {
    return this.L.flatten().apply(x);
  }

  add(a, b) {
    return this.L.add().apply([a, b]);
  }

  concat(xs) {
    return this.L.concatenate({ axis: -1 }).apply(xs);
  }

  /** x · gate, gate [N, C] broadcast over H, W */
  scaleChannels(x, gate) {
    const c = this.dims(gate).at(-1);
    const g = this.L.reshape({ targetShape: [1, 1, c] }).apply(gate);
    return this.L.multiply().apply([x, g]);
  }

  layerScale(x, key) {
    const c = this.dims(x).at(-1);
    return new this.custom.ChannelScale({ weights: [this.tf.tensor1d(this.prep(() => this.p(key, [c, 1, 1])))] }).apply(x);
  }

  channelAffine(x, scale, shift) {
    return new this.custom.ChannelAffine({ scale, shift }).apply(x);
  }
}

export const makeDivisible = (v, divisor = 8, minValue = divisor) => {
  const n = Math.max(minValue, Math.floor((v + divisor / 2) / divisor) * divisor);
  return n < 0.9 * v ? n + divisor : n;
};

// ------------------------------------------------------------------------------------------------
// Architectures (torchvision 0.14 module names)
// ------------------------------------------------------------------------------------------------

function resnet(layers, bottleneck) {
  return (b, x) => {
    x = b.conv(x, 'conv1', { out: 64, k: 7, s: 2, p: 3, bn: 'bn1', act: 'relu' });
    x = b.maxPool(x, 3, 2, 1);
    let inplanes = 64;
    const expansion = bottleneck ? 4 : 1;
    layers.forEach((blocks, stage) => {
      const planes = 64 * 2 ** stage;
      for (let i = 0; i < blocks; i++) {
        const key = `layer${stage + 1}.${i}`;
        const s = i === 0 && stage > 0 ? 2 : 1;
        let identity = x;
        if (i === 0 && (s !== 1 || inplanes !== planes * expansion)) {
          identity = b.conv(x, `${key}.downsample.0`, { out: planes * expansion, k: 1, s, bn: `${key}.downsample.1` });
        }
        let y;
        if (bottleneck) {
          y = b.conv(x, `${key}.conv1`, { out: planes, k: 1, bn: `${key}.bn1`, act: 'relu' });
          y = b.conv(y, `${key}.conv2`, { out: planes, k: 3, s, p: 1, bn: `${key}.bn2`, act: 'relu' });
          y = b.conv(y, `${key}.conv3`, { out: planes * 4, k: 1, bn: `${key}.bn3` });
        } else {
          y = b.conv(x, `${key}.conv1`, { out: planes, k: 3, s, p: 1, bn: `${key}.bn1`, act: 'relu' });
          y = b.conv(y, `${key}.conv2`, { out: planes, k: 3, p: 1, bn: `${key}.bn2` });
        }
        x = b.act(b.add(y, identity), 'relu');
        inplanes = planes * expansion;
      }
    });
    return b.dense(b.gap(x), 'fc', 1000);
  };
}

/** Conv2dNormActivation: `${key}.0` conv, `${key}.1` BN */
const cna = (b, x, key, o) => b.conv(x, `${key}.0`, { ...o, p: o.p ?? (o.k - 1) / 2, bn: `${key}.1` });

function mobilenetV2(b, x) {
  const settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]];
  x = cna(b, x, 'features.0', { out: 32, k: 3, s: 2, act: 'relu6' });
  let idx = 1;
  let inC = 32;
  for (const [t, c, n, s] of settings) {
    for (let i = 0; i < n; i++) {
      const key = `features.${idx++}.conv`;
      const stride = i === 0 ? s : 1;
      const hidden = Math.round(inC * t);
      let y = x;
      let j = 0;
      if (t !== 1) y = cna(b, y, `${key}.${j++}`, { out: hidden, k: 1, act: 'relu6' });
      y = cna(b, y, `${key}.${j++}`, { out: hidden, k: 3, s: stride, groups: hidden, act: 'relu6' });
      y = b.conv(y, `${key}.${j}`, { out: c, k: 1, bn: `${key}.${j + 1}` });
      x = stride === 1 && inC === c ? b.add(x, y) : y;
      inC = c;
    }
  }
  x = cna(b, x, `features.${idx}`, { out: 1280, k: 1, act: 'relu6' });
  return b.dense(b.gap(x), 'classifier.1', 1000);
}

function mobilenetV3Large(b, x) {
  // input, kernel, expanded, out, SE, activation, stride
  const cfg = [
    [16, 3, 16, 16, false, 'relu', 1], [16, 3, 64, 24, false, 'relu', 2], [24, 3, 72, 24, false, 'relu', 1],
    [24, 5, 72, 40, true, 'relu', 2], [40, 5, 120, 40, true, 'relu', 1], [40, 5, 120, 40, true, 'relu', 1],
    [40, 3, 240, 80, false, 'hardswish', 2], [80, 3, 200, 80, false, 'hardswish', 1],
    [80, 3, 184, 80, false, 'hardswish', 1], [80, 3, 184, 80, false, 'hardswish', 1],
    [80, 3, 480, 112, true, 'hardswish', 1], [112, 3, 672, 112, true, 'hardswish', 1],
    [112, 5, 672, 160, true, 'hardswish', 2], [160, 5, 960, 160, true, 'hardswish', 1],
    [160, 5, 960, 160, true, 'hardswish', 1],
  ];
  const eps = 0.001;
  x = cna(b, x, 'features.0', { out: 16, k: 3, s: 2, act: 'hardswish', eps });
  cfg.forEach(([inC, k, exp, out, se, act, s], i) => {
    const key = `features.${i + 1}.block`;
    let y = x;
    let j = 0;
    if (exp !== inC) y = cna(b, y, `${key}.${j++}`, { out: exp, k: 1, act, eps });
    y = cna(b, y, `${key}.${j++}`, { out: exp, k, s, groups: exp, act, eps });
    if (se) y = b.squeezeExcitation(y, `${key}.${j++}`, makeDivisible(Math.floor(exp / 4), 8), 'relu', 'hardsigmoid');
    y = cna(b, y, `${key}.${j}`, { out, k: 1, eps });
    x = s === 1 && inC === out ? b.add(x, y) : y;
  });
  x = cna(b, x, 'features.16', { out: 960, k: 1, act: 'hardswish', eps });
  x = b.dense(b.gap(x), 'classifier.0', 1280, { act: 'hardswish' });
  return b.dense(x, 'classifier.3', 1000);
}

function efficientnetB0(b, x) {
  // expand ratio, kernel, stride, in, out, layers
  const stages = [[1, 3, 1, 32, 16, 1], [6, 3, 2, 16, 24, 2], [6, 5, 2, 24, 40, 2], [6, 3, 2, 40, 80, 3],
    [6, 5, 1, 80, 112, 3], [6, 5, 2, 112, 192, 4], [6, 3, 1, 192, 320, 1]];
  x = cna(b, x, 'features.0', { out: 32, k: 3, s: 2, act: 'silu' });
  stages.forEach(([e, k, s, inC0, out, n], stage) => {
    for (let i = 0; i < n; i++) {
      const inC = i === 0 ? inC0 : out;
      const stride = i === 0 ? s : 1;
      const key = `features.${stage + 1}.${i}.block`;
      const exp = makeDivisible(inC * e, 8);
      let y = x;
      let j = 0;
      if (exp !== inC) y = cna(b, y, `${key}.${j++}`, { out: exp, k: 1, act: 'silu' });
      y = cna(b, y, `${key}.${j++}`, { out: exp, k, s: stride, groups: exp, act: 'silu' });
      y = b.squeezeExcitation(y, `${key}.${j++}`, Math.max(1, Math.floor(inC / 4)), 'silu', 'sigmoid');
      y = cna(b, y, `${key}.${j}`, { out, k: 1 });
      x = stride === 1 && inC === out ? b.add(x, y) : y;
    }
  });
  x = cna(b, x, 'features.8', { out: 1280, k: 1, act: 'silu' });
  return b.dense(b.gap(x), 'classifier.1', 1000);
}

function convnextTiny(b, x) {
  const eps = 1e-6;
  const stages = [[96, 3], [192, 3], [384, 9], [768, 3]];
  x = b.conv(x, 'features.0.0', { out: 96, k: 4, s: 4, bias: true });
  x = b.layerNorm(x, 'features.0.1', eps);
  stages.forEach(([c, n], si) => {
    const f = 1 + 2 * si;
    if (si > 0) {
      x = b.layerNorm(x, `features.${f - 1}.0`, eps);
      x = b.conv(x, `features.${f - 1}.1`, { out: c, k: 2, s: 2, bias: true });
    }
    for (let i = 0; i < n; i++) {
      const key = `features.${f}.${i}`;
      let y = b.conv(x, `${key}.block.0`, { out: c, k: 7, p: 3, groups: c, bias: true });
      y = b.layerNorm(y, `${key}.block.2`, eps);
      y = b.dense(y, `${key}.block.3`, 4 * c, { act: 'gelu' });
      y = b.dense(y, `${key}.block.5`, c);
      y = b.layerScale(y, `${key}.layer_scale`);
      x = b.add(x, y);
    }
  });
  x = b.layerNorm(b.gap(x), 'classifier.0', eps);
  return b.dense(x, 'classifier.2', 1000);
}

function densenet121(b, x) {
  const growth = 32;
  const blocks = [6, 12, 24, 16];
  x = b.conv(x, 'features.conv0', { out: 64, k: 7, s: 2, p: 3, bn: 'features.norm0', act: 'relu' });
  x = b.maxPool(x, 3, 2, 1);
  let c = 64;
  blocks.forEach((n, bi) => {
    // each layer appends its `growth` channels (Keras's DenseNet form: the same values and copies
    // as torchvision's cat of every earlier feature map; tf.layers rejects that many-input form)
    for (let i = 0; i < n; i++) {
      const key = `features.denseblock${bi + 1}.denselayer${i + 1}`;
      let y = b.act(b.bn(x, `${key}.norm1`), 'relu');
      y = b.conv(y, `${key}.conv1`, { out: 4 * growth, k: 1, bn: `${key}.norm2`, act: 'relu' });
      y = b.conv(y, `${key}.conv2`, { out: growth, k: 3, p: 1 });
      x = b.concat([x, y]);
    }
    c += n * growth;
    if (bi < blocks.length - 1) {
      const key = `features.transition${bi + 1}`;
      x = b.act(b.bn(x, `${key}.norm`), 'relu');
      c = c / 2;
      x = b.conv(x, `${key}.conv`, { out: c, k: 1 });
      x = b.avgPool(x, 2, 2);
    }
  });
  x = b.act(b.bn(x, 'features.norm5'), 'relu');
  return b.dense(b.gap(x), 'classifier', 1000);
}

function googlenet(b, x) {
  const eps = 0.001;
  const basic = (y, key, out, k, s = 1, p = 0) => b.conv(y, `${key}.conv`, { out, k, s, p, bn: `${key}.bn`, eps, act: 'relu' });
  const inception = (y, key, [c1, c3r, c3, c5r, c5, pp]) => b.concat([
    basic(y, `${key}.branch1`, c1, 1),
    basic(basic(y, `${key}.branch2.0`, c3r, 1), `${key}.branch2.1`, c3, 3, 1, 1),
    // torchvision's branch3 uses a 3x3 conv (kept for weight compatibility), not 5x5
    basic(basic(y, `${key}.branch3.0`, c5r, 1), `${key}.branch3.1`, c5, 3, 1, 1),
    basic(b.maxPool(y, 3, 1, 1, true), `${key}.branch4.1`, pp, 1),
  ]);
  // transform_input=True (torchvision's setting with pretrained weights; @cnn's default)
  x = b.channelAffine(x, [0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5], [(0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5]);
  x = basic(x, 'conv1', 64, 7, 2, 3);
  x = b.maxPool(x, 3, 2, 0, true);
  x = basic(x, 'conv2', 64, 1);
  x = basic(x, 'conv3', 192, 3, 1, 1);
  x = b.maxPool(x, 3, 2, 0, true);
  x = inception(x, 'inception3a', [64, 96, 128, 16, 32, 32]);
  x = inception(x, 'inception3b', [128, 128, 192, 32, 96, 64]);
  x = b.maxPool(x, 3, 2, 0, true);
  x = inception(x, 'inception4a', [192, 96, 208, 16, 48, 64]);
  x = inception(x, 'inception4b', [160, 112, 224, 24, 64, 64]);
  x = inception(x, 'inception4c', [128, 128, 256, 24, 64, 64]);
  x = inception(x, 'inception4d', [112, 144, 288, 32, 64, 64]);
  x = inception(x, 'inception4e', [256, 160, 320, 32, 128, 128]);
  x = b.maxPool(x, 2, 2, 0, true);
  x = inception(x, 'inception5a', [256, 160, 320, 32, 128, 128]);
  x = inception(x, 'inception5b', [384, 192, 384, 48, 128, 128]);
  return b.dense(b.gap(x), 'fc', 1000);
}

function vgg16(b, x) {
  const cfg = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'];
  let idx = 0;
  for (const v of cfg) {
    if (v === 'M') {
      x = b.maxPool(x, 2, 2);
      idx += 1;
    } else {
      x = b.conv(x, `features.${idx}`, { out: v, k: 3, p: 1, bias: true, act: 'relu' });
      idx += 2;
    }
  }
  // AdaptiveAvgPool2d((7, 7)) on a 7x7 map: the identity
  const [h, w, c] = b.dims(x);
  x = b.dense(b.flatten(x), 'classifier.0', 4096, { act: 'relu', nchw: [c, h, w] });
  x = b.dense(x, 'classifier.3', 4096, { act: 'relu' });
  return b.dense(x, 'classifier.6', 1000);
}

function alexnet(b, x) {
  x = b.conv(x, 'features.0', { out: 64, k: 11, s: 4, p: 2, bias: true, act: 'relu' });
  x = b.maxPool(x, 3, 2);
  x = b.conv(x, 'features.3', { out: 192, k: 5, p: 2, bias: true, act: 'relu' });
  x = b.maxPool(x, 3, 2);
  x = b.conv(x, 'features.6', { out: 384, k: 3, p: 1, bias: true, act: 'relu' });
  x = b.conv(x, 'features.8', { out: 256, k: 3, p: 1, bias: true, act: 'relu' });
  x = b.conv(x, 'features.10', { out: 256, k: 3, p: 1, bias: true, act: 'relu' });
  x = b.maxPool(x, 3, 2);
  // AdaptiveAvgPool2d((6, 6)) on a 6x6 map: the identity
  const [h, w, c] = b.dims(x);
  x = b.dense(b.flatten(x), 'classifier.1', 4096, { act: 'relu', nchw: [c, h, w] });
  x = b.dense(x, 'classifier.4', 4096, { act: 'relu' });
  return b.dense(x, 'classifier.6', 1000);
}

export const ARCHS = {
  resnet50: resnet([3, 4, 6, 3], true),
  resnet18: resnet([2, 2, 2, 2], false),
  mobilenet_v2: mobilenetV2,
  mobilenet_v3_large: mobilenetV3Large,
  efficientnet_b0: efficientnetB0,
  convnext_tiny: convnextTiny,
  densenet121,
  googlenet,
  vgg16,
  alexnet,
};
