// ConvNeXt(stages): a 4x4 patchify stem, four stages of CNBlocks with a downsampling layer
// between them, global pooling and a LayerNorm + Linear head.
import { Model, type Architecture, type ModelMetadata, type Preprocessing } from '@cnn/core';
import { cnBlock, downsample, LAYER_NORM_EPS } from './blocks.js';

export interface ConvNeXtConfig {
  /** channels per stage */
  widths: readonly [number, number, number, number];
  /** blocks per stage */
  depths: readonly [number, number, number, number];
  numClasses?: number;
}

/** Feature taps: each is a stage's last block output (features.1, .3, .5, .7; strides 4, 8, 16, 32). */
export const CONVNEXT_TAPS = ['stage1', 'stage2', 'stage3', 'stage4'] as const;

export function convnextArchitecture(name: string, config: ConvNeXtConfig, metadata: ModelMetadata): Architecture {
  const { widths, depths } = config;
  return {
    name,
    inputShape: [3, 224, 224],
    metadata,
    define(b, input) {
      // features.0: non-overlapping 4x4 patches, then LayerNorm2d
      let x = b.conv2d(input, 'features.0.0', { outChannels: widths[0], kernelSize: 4, stride: 4, bias: true });
      x = b.layerNorm2d(x, 'features.0.1', LAYER_NORM_EPS);
      // features.1, 3, 5, 7 are the stages; features.2, 4, 6 the downsampling layers between them
      for (let s = 0; s < 4; s++) {
        const stage = `features.${2 * s + 1}`;
        for (let i = 0; i < depths[s]; i++) x = cnBlock(b, x, `${stage}.${i}`);
        b.output(CONVNEXT_TAPS[s], x);
        if (s < 3) x = downsample(b, x, `features.${2 * s + 2}`, widths[s + 1]);
      }
      x = b.adaptiveAvgPool2d(x, 1);
      x = b.flatten(b.layerNorm2d(x, 'classifier.0', LAYER_NORM_EPS));
      b.output('logits', b.linear(x, 'classifier.2', config.numClasses ?? 1000));
    },
  };
}

/** torchvision's ImageClassification preset: bilinear resize, 224 crop, ImageNet statistics. */
const imagenet = (resizeSize: number): Preprocessing => ({
  resizeSize,
  cropSize: 224,
  interpolation: 'bilinear',
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
});

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

export function convnext(variant: ConvNeXtVariant, options: ConvNeXtOptions = {}): Model {
  const v = CONVNEXT_VARIANTS[variant];
  if (!v) throw new Error(`unknown ConvNeXt variant '${variant}'; expected one of ${Object.keys(CONVNEXT_VARIANTS).join(', ')}`);
  // the other variants are built only to name the one a mismatched weights file is for
  const siblings = () =>
    (Object.keys(CONVNEXT_VARIANTS) as ConvNeXtVariant[])
      .filter((name) => name !== variant)
      .map((name) => convnextArchitecture(name, { ...CONVNEXT_VARIANTS[name].config, numClasses: options.numClasses }, CONVNEXT_VARIANTS[name].metadata));
  return new Model(convnextArchitecture(variant, { ...v.config, numClasses: options.numClasses }, v.metadata), { siblings });
}
