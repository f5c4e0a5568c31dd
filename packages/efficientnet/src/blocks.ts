// The mobile inverted bottleneck (MBConv) of Tan & Le (2019) and its squeeze-and-excitation
// gate, named as torchvision's modules so that parameter keys are its state_dict keys.
import { convNormActivation, makeDivisible, type GraphBuilder, type Value } from '@cnn/core';

export { convNormActivation, makeDivisible } from '@cnn/core';
export type { ConvNormOptions } from '@cnn/core';

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
    out = convNormActivation(b, out, next(), expanded, { kernelSize: 1, eps: cfg.eps, activation: 'silu' });
  }
  out = convNormActivation(b, out, next(), expanded, {
    kernelSize: cfg.kernel,
    stride: cfg.stride,
    groups: expanded,
    eps: cfg.eps,
    activation: 'silu',
  });
  out = squeezeExcitation(b, out, next(), Math.max(1, Math.floor(inChannels / 4)));
  out = convNormActivation(b, out, next(), cfg.outChannels, { kernelSize: 1, eps: cfg.eps, activation: 'none' });
  if (cfg.stride === 1 && inChannels === cfg.outChannels) return b.add(b.dropout(out), x);
  return out;
}
