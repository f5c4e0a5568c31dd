// MobileNet v3 (Howard et al. 2019, "Searching for MobileNetV3") as torchvision builds it:
// hard-swish, squeeze-and-excitation (ReLU, gated by hard-sigmoid), batch norm eps 0.001.
import { ReductionTaps, type Activation, type Architecture, type GraphBuilder, type ModelMetadata, type Value } from '@cnn/core';
import { convNormActivation, makeDivisible, squeezeExcitation } from './conv-norm.js';

const EPS = 0.001;

/** One bneck row of the paper's Tables 1 and 2 (channels before the width multiplier). */
export interface BneckConfig {
  readonly kernel: number;
  readonly expanded: number;
  readonly out: number;
  readonly se: boolean;
  /** 'RE' ReLU or 'HS' hard-swish */
  readonly nl: 'RE' | 'HS';
  readonly stride: number;
}

const bneck = (kernel: number, expanded: number, out: number, se: boolean, nl: 'RE' | 'HS', stride: number): BneckConfig => ({
  kernel,
  expanded,
  out,
  se,
  nl,
  stride,
});

/** Expand (when widths differ), depthwise k x k, optional SE, linear projection; residual when shapes allow. */
export function invertedResidualV3(b: GraphBuilder, x: Value, name: string, c: BneckConfig, width: number): Value {
  const inChannels = x.shape[0];
  const expanded = makeDivisible(c.expanded * width);
  const out = makeDivisible(c.out * width);
  const activation: Activation = c.nl === 'HS' ? 'hardswish' : 'relu';
  let layer = 0;
  const next = () => `${name}.block.${layer++}`;
  let y = x;
  if (expanded !== inChannels) y = convNormActivation(b, y, next(), expanded, { kernelSize: 1, activation, eps: EPS });
  y = convNormActivation(b, y, next(), expanded, { kernelSize: c.kernel, stride: c.stride, groups: expanded, activation, eps: EPS });
  if (c.se) y = squeezeExcitation(b, y, next(), makeDivisible(Math.floor(expanded / 4)), { activation: 'relu', gate: 'hardsigmoid' });
  y = convNormActivation(b, y, next(), out, { kernelSize: 1, activation: 'none', eps: EPS });
  return c.stride === 1 && inChannels === out ? b.add(y, x) : y;
}

export interface MobileNetV3Config {
  /** stem output channels (before the width multiplier) */
  readonly stem: number;
  readonly blocks: readonly BneckConfig[];
  /** the classifier's hidden width (before the width multiplier) */
  readonly lastChannel: number;
}

/** Paper Table 1. */
export const MOBILENET_V3_LARGE: MobileNetV3Config = {
  stem: 16,
  blocks: [
    bneck(3, 16, 16, false, 'RE', 1),
    bneck(3, 64, 24, false, 'RE', 2),
    bneck(3, 72, 24, false, 'RE', 1),
    bneck(5, 72, 40, true, 'RE', 2),
    bneck(5, 120, 40, true, 'RE', 1),
    bneck(5, 120, 40, true, 'RE', 1),
    bneck(3, 240, 80, false, 'HS', 2),
    bneck(3, 200, 80, false, 'HS', 1),
    bneck(3, 184, 80, false, 'HS', 1),
    bneck(3, 184, 80, false, 'HS', 1),
    bneck(3, 480, 112, true, 'HS', 1),
    bneck(3, 672, 112, true, 'HS', 1),
    bneck(5, 672, 160, true, 'HS', 2),
    bneck(5, 960, 160, true, 'HS', 1),
    bneck(5, 960, 160, true, 'HS', 1),
  ],
  lastChannel: 1280,
};

/** Paper Table 2. */
export const MOBILENET_V3_SMALL: MobileNetV3Config = {
  stem: 16,
  blocks: [
    bneck(3, 16, 16, true, 'RE', 2),
    bneck(3, 72, 24, false, 'RE', 2),
    bneck(3, 88, 24, false, 'RE', 1),
    bneck(5, 96, 40, true, 'HS', 2),
    bneck(5, 240, 40, true, 'HS', 1),
    bneck(5, 240, 40, true, 'HS', 1),
    bneck(5, 120, 48, true, 'HS', 1),
    bneck(5, 144, 48, true, 'HS', 1),
    bneck(5, 288, 96, true, 'HS', 2),
    bneck(5, 576, 96, true, 'HS', 1),
    bneck(5, 576, 96, true, 'HS', 1),
  ],
  lastChannel: 1024,
};

export interface MobileNetV3Options {
  /** torchvision's width_mult: every width scaled, then rounded to a multiple of 8; default 1 */
  widthMult?: number;
  /** classifier outputs; default 1000 (ImageNet) */
  numClasses?: number;
}

export interface MobileNetV3ArchitectureConfig extends MobileNetV3Options {
  /** MOBILENET_V3_LARGE or MOBILENET_V3_SMALL */
  readonly setting: MobileNetV3Config;
}

export function mobilenetV3Architecture(name: string, options: MobileNetV3ArchitectureConfig, metadata: ModelMetadata): Architecture {
  const config = options.setting;
  const width = options.widthMult ?? 1;
  if (!(width > 0)) throw new RangeError(`${name}: widthMult must be positive, got ${width}`);
  return {
    name,
    inputShape: [3, 224, 224],
    metadata,
    define(b, input) {
      const taps = new ReductionTaps(b);
      const stem = makeDivisible(config.stem * width);
      let x = taps.layer('features.0', convNormActivation(b, input, 'features.0', stem, { stride: 2, activation: 'hardswish', eps: EPS }), 2);
      config.blocks.forEach((c, i) => {
        x = taps.layer(`features.${i + 1}`, invertedResidualV3(b, x, `features.${i + 1}`, c, width), c.stride);
      });
      const lastConv = 6 * x.shape[0];
      const last = `features.${config.blocks.length + 1}`;
      x = taps.layer(last, convNormActivation(b, x, last, lastConv, { kernelSize: 1, activation: 'hardswish', eps: EPS }));
      taps.declare();
      x = b.flatten(b.adaptiveAvgPool2d(x, 1));
      x = b.activation(b.linear(x, 'classifier.0', makeDivisible(config.lastChannel * width)), 'hardswish');
      b.output('logits', b.linear(b.dropout(x), 'classifier.3', options.numClasses ?? 1000));
    },
  };
}
