// @cnn/efficientnet: EfficientNet-B0 to B7 with torchvision's keys.
import type { Model } from '@cnn/core';
import { efficientnet, type EfficientNetOptions } from './efficientnet.js';

export { efficientnet, efficientnetArchitecture, EFFICIENTNET_VARIANTS, EFFICIENTNET_TAPS, EFFICIENTNET_STRIDE_TAPS } from './efficientnet.js';
export type { EfficientNetConfig, EfficientNetOptions, EfficientNetVariant } from './efficientnet.js';
export { convNormActivation, makeDivisible, mbConv, squeezeExcitation } from './blocks.js';
export type { ConvNormOptions, MBConvConfig, SqueezeExcitationOptions } from './blocks.js';

export const efficientnet_b0 = (o?: EfficientNetOptions): Model => efficientnet('efficientnet_b0', o);
export const efficientnet_b1 = (o?: EfficientNetOptions): Model => efficientnet('efficientnet_b1', o);
export const efficientnet_b2 = (o?: EfficientNetOptions): Model => efficientnet('efficientnet_b2', o);
export const efficientnet_b3 = (o?: EfficientNetOptions): Model => efficientnet('efficientnet_b3', o);
export const efficientnet_b4 = (o?: EfficientNetOptions): Model => efficientnet('efficientnet_b4', o);
export const efficientnet_b5 = (o?: EfficientNetOptions): Model => efficientnet('efficientnet_b5', o);
export const efficientnet_b6 = (o?: EfficientNetOptions): Model => efficientnet('efficientnet_b6', o);
export const efficientnet_b7 = (o?: EfficientNetOptions): Model => efficientnet('efficientnet_b7', o);
