// DenseNet(growth rate, block config, initial features): a 7x7 stem, four dense blocks joined by
// transitions, a final batch norm and ReLU, global average pooling and the classifier.
import { ReductionTaps, viewConcatInputs, imagenetPreprocessing, modelFamily, type Architecture, type Model, type ModelMetadata } from '@cnn/core';
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
/**
 * Taps by reduction: `stride2` the stem's ReLU (features.relu0), `stride4` ... `stride16` dense
 * blocks 1-3 (a transition, which holds the pool, starts the next reduction), `stride32` is
 * `features` (block 4 after norm5 and ReLU, the last map before global pooling).
 */
export const DENSENET_STRIDE_TAPS = ['stride2', 'stride4', 'stride8', 'stride16', 'stride32'] as const;

export function densenetArchitecture(name: string, config: DenseNetConfig, metadata: ModelMetadata): Architecture {
  const dense = { growthRate: config.growthRate, bnSize: config.bnSize ?? 4 };
  return {
    name,
    inputShape: [3, 224, 224],
    metadata,
    // concatenated branch outputs become channel views of one buffer, not copies
    planPasses: [viewConcatInputs],
    define(b, input) {
      const taps = new ReductionTaps(b);
      let x = b.conv2d(input, 'features.conv0', { outChannels: config.numInitFeatures, kernelSize: 7, stride: 2, padding: 3, bias: false });
      x = taps.layer('features.relu0', b.relu(b.batchNorm2d(x, 'features.norm0')), 2);
      x = taps.layer('features.pool0', b.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }), 2);
      config.blockConfig.forEach((layers, i) => {
        x = taps.module(`denseblock${i + 1}`, denseBlock(b, x, `features.denseblock${i + 1}`, layers, dense));
        if (i < config.blockConfig.length - 1) x = taps.layer(`features.transition${i + 1}`, transition(b, x, `features.transition${i + 1}`, Math.floor(x.shape[0] / 2)), 2);
      });
      // torchvision's `features` module ends at norm5; its forward applies the ReLU.
      x = taps.module('features', b.relu(b.batchNorm2d(x, 'features.norm5')));
      taps.declare();
      x = b.flatten(b.adaptiveAvgPool2d(x, 1));
      b.output('logits', b.linear(x, 'classifier', config.numClasses ?? 1000));
    },
  };
}

const imagenet = imagenetPreprocessing({ resizeSize: 256 });
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

/** The family builder: any variant of the table, with options applied to its config. */
export const densenet: (variant: DenseNetVariant, options?: DenseNetOptions) => Model = modelFamily('DenseNet', DENSENET_VARIANTS, densenetArchitecture);
