// VGG(features, classifier): the configured convolutional stack, a 7x7 adaptive average pool
// (so inputs other than 224 work, down to 32x32) and three fully connected layers.
import { imagenetPreprocessing, modelFamily, type Architecture, type GraphBuilder, type Model, type ModelMetadata, type Value } from '@cnn/core';
import { VGG_CONFIGS, makeLayers, vggTapNames, type VggConfigName } from './layers.js';

export interface VggConfig {
  /** column of the paper's Table 1 */
  layers: VggConfigName;
  batchNorm: boolean;
  numClasses?: number;
}

/** torchvision's `classifier`: FC-4096, ReLU, dropout, FC-4096, ReLU, dropout, FC (indices 0-6). */
function classifier(b: GraphBuilder, x: Value, numClasses: number): Value {
  x = b.dropout(b.relu(b.linear(x, 'classifier.0', 4096)));
  x = b.dropout(b.relu(b.linear(x, 'classifier.3', 4096)));
  return b.linear(x, 'classifier.6', numClasses);
}

export function vggArchitecture(name: string, config: VggConfig, metadata: ModelMetadata): Architecture {
  return {
    name,
    inputShape: [3, 224, 224],
    metadata,
    define(b, input) {
      const x = makeLayers(b, input, VGG_CONFIGS[config.layers], config.batchNorm);
      b.output('logits', classifier(b, b.flatten(b.adaptiveAvgPool2d(x, 7)), config.numClasses ?? 1000));
    },
  };
}

const imagenet = imagenetPreprocessing({ resizeSize: 256 });
const paper = 'Simonyan and Zisserman, Very Deep Convolutional Networks for Large-Scale Image Recognition, ICLR 2015';

/** The variant table: torchvision's builders with the metadata of their DEFAULT weights. */
export const VGG_VARIANTS = {
  vgg11: {
    config: { layers: 'A', batchNorm: false },
    metadata: { weights: 'VGG11_Weights.IMAGENET1K_V1', preprocessing: imagenet, top1: 69.02, top5: 88.628, parameters: 132_863_336, gflops: 7.61, paper },
  },
  vgg11_bn: {
    config: { layers: 'A', batchNorm: true },
    metadata: { weights: 'VGG11_BN_Weights.IMAGENET1K_V1', preprocessing: imagenet, top1: 70.37, top5: 89.81, parameters: 132_868_840, gflops: 7.61, paper },
  },
  vgg13: {
    config: { layers: 'B', batchNorm: false },
    metadata: { weights: 'VGG13_Weights.IMAGENET1K_V1', preprocessing: imagenet, top1: 69.928, top5: 89.246, parameters: 133_047_848, gflops: 11.31, paper },
  },
  vgg13_bn: {
    config: { layers: 'B', batchNorm: true },
    metadata: { weights: 'VGG13_BN_Weights.IMAGENET1K_V1', preprocessing: imagenet, top1: 71.586, top5: 90.374, parameters: 133_053_736, gflops: 11.31, paper },
  },
  vgg16: {
    config: { layers: 'D', batchNorm: false },
    metadata: { weights: 'VGG16_Weights.IMAGENET1K_V1', preprocessing: imagenet, top1: 71.592, top5: 90.382, parameters: 138_357_544, gflops: 15.47, paper },
  },
  vgg16_bn: {
    config: { layers: 'D', batchNorm: true },
    metadata: { weights: 'VGG16_BN_Weights.IMAGENET1K_V1', preprocessing: imagenet, top1: 73.36, top5: 91.516, parameters: 138_365_992, gflops: 15.47, paper },
  },
  vgg19: {
    config: { layers: 'E', batchNorm: false },
    metadata: { weights: 'VGG19_Weights.IMAGENET1K_V1', preprocessing: imagenet, top1: 72.376, top5: 90.876, parameters: 143_667_240, gflops: 19.63, paper },
  },
  vgg19_bn: {
    config: { layers: 'E', batchNorm: true },
    metadata: { weights: 'VGG19_BN_Weights.IMAGENET1K_V1', preprocessing: imagenet, top1: 74.218, top5: 91.842, parameters: 143_678_248, gflops: 19.63, paper },
  },
} as const satisfies Record<string, { config: VggConfig; metadata: ModelMetadata }>;

export type VggVariant = keyof typeof VGG_VARIANTS;

/** Feature tap names of a variant: conv1_1 ... conv5_3 (conv5_4 for VGG-19), pool1 ... pool5. */
export function vggTaps(variant: VggVariant): string[] {
  return vggTapNames(VGG_CONFIGS[VGG_VARIANTS[variant].config.layers]);
}

export interface VggOptions {
  /** classifier outputs; default 1000 (ImageNet) */
  numClasses?: number;
}

/** The family builder: any variant of the table, with options applied to its config. */
export const vgg: (variant: VggVariant, options?: VggOptions) => Model = modelFamily('VGG', VGG_VARIANTS, vggArchitecture);
