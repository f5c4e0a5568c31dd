// @cnn/convnext: ConvNeXt Tiny, Small, Base and Large with torchvision's keys.
import type { Model } from '@cnn/core';
import { convnext, type ConvNeXtOptions } from './convnext.js';

export { convnext, convnextArchitecture, CONVNEXT_VARIANTS, CONVNEXT_TAPS, CONVNEXT_STRIDE_TAPS } from './convnext.js';
export type { ConvNeXtConfig, ConvNeXtOptions, ConvNeXtVariant } from './convnext.js';
export { cnBlock, downsample, LAYER_NORM_EPS } from './blocks.js';

export const convnext_tiny = (o?: ConvNeXtOptions): Model => convnext('convnext_tiny', o);
export const convnext_small = (o?: ConvNeXtOptions): Model => convnext('convnext_small', o);
export const convnext_base = (o?: ConvNeXtOptions): Model => convnext('convnext_base', o);
export const convnext_large = (o?: ConvNeXtOptions): Model => convnext('convnext_large', o);
