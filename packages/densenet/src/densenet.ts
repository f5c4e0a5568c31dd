// DenseNet(growth rate, block config, initial features): a 7x7 stem, four dense blocks joined by
// transitions, a final batch norm and ReLU, global average pooling and the classifier.
import { Model, type Architecture, type ModelMetadata } from '@cnn/core';
import { denseBlock, transition } from './blocks.js';

export interface DenseNetConfig {
  growthRate: number;
  /** dense layers per block */
  blockConfig: readonly [number, number, number, number];
  /** channels out of the stem convolution */
  numInitFeatures: number;
  bnSize?: number;
  numClasses?: number;
}

/** Feature taps: each dense block's output, and `features` (after norm5 and its ReLU). */
export const DENSENET_TAPS = ['denseblock1', 'denseblock2', 'denseblock3', 'denseblock4', 'features'] as const;

export function densenetArchitecture(name: string, config: DenseNetConfig, metadata: ModelMetadata): Architecture {
  const dense = { growthRate: config.growthRate, bnSize: config.bnSize ?? 4 };
  return {
    name,
    inputShape: [3, 224, 224],
    metadata,
    define(b, input) {
      let x = b.conv2d(input, 'features.conv0', { outChannels: config.numInitFeatures, kernelSize: 7, stride: 2, padding: 3, bias: false });
      x = b.relu(b.batchNorm2d(x, 'features.norm0'));
      x = b.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 });
      config.blockConfig.forEach((layers, i) => {
        x = b.output(`denseblock${i + 1}`, denseBlock(b, x, `features.denseblock${i + 1}`, layers, dense));
        if (i < config.blockConfig.length - 1) x = transition(b, x, `features.transition${i + 1}`, Math.floor(x.shape[0] / 2));
      });
      // torchvision's `features` module ends at norm5; its forward applies the ReLU.
      x = b.output('features', b.relu(b.batchNorm2d(x, 'features.norm5')));
      x = b.flatten(b.adaptiveAvgPool2d(x, 1));
      b.output('logits', b.linear(x, 'classifier', config.numClasses ?? 1000));
    },
  };
}

const imagenet = { resizeSize: 256, cropSize: 224, interpolation: 'bilinear', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;
const paper = 'Huang, Liu, van der Maaten and Weinberger, Densely Connected Convolutional Networks, CVPR 2017';

/** The variant table: torchvision's builders with the metadata of their DEFAULT weights. */
export const DENSENET_VARIANTS = {
  densenet121: {
    config: { growthRate: 32, blockConfig: [6, 12, 24, 16], numInitFeatures: 64 },
    metadata: { weights: 'DenseNet121_Weights.IMAGENET1K_V1', preprocessing: imagenet, top1: 74.434, top5: 91.972, parameters: 7_978_856, gflops: 2.83, paper },
  },
  densenet161: {
    config: { growthRate: 48, blockConfig: [6, 12, 36, 24], numInitFeatures: 96 },
    metadata: { weights: 'DenseNet161_Weights.IMAGENET1K_V1', preprocessing: imagenet, top1: 77.138, top5: 93.56, parameters: 28_681_000, gflops: 7.73, paper },
  },
  densenet169: {
    config: { growthRate: 32, blockConfig: [6, 12, 32, 32], numInitFeatures: 64 },
    metadata: { weights: 'DenseNet169_Weights.IMAGENET1K_V1', preprocessing: imagenet, top1: 75.6, top5: 92.806, parameters: 14_149_480, gflops: 3.36, paper },
  },
  densenet201: {
    config: { growthRate: 32, blockConfig: [6, 12, 48, 32], numInitFeatures: 64 },
    metadata: { weights: 'DenseNet201_Weights.IMAGENET1K_V1', preprocessing: imagenet, top1: 76.896, top5: 93.37, parameters: 20_013_928, gflops: 4.29, paper },
  },
} as const satisfies Record<string, { config: DenseNetConfig; metadata: ModelMetadata }>;

export type DenseNetVariant = keyof typeof DENSENET_VARIANTS;

export interface DenseNetOptions {
  /** classifier outputs; default 1000 (ImageNet) */
  numClasses?: number;
}

export function densenet(variant: DenseNetVariant, options: DenseNetOptions = {}): Model {
  const v = DENSENET_VARIANTS[variant];
  if (!v) throw new Error(`unknown DenseNet variant '${variant}'; expected one of ${Object.keys(DENSENET_VARIANTS).join(', ')}`);
  // the other variants are built only to name the one a mismatched weights file is for
  const siblings = () =>
    (Object.keys(DENSENET_VARIANTS) as DenseNetVariant[])
      .filter((name) => name !== variant)
      .map((name) => densenetArchitecture(name, { ...DENSENET_VARIANTS[name].config, numClasses: options.numClasses }, DENSENET_VARIANTS[name].metadata));
  return new Model(densenetArchitecture(variant, { ...v.config, numClasses: options.numClasses }, v.metadata), { siblings });
}
