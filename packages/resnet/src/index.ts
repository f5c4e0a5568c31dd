// @cnn/resnet: ResNet-18/34/50/101/152, ResNeXt and Wide ResNet with torchvision's keys.
import type { Model } from '@cnn/core';
import { resnet, type ResNetOptions } from './resnet.js';

export { resnet, resnetArchitecture, RESNET_VARIANTS, RESNET_TAPS, RESNET_STRIDE_TAPS } from './resnet.js';
export type { ResNetConfig, ResNetOptions, ResNetVariant } from './resnet.js';
export { BasicBlock, Bottleneck } from './blocks.js';
export type { Block, BlockConfig } from './blocks.js';

export const resnet18 = (o?: ResNetOptions): Model => resnet('resnet18', o);
export const resnet34 = (o?: ResNetOptions): Model => resnet('resnet34', o);
export const resnet50 = (o?: ResNetOptions): Model => resnet('resnet50', o);
export const resnet101 = (o?: ResNetOptions): Model => resnet('resnet101', o);
export const resnet152 = (o?: ResNetOptions): Model => resnet('resnet152', o);
export const resnext50_32x4d = (o?: ResNetOptions): Model => resnet('resnext50_32x4d', o);
export const resnext101_32x8d = (o?: ResNetOptions): Model => resnet('resnext101_32x8d', o);
export const resnext101_64x4d = (o?: ResNetOptions): Model => resnet('resnext101_64x4d', o);
export const wide_resnet50_2 = (o?: ResNetOptions): Model => resnet('wide_resnet50_2', o);
export const wide_resnet101_2 = (o?: ResNetOptions): Model => resnet('wide_resnet101_2', o);
