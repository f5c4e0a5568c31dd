// MobileNet v1 (Howard et al. 2017, "MobileNets: Efficient Convolutional Neural Networks for
// Mobile Vision Applications", arXiv:1704.04861): a strided 3x3 convolution, 13 depthwise
// separable layers (paper Table 1), global average pooling and a fully connected classifier.
// torchvision has no MobileNet v1; parameter names follow its conventions (features.N, each
// conv + BN + ReLU a sequence .0/.1) and match the PyTorch reference in tools/golden/cases.
import { ReductionTaps, type Architecture, type GraphBuilder, type ModelMetadata, type Value } from '@cnn/core';
import { convNormActivation } from './conv-norm.js';

/** One depthwise separable layer (paper figure 3): 3x3 depthwise + BN + ReLU, 1x1 pointwise + BN + ReLU. */
export function depthwiseSeparable(b: GraphBuilder, x: Value, name: string, outChannels: number, stride: number): Value {
  const y = convNormActivation(b, x, `${name}.depthwise`, x.shape[0], { stride, groups: x.shape[0], activation: 'relu' });
  return convNormActivation(b, y, `${name}.pointwise`, outChannels, { kernelSize: 1, activation: 'relu' });
}

/** Paper Table 1: [output channels, stride] of the 13 depthwise separable layers. */
export const MOBILENET_V1_LAYERS: readonly (readonly [number, number])[] = [
  [64, 1],
  [128, 2],
  [128, 1],
  [256, 2],
  [256, 1],
  [512, 2],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  // Table 1 lists stride 2 for the last layer too, but its input and output are both 7x7.
  [1024, 2],
  [1024, 1],
];

export interface MobileNetV1Options {
  /** width multiplier α: every layer's channels c become floor(α c), at least 8 (TF-slim's rule); default 1 */
  alpha?: number;
  /** resolution multiplier ρ: the native input is round(224 ρ) square (0.857 → 192, 0.714 → 160, 0.571 → 128); default 1 */
  rho?: number;
  /** classifier outputs; default 1000 (ImageNet) */
  numClasses?: number;
}

/** Channels under width multiplier α. The paper's αM; for its α ∈ {1, 0.75, 0.5, 0.25} every product is exact. */
export function mobilenetV1Channels(channels: number, alpha: number): number {
  return Math.max(Math.floor(channels * alpha), 8);
}

/** The paper's ImageNet results (Tables 6 and 7): mult-adds and parameters in millions, rounded as printed. */
export const MOBILENET_V1_PAPER = [
  { alpha: 1, resolution: 224, top1: 70.6, multAddsM: 569, paramsM: 4.2 },
  { alpha: 0.75, resolution: 224, top1: 68.4, multAddsM: 325, paramsM: 2.6 },
  { alpha: 0.5, resolution: 224, top1: 63.7, multAddsM: 149, paramsM: 1.3 },
  { alpha: 0.25, resolution: 224, top1: 50.6, multAddsM: 41, paramsM: 0.5 },
  { alpha: 1, resolution: 192, top1: 69.1, multAddsM: 418, paramsM: 4.2 },
  { alpha: 1, resolution: 160, top1: 67.2, multAddsM: 290, paramsM: 4.2 },
  { alpha: 1, resolution: 128, top1: 64.4, multAddsM: 186, paramsM: 4.2 },
] as const;

export function mobilenetV1Architecture(name: string, options: MobileNetV1Options, metadata: ModelMetadata): Architecture {
  const alpha = options.alpha ?? 1;
  const rho = options.rho ?? 1;
  if (!(alpha > 0)) throw new RangeError(`${name}: alpha must be positive, got ${alpha}`);
  if (!(rho > 0 && rho <= 1)) throw new RangeError(`${name}: rho must be in (0, 1], got ${rho}`);
  const resolution = Math.round(224 * rho);
  return {
    name,
    inputShape: [3, resolution, resolution],
    metadata,
    define(b, input) {
      const taps = new ReductionTaps(b);
      let x = taps.layer('features.0', convNormActivation(b, input, 'features.0', mobilenetV1Channels(32, alpha), { stride: 2, activation: 'relu' }), 2);
      MOBILENET_V1_LAYERS.forEach(([channels, stride], i) => {
        x = taps.layer(`features.${i + 1}`, depthwiseSeparable(b, x, `features.${i + 1}`, mobilenetV1Channels(channels, alpha), stride), stride);
      });
      taps.declare();
      // The paper's 7x7 average pool, made global so that other input sizes work.
      x = b.flatten(b.adaptiveAvgPool2d(x, 1));
      b.output('logits', b.linear(x, 'classifier', options.numClasses ?? 1000));
    },
  };
}
