// Building blocks many architectures share, as torchvision shares them (ops.misc.Conv2dNormActivation,
// models._utils._make_divisible).
import type { Activation } from './plan.js';
import type { GraphBuilder, Value } from './graph.js';

export interface ConvNormOptions {
  /** default 3 */
  kernelSize?: number;
  stride?: number;
  groups?: number;
  /** applied after batch norm; 'none' for linear projections */
  activation: Activation;
  /** batch norm epsilon: PyTorch's 1e-5 by default */
  eps?: number;
}

/** Convolution (no bias, "same" padding) + batch norm + activation: keys `${name}.0`, `${name}.1`. */
export function convNormActivation(b: GraphBuilder, x: Value, name: string, outChannels: number, o: ConvNormOptions): Value {
  const kernelSize = o.kernelSize ?? 3;
  const conv = b.conv2d(x, `${name}.0`, { outChannels, kernelSize, stride: o.stride ?? 1, padding: (kernelSize - 1) >> 1, groups: o.groups ?? 1, bias: false });
  const y = b.batchNorm2d(conv, `${name}.1`, o.eps ?? 1e-5);
  return o.activation === 'none' ? y : b.activation(y, o.activation);
}

/**
 * The channel rounding of TensorFlow's MobileNet code that torchvision reproduces: the nearest
 * multiple of `divisor` (at least `minValue`), bumped up one step if that loses more than 10%.
 */
export function makeDivisible(v: number, divisor = 8, minValue = divisor): number {
  let rounded = Math.max(minValue, Math.floor(Math.floor(v + divisor / 2) / divisor) * divisor);
  if (rounded < 0.9 * v) rounded += divisor;
  return rounded;
}

export interface SqueezeExcitationOptions {
  /** after the reducing 1x1 convolution: ReLU in MobileNet v3, SiLU in EfficientNet */
  activation: Activation;
  /** the gate: hard-sigmoid in MobileNet v3, sigmoid in EfficientNet */
  gate: Activation;
}

/**
 * Squeeze-and-excitation (Hu et al. 2018; torchvision's ops.SqueezeExcitation): global average,
 * 1x1 reduce (`${name}.fc1`) + activation, 1x1 expand (`${name}.fc2`) + gate, then x times the gate.
 */
export function squeezeExcitation(b: GraphBuilder, x: Value, name: string, squeezeChannels: number, o: SqueezeExcitationOptions): Value {
  let gate = b.adaptiveAvgPool2d(x, 1);
  gate = b.activation(b.conv2d(gate, `${name}.fc1`, { outChannels: squeezeChannels, kernelSize: 1 }), o.activation);
  gate = b.activation(b.conv2d(gate, `${name}.fc2`, { outChannels: x.shape[0], kernelSize: 1 }), o.gate);
  return b.scaleChannels(x, gate);
}
