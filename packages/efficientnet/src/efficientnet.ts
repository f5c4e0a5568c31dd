// EfficientNet(width, depth): the B0 stage table scaled by compound coefficients, a stem,
// seven MBConv stages, a 1x1 head convolution and the classifier.
import { ReductionTaps, imagenetPreprocessing, modelFamily, type Architecture, type Model, type ModelMetadata, type Preprocessing } from '@cnn/core';
import { convNormActivation, makeDivisible, mbConv } from './blocks.js';

/** One row of the paper's Table 1 (the B0 baseline, before scaling). */
interface StageSpec {
  expandRatio: number;
  kernel: number;
  stride: number;
  inChannels: number;
  outChannels: number;
  layers: number;
}

/** EfficientNet-B0, Table 1 of Tan & Le (2019): stages 2-8 (stage 1 is the stem). */
const B0_STAGES: readonly StageSpec[] = [
  { expandRatio: 1, kernel: 3, stride: 1, inChannels: 32, outChannels: 16, layers: 1 },
  { expandRatio: 6, kernel: 3, stride: 2, inChannels: 16, outChannels: 24, layers: 2 },
  { expandRatio: 6, kernel: 5, stride: 2, inChannels: 24, outChannels: 40, layers: 2 },
  { expandRatio: 6, kernel: 3, stride: 2, inChannels: 40, outChannels: 80, layers: 3 },
  { expandRatio: 6, kernel: 5, stride: 1, inChannels: 80, outChannels: 112, layers: 3 },
  { expandRatio: 6, kernel: 5, stride: 2, inChannels: 112, outChannels: 192, layers: 4 },
  { expandRatio: 6, kernel: 3, stride: 1, inChannels: 192, outChannels: 320, layers: 1 },
];

/**
 * Feature taps: `stage1`..`stage7` are the outputs of features.1..features.7 (the MBConv stages,
 * strides 2, 4, 8, 16, 16, 32, 32), `features` is features.8 (the 1x1 head convolution + SiLU,
 * before global pooling).
 */
export const EFFICIENTNET_TAPS = ['stage1', 'stage2', 'stage3', 'stage4', 'stage5', 'stage6', 'stage7', 'features'] as const;
/**
 * Taps by reduction, the naming every family shares (`stageN` above is EfficientNet's own stage
 * numbering, not a stride: ConvNeXt's `stage1` is at stride 4): stride2 = stage1, stride4 =
 * stage2, stride8 = stage3, stride16 = stage5, stride32 = features (the last map before pooling).
 */
export const EFFICIENTNET_STRIDE_TAPS = ['stride2', 'stride4', 'stride8', 'stride16', 'stride32'] as const;

export interface EfficientNetConfig {
  widthMult: number;
  depthMult: number;
  /** batch norm epsilon: PyTorch's default 1e-5 for B0-B4, 1e-3 (TensorFlow's) for B5-B7 */
  bnEps: number;
  /** native input side: the crop size of the DEFAULT weights */
  resolution: number;
  numClasses?: number;
}

export function efficientnetArchitecture(name: string, config: EfficientNetConfig, metadata: ModelMetadata): Architecture {
  const width = (c: number) => makeDivisible(c * config.widthMult);
  const depth = (n: number) => Math.ceil(n * config.depthMult);
  const eps = config.bnEps;
  return {
    name,
    inputShape: [3, config.resolution, config.resolution],
    metadata,
    define(b, input) {
      const taps = new ReductionTaps(b);
      let x = convNormActivation(b, input, 'features.0', width(B0_STAGES[0].inChannels), { kernelSize: 3, stride: 2, eps, activation: 'silu' });
      taps.layer('features.0', x, 2);
      B0_STAGES.forEach((stage, s) => {
        const outChannels = width(stage.outChannels);
        for (let i = 0; i < depth(stage.layers); i++) {
          const cfg = { expandRatio: stage.expandRatio, kernel: stage.kernel, stride: i === 0 ? stage.stride : 1, outChannels, eps };
          x = mbConv(b, x, `features.${s + 1}.${i}`, cfg);
        }
        taps.module(EFFICIENTNET_TAPS[s], x, stage.stride);
      });
      const last = B0_STAGES.length + 1;
      x = convNormActivation(b, x, `features.${last}`, 4 * x.shape[0], { kernelSize: 1, eps, activation: 'silu' });
      taps.module('features', x);
      taps.declare();
      x = b.dropout(b.flatten(b.adaptiveAvgPool2d(x, 1)));
      b.output('logits', b.linear(x, 'classifier.1', config.numClasses ?? 1000));
    },
  };
}

