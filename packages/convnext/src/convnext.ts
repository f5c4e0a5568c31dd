// ConvNeXt(stages): a 4x4 patchify stem, four stages of CNBlocks with a downsampling layer
// between them, global pooling and a LayerNorm + Linear head.
import { ReductionTaps, imagenetPreprocessing, modelFamily, type Architecture, type Model, type ModelMetadata } from '@cnn/core';
import { cnBlock, downsample, LAYER_NORM_EPS } from './blocks.js';

export interface ConvNeXtConfig {
  /** channels per stage */
  widths: readonly [number, number, number, number];
  /** blocks per stage */
  depths: readonly [number, number, number, number];
  numClasses?: number;
}

/**
 * Feature taps: each is a stage's last block output (features.1, .3, .5, .7). These are ConvNeXt's
 * own four stage numbers, not strides (EfficientNet's `stage1` is another family's numbering): the
 * same maps are `stride4` ... `stride32`, the one naming every family shares.
 */
export const CONVNEXT_TAPS = ['stage1', 'stage2', 'stage3', 'stage4'] as const;
/** Taps by reduction: stage1-4 (the 4x4 patchify stem has no stride-2 map). */
export const CONVNEXT_STRIDE_TAPS = ['stride4', 'stride8', 'stride16', 'stride32'] as const;

export function convnextArchitecture(name: string, config: ConvNeXtConfig, metadata: ModelMetadata): Architecture {
  const { widths, depths } = config;
  return {
    name,
    inputShape: [3, 224, 224],
    metadata,
    define(b, input) {
      // features.0: non-overlapping 4x4 patches, then LayerNorm2d
      const taps = new ReductionTaps(b);
      let x = b.conv2d(input, 'features.0.0', { outChannels: widths[0], kernelSize: 4, stride: 4, bias: true });
      x = taps.layer('features.0', b.layerNorm2d(x, 'features.0.1', LAYER_NORM_EPS), 4);
      // features.1, 3, 5, 7 are the stages; features.2, 4, 6 the downsampling layers between them
      for (let s = 0; s < 4; s++) {
        const stage = `features.${2 * s + 1}`;
        for (let i = 0; i < depths[s]; i++) x = cnBlock(b, x, `${stage}.${i}`);
        taps.module(CONVNEXT_TAPS[s], x);
        if (s < 3) x = taps.layer(`features.${2 * s + 2}`, downsample(b, x, `features.${2 * s + 2}`, widths[s + 1]), 2);
      }
      taps.declare();
      x = b.adaptiveAvgPool2d(x, 1);
      x = b.flatten(b.layerNorm2d(x, 'classifier.0', LAYER_NORM_EPS));
      b.output('logits', b.linear(x, 'classifier.2', config.numClasses ?? 1000));
    },
  };
}

const imagenet = (resizeSize: number) => imagenetPreprocessing({ resizeSize });
const paper = 'Liu et al., A ConvNet for the 2020s, CVPR 2022';

/** The variant table: torchvision's builders with the metadata of their DEFAULT weights. */
export const CONVNEXT_VARIANTS = {
  convnext_tiny: {
    config: { widths: [96, 192, 384, 768], depths: [3, 3, 9, 3] },
    metadata: { weights: 'ConvNeXt_Tiny_Weights.IMAGENET1K_V1', preprocessing: imagenet(236), top1: 82.52, top5: 96.146, parameters: 28_589_128, gflops: 4.46, paper },
  },
  convnext_small: {
    config: { widths: [96, 192, 384, 768], depths: [3, 3, 27, 3] },
    metadata: { weights: 'ConvNeXt_Small_Weights.IMAGENET1K_V1', preprocessing: imagenet(230), top1: 83.616, top5: 96.65, parameters: 50_223_688, gflops: 8.68, paper },
  },
  convnext_base: {
    config: { widths: [128, 256, 512, 1024], depths: [3, 3, 27, 3] },
    metadata: { weights: 'ConvNeXt_Base_Weights.IMAGENET1K_V1', preprocessing: imagenet(232), top1: 84.062, top5: 96.87, parameters: 88_591_464, gflops: 15.36, paper },
  },
  convnext_large: {
    config: { widths: [192, 384, 768, 1536], depths: [3, 3, 27, 3] },
    metadata: { weights: 'ConvNeXt_Large_Weights.IMAGENET1K_V1', preprocessing: imagenet(232), top1: 84.414, top5: 96.976, parameters: 197_767_336, gflops: 34.36, paper },
  },
} as const satisfies Record<string, { config: ConvNeXtConfig; metadata: ModelMetadata }>;

export type ConvNeXtVariant = keyof typeof CONVNEXT_VARIANTS;

export interface ConvNeXtOptions {
  /** classifier outputs; default 1000 (ImageNet) */
  numClasses?: number;
}

/** The family builder: any variant of the table, with options applied to its config. */
export const convnext: (variant: ConvNeXtVariant, options?: ConvNeXtOptions) => Model = modelFamily('ConvNeXt', CONVNEXT_VARIANTS, convnextArchitecture);
