// @cnn/densenet: DenseNet-121/161/169/201 with torchvision's keys.
import type { Model } from '@cnn/core';
import { densenet, type DenseNetOptions } from './densenet.js';

export { densenet, densenetArchitecture, DENSENET_VARIANTS, DENSENET_TAPS, DENSENET_STRIDE_TAPS } from './densenet.js';
export type { DenseNetConfig, DenseNetOptions, DenseNetVariant } from './densenet.js';
export { denseLayer, denseBlock, transition } from './blocks.js';
export type { DenseConfig } from './blocks.js';
export { modernDenseNetKey, renameLegacyDenseNetKeys } from './legacy-keys.js';

export const densenet121 = (o?: DenseNetOptions): Model => densenet('densenet121', o);
export const densenet161 = (o?: DenseNetOptions): Model => densenet('densenet161', o);
export const densenet169 = (o?: DenseNetOptions): Model => densenet('densenet169', o);
export const densenet201 = (o?: DenseNetOptions): Model => densenet('densenet201', o);
