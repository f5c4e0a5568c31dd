// The mobile inverted bottleneck (MBConv) of Tan & Le (2019), with a SiLU/sigmoid
// squeeze-and-excitation gate (core's squeezeExcitation), named as torchvision's modules so that parameter keys are its state_dict keys.
import { convNormActivation, makeDivisible, squeezeExcitation, type GraphBuilder, type Value } from '@cnn/core';

export { convNormActivation, makeDivisible, squeezeExcitation } from '@cnn/core';
export type { ConvNormOptions, SqueezeExcitationOptions } from '@cnn/core';

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
  out = squeezeExcitation(b, out, next(), Math.max(1, Math.floor(inChannels / 4)), { activation: 'silu', gate: 'sigmoid' });
  out = convNormActivation(b, out, next(), cfg.outChannels, { kernelSize: 1, eps: cfg.eps, activation: 'none' });
  if (cfg.stride === 1 && inChannels === cfg.outChannels) return b.add(b.dropout(out), x);
  return out;
}
