// The mobile inverted bottleneck (MBConv) of Tan & Le (2019) and its squeeze-and-excitation
// gate, named as torchvision's modules so that parameter keys are its state_dict keys.
import type { Activation, GraphBuilder, Value } from '@cnn/core';

/** torchvision's _make_divisible: round to the nearest multiple of `divisor`, never losing over 10%. */
export function makeDivisible(v: number, divisor = 8, minValue = divisor): number {
  const rounded = Math.max(minValue, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * v ? rounded + divisor : rounded;
}

export interface ConvNormOptions {
  outChannels: number;
  kernelSize: number;
  stride?: number;
  groups?: number;
  /** batch norm epsilon (1e-5 for B0-B4, 1e-3 for B5-B7) */
  eps: number;
  /** 'none' for the linear projection */
  activation: Activation;
}

/**
 * Conv2dNormActivation: a bias-free convolution with "same" padding (`${name}.0`), batch norm
 * (`${name}.1`) and an activation.
 */
export function convNormActivation(b: GraphBuilder, x: Value, name: string, o: ConvNormOptions): Value {
  const padding = (o.kernelSize - 1) >> 1;
  const conv = b.conv2d(x, `${name}.0`, {
    outChannels: o.outChannels,
    kernelSize: o.kernelSize,
    stride: o.stride ?? 1,
    padding,
    groups: o.groups ?? 1,
    bias: false,
  });
  const y = b.batchNorm2d(conv, `${name}.1`, o.eps);
  return o.activation === 'none' ? y : b.activation(y, o.activation);
}

/**
 * Squeeze-and-excitation (Hu et al. 2018): a per-channel gate computed from the global average,
 * avgpool → fc1 (1x1 conv) → SiLU → fc2 (1x1 conv) → sigmoid, then x · gate.
 */
export function squeezeExcitation(b: GraphBuilder, x: Value, name: string, squeezeChannels: number): Value {
  const channels = x.shape[0];
  let gate = b.adaptiveAvgPool2d(x, 1);
  gate = b.activation(b.conv2d(gate, `${name}.fc1`, { outChannels: squeezeChannels, kernelSize: 1 }), 'silu');
  gate = b.activation(b.conv2d(gate, `${name}.fc2`, { outChannels: channels, kernelSize: 1 }), 'sigmoid');
  return b.scaleChannels(x, gate);
}

export interface MBConvConfig {
  expandRatio: number;
  kernel: number;
  stride: number;
  outChannels: number;
  /** batch norm epsilon */
  eps: number;
}

/**
 * MBConv: 1x1 expansion (skipped when the ratio is 1), depthwise k×k, squeeze-and-excitation on
 * a quarter of the block's input width, linear 1x1 projection; an identity shortcut when stride
 * and width allow it. Stochastic depth is the identity at inference. Modules are numbered in
 * order inside `${name}.block`, so the first index depends on whether the expansion exists.
 */
export function mbConv(b: GraphBuilder, x: Value, name: string, cfg: MBConvConfig): Value {
  const inChannels = x.shape[0];
  const expanded = makeDivisible(inChannels * cfg.expandRatio);
  let index = 0;
  const next = () => `${name}.block.${index++}`;
  let out = x;
  if (expanded !== inChannels) {
    out = convNormActivation(b, out, next(), { outChannels: expanded, kernelSize: 1, eps: cfg.eps, activation: 'silu' });
  }
  out = convNormActivation(b, out, next(), {
    outChannels: expanded,
    kernelSize: cfg.kernel,
    stride: cfg.stride,
    groups: expanded,
    eps: cfg.eps,
    activation: 'silu',
  });
  out = squeezeExcitation(b, out, next(), Math.max(1, Math.floor(inChannels / 4)));
  out = convNormActivation(b, out, next(), { outChannels: cfg.outChannels, kernelSize: 1, eps: cfg.eps, activation: 'none' });
  if (cfg.stride === 1 && inChannels === cfg.outChannels) return b.add(b.dropout(out), x);
  return out;
}
