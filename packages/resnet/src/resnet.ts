// ResNet(block, layers): the stem, four stages built by makeLayer, and the classifier.
import { ReductionTaps, type Model, imagenetPreprocessing, modelFamily, type Architecture, type GraphBuilder, type ModelMetadata, type Value } from '@cnn/core';
import { BasicBlock, Bottleneck, type Block, type BlockConfig } from './blocks.js';

export interface ResNetConfig {
  block: Block;
  /** blocks per stage */
  layers: readonly [number, number, number, number];
  groups?: number;
  widthPerGroup?: number;
  numClasses?: number;
}

/** Stage names, usable as feature taps: each is the stage's last block output. */
export const RESNET_TAPS = ['layer1', 'layer2', 'layer3', 'layer4'] as const;
/**
 * Taps by reduction: `stride2` is the stem's ReLU (torchvision's `relu` module), `stride4` ...
 * `stride32` are layer1 ... layer4.
 */
export const RESNET_STRIDE_TAPS = ['stride2', 'stride4', 'stride8', 'stride16', 'stride32'] as const;

function makeLayer(b: GraphBuilder, x: Value, name: string, block: Block, planes: number, blocks: number, stride: number, config: BlockConfig): Value {
  x = block.define(b, x, `${name}.0`, planes, stride, config);
  for (let i = 1; i < blocks; i++) x = block.define(b, x, `${name}.${i}`, planes, 1, config);
  return x;
}

export function resnetArchitecture(name: string, config: ResNetConfig, metadata: ModelMetadata): Architecture {
  const blockConfig: BlockConfig = { groups: config.groups ?? 1, baseWidth: config.widthPerGroup ?? 64 };
  const numClasses = config.numClasses ?? 1000;
  return {
    name,
    inputShape: [3, 224, 224],
    metadata,
    define(b, input) {
      const taps = new ReductionTaps(b);
      let x = b.relu(b.batchNorm2d(b.conv2d(input, 'conv1', { outChannels: 64, kernelSize: 7, stride: 2, padding: 3, bias: false }), 'bn1'));
      taps.layer('relu', x, 2);
      x = taps.layer('maxpool', b.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }), 2);
      const widths = [64, 128, 256, 512];
      config.layers.forEach((blocks, i) => {
        const stride = i === 0 ? 1 : 2;
        x = taps.module(RESNET_TAPS[i], makeLayer(b, x, RESNET_TAPS[i], config.block, widths[i], blocks, stride, blockConfig), stride);
      });
      taps.declare();
      x = b.flatten(b.adaptiveAvgPool2d(x, 1));
      b.output('logits', b.linear(x, 'fc', numClasses));
    },
  };
}

const imagenet = (resizeSize: number) => imagenetPreprocessing({ resizeSize });

/** The variant table: torchvision's builders with the metadata of their DEFAULT weights. */
export const RESNET_VARIANTS = {
  resnet18: {
    config: { block: BasicBlock, layers: [2, 2, 2, 2] },
    metadata: { weights: 'ResNet18_Weights.IMAGENET1K_V1', preprocessing: imagenet(256), top1: 69.758, top5: 89.078, parameters: 11_689_512, gflops: 1.81 },
  },
  resnet34: {
    config: { block: BasicBlock, layers: [3, 4, 6, 3] },
    metadata: { weights: 'ResNet34_Weights.IMAGENET1K_V1', preprocessing: imagenet(256), top1: 73.314, top5: 91.42, parameters: 21_797_672, gflops: 3.66 },
  },
  resnet50: {
    config: { block: Bottleneck, layers: [3, 4, 6, 3] },
    metadata: { weights: 'ResNet50_Weights.IMAGENET1K_V2', preprocessing: imagenet(232), top1: 80.858, top5: 95.434, parameters: 25_557_032, gflops: 4.09 },
  },
  resnet101: {
    config: { block: Bottleneck, layers: [3, 4, 23, 3] },
    metadata: { weights: 'ResNet101_Weights.IMAGENET1K_V2', preprocessing: imagenet(232), top1: 81.886, top5: 95.78, parameters: 44_549_160, gflops: 7.8 },
  },
  resnet152: {
    config: { block: Bottleneck, layers: [3, 8, 36, 3] },
    metadata: { weights: 'ResNet152_Weights.IMAGENET1K_V2', preprocessing: imagenet(232), top1: 82.284, top5: 96.002, parameters: 60_192_808, gflops: 11.51 },
  },
  resnext50_32x4d: {
    config: { block: Bottleneck, layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4 },
    metadata: { weights: 'ResNeXt50_32X4D_Weights.IMAGENET1K_V2', preprocessing: imagenet(232), top1: 81.198, top5: 95.34, parameters: 25_028_904, gflops: 4.23 },
  },
  resnext101_32x8d: {
    config: { block: Bottleneck, layers: [3, 4, 23, 3], groups: 32, widthPerGroup: 8 },
    metadata: { weights: 'ResNeXt101_32X8D_Weights.IMAGENET1K_V2', preprocessing: imagenet(232), top1: 82.834, top5: 96.228, parameters: 88_791_336, gflops: 16.41 },
  },
  resnext101_64x4d: {
    config: { block: Bottleneck, layers: [3, 4, 23, 3], groups: 64, widthPerGroup: 4 },
    metadata: { weights: 'ResNeXt101_64X4D_Weights.IMAGENET1K_V1', preprocessing: imagenet(232), top1: 83.246, top5: 96.454, parameters: 83_455_272, gflops: 15.46 },
  },
  wide_resnet50_2: {
    config: { block: Bottleneck, layers: [3, 4, 6, 3], widthPerGroup: 128 },
    metadata: { weights: 'Wide_ResNet50_2_Weights.IMAGENET1K_V2', preprocessing: imagenet(232), top1: 81.602, top5: 95.758, parameters: 68_883_240, gflops: 11.4 },
  },
  wide_resnet101_2: {
    config: { block: Bottleneck, layers: [3, 4, 23, 3], widthPerGroup: 128 },
    metadata: { weights: 'Wide_ResNet101_2_Weights.IMAGENET1K_V2', preprocessing: imagenet(232), top1: 82.51, top5: 96.02, parameters: 126_886_696, gflops: 22.75 },
  },
} as const satisfies Record<string, { config: ResNetConfig; metadata: ModelMetadata }>;

export type ResNetVariant = keyof typeof RESNET_VARIANTS;

export interface ResNetOptions {
  /** classifier outputs; default 1000 (ImageNet) */
  numClasses?: number;
}

/** The family builder: any variant of the table, with options applied to its config. */
export const resnet: (variant: ResNetVariant, options?: ResNetOptions) => Model = modelFamily('ResNet', RESNET_VARIANTS, resnetArchitecture);