const imagenet = (cropSize: number, resizeSize: number, interpolation: Preprocessing['interpolation'] = 'bicubic') =>
  imagenetPreprocessing({ resizeSize, cropSize, interpolation });
const paper = 'Tan & Le, EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks, ICML 2019';

/** The variant table: torchvision's builders (compound scaling) with the metadata of their DEFAULT weights. */
export const EFFICIENTNET_VARIANTS = {
  efficientnet_b0: {
    config: { widthMult: 1.0, depthMult: 1.0, bnEps: 1e-5, resolution: 224 },
    metadata: { weights: 'EfficientNet_B0_Weights.IMAGENET1K_V1', preprocessing: imagenet(224, 256), top1: 77.692, top5: 93.532, parameters: 5_288_548, gflops: 0.39, paper },
  },
  efficientnet_b1: {
    config: { widthMult: 1.0, depthMult: 1.1, bnEps: 1e-5, resolution: 240 },
    metadata: { weights: 'EfficientNet_B1_Weights.IMAGENET1K_V2', preprocessing: imagenet(240, 255, 'bilinear'), top1: 79.838, top5: 94.934, parameters: 7_794_184, gflops: 0.69, paper },
  },
  efficientnet_b2: {
    config: { widthMult: 1.1, depthMult: 1.2, bnEps: 1e-5, resolution: 288 },
    metadata: { weights: 'EfficientNet_B2_Weights.IMAGENET1K_V1', preprocessing: imagenet(288, 288), top1: 80.608, top5: 95.31, parameters: 9_109_994, gflops: 1.09, paper },
  },
  efficientnet_b3: {
    config: { widthMult: 1.2, depthMult: 1.4, bnEps: 1e-5, resolution: 300 },
    metadata: { weights: 'EfficientNet_B3_Weights.IMAGENET1K_V1', preprocessing: imagenet(300, 320), top1: 82.008, top5: 96.054, parameters: 12_233_232, gflops: 1.83, paper },
  },
  efficientnet_b4: {
    config: { widthMult: 1.4, depthMult: 1.8, bnEps: 1e-5, resolution: 380 },
    metadata: { weights: 'EfficientNet_B4_Weights.IMAGENET1K_V1', preprocessing: imagenet(380, 384), top1: 83.384, top5: 96.594, parameters: 19_341_616, gflops: 4.39, paper },
  },
  efficientnet_b5: {
    config: { widthMult: 1.6, depthMult: 2.2, bnEps: 1e-3, resolution: 456 },
    metadata: { weights: 'EfficientNet_B5_Weights.IMAGENET1K_V1', preprocessing: imagenet(456, 456), top1: 83.444, top5: 96.628, parameters: 30_389_784, gflops: 10.27, paper },
  },
  efficientnet_b6: {
    config: { widthMult: 1.8, depthMult: 2.6, bnEps: 1e-3, resolution: 528 },
    metadata: { weights: 'EfficientNet_B6_Weights.IMAGENET1K_V1', preprocessing: imagenet(528, 528), top1: 84.008, top5: 96.916, parameters: 43_040_704, gflops: 19.07, paper },
  },
  efficientnet_b7: {
    config: { widthMult: 2.0, depthMult: 3.1, bnEps: 1e-3, resolution: 600 },
    metadata: { weights: 'EfficientNet_B7_Weights.IMAGENET1K_V1', preprocessing: imagenet(600, 600), top1: 84.122, top5: 96.908, parameters: 66_347_960, gflops: 37.75, paper },
  },
} as const satisfies Record<string, { config: EfficientNetConfig; metadata: ModelMetadata }>;

export type EfficientNetVariant = keyof typeof EFFICIENTNET_VARIANTS;

export interface EfficientNetOptions {
  /** classifier outputs; default 1000 (ImageNet) */
  numClasses?: number;
}

/** The family builder: any variant of the table, with options applied to its config. */
export const efficientnet: (variant: EfficientNetVariant, options?: EfficientNetOptions) => Model = modelFamily('EfficientNet', EFFICIENTNET_VARIANTS, efficientnetArchitecture);
