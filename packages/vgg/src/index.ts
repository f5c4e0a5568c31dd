// @cnn/vgg: VGG-11/13/16/19 (configurations A, B, D, E), with and without batch norm, with torchvision's keys.
import type { Model } from '@cnn/core';
import { vgg, type VggOptions } from './vgg.js';

export { vgg, vggArchitecture, vggTaps, VGG_VARIANTS } from './vgg.js';
export type { VggConfig, VggOptions, VggVariant } from './vgg.js';
export { VGG_CONFIGS, makeLayers, vggTapNames } from './layers.js';
export type { VggConfigName, VggLayer } from './layers.js';

export const vgg11 = (o?: VggOptions): Model => vgg('vgg11', o);
export const vgg11_bn = (o?: VggOptions): Model => vgg('vgg11_bn', o);
export const vgg13 = (o?: VggOptions): Model => vgg('vgg13', o);
export const vgg13_bn = (o?: VggOptions): Model => vgg('vgg13_bn', o);
export const vgg16 = (o?: VggOptions): Model => vgg('vgg16', o);
export const vgg16_bn = (o?: VggOptions): Model => vgg('vgg16_bn', o);
export const vgg19 = (o?: VggOptions): Model => vgg('vgg19', o);
export const vgg19_bn = (o?: VggOptions): Model => vgg('vgg19_bn', o);
