// MobileNet v2 (Sandler et al. 2018, "MobileNetV2: Inverted Residuals and Linear Bottlenecks")
// as torchvision builds it: ReLU6, batch norm eps 1e-5, channels rounded by makeDivisible.
import { ReductionTaps, type Architecture, type GraphBuilder, type ModelMetadata, type Value } from '@cnn/core';
import { convNormActivation, makeDivisible } from './conv-norm.js';

/** Expand 1x1 (unless t = 1), depthwise 3x3, linear 1x1 projection; a residual when shapes allow. */
export function invertedResidualV2(b: GraphBuilder, x: Value, name: string, outChannels: number, stride: number, expandRatio: number): Value {
  const inChannels = x.shape[0];
  const hidden = Math.round(inChannels * expandRatio);
  // torchvision numbers the layers of `conv` in order, so the indices shift when t = 1
  let layer = 0;
  const next = () => `${name}.conv.${layer++}`;
  let y = x;
  if (expandRatio !== 1) y = convNormActivation(b, y, next(), hidden, { kernelSize: 1, activation: 'relu6' });
  y = convNormActivation(b, y, next(), hidden, { stride, groups: hidden, activation: 'relu6' });
  y = b.conv2d(y, next(), { outChannels, kernelSize: 1, bias: false });
  y = b.batchNorm2d(y, next());
  return stride === 1 && inChannels === outChannels ? b.add(x, y) : y;
}

/** Paper Table 2: expansion t, output channels c, repeats n, first stride s. */
export const MOBILENET_V2_SETTING: readonly (readonly [number, number, number, number])[] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

export interface MobileNetV2Options {
  /** torchvision's width_mult: every width scaled, then rounded to a multiple of 8; default 1 */
  widthMult?: number;
  /** classifier outputs; default 1000 (ImageNet) */
  numClasses?: number;
}

export function mobilenetV2Architecture(name: string, options: MobileNetV2Options, metadata: ModelMetadata): Architecture {
  const width = options.widthMult ?? 1;
  if (!(width > 0)) throw new RangeError(`${name}: widthMult must be positive, got ${width}`);
  return {
    name,
    inputShape: [3, 224, 224],
    metadata,
    define(b, input) {
      const taps = new ReductionTaps(b);
      let x = taps.layer('features.0', convNormActivation(b, input, 'features.0', makeDivisible(32 * width), { stride: 2, activation: 'relu6' }), 2);
      let index = 1;
      for (const [t, c, n, s] of MOBILENET_V2_SETTING) {
        for (let i = 0; i < n; i++) {
          const stride = i === 0 ? s : 1;
          const name = `features.${index++}`;
          x = taps.layer(name, invertedResidualV2(b, x, name, makeDivisible(c * width), stride, t), stride);
        }
      }
      const last = makeDivisible(1280 * Math.max(1, width));
      x = taps.layer(`features.${index}`, convNormActivation(b, x, `features.${index}`, last, { kernelSize: 1, activation: 'relu6' }));
      taps.declare();
      x = b.dropout(b.flatten(b.adaptiveAvgPool2d(x, 1)));
      b.output('logits', b.linear(x, 'classifier.1', options.numClasses ?? 1000));
    },
  };
}
