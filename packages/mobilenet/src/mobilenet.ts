// The variant table: torchvision's MobileNet builders with the metadata of their DEFAULT weights,
// MobileNet v1 with the paper's figures, and one builder per family that applies the options.
import { Model, buildGraph, summarize, type Architecture, type ModelMetadata } from '@cnn/core';
import { MOBILENET_V1_PAPER, mobilenetV1Architecture, type MobileNetV1Options } from './mobilenet-v1.js';
import { mobilenetV2Architecture, type MobileNetV2Options } from './mobilenet-v2.js';
import { MOBILENET_V3_LARGE, MOBILENET_V3_SMALL, mobilenetV3Architecture, type MobileNetV3Options } from './mobilenet-v3.js';

const imagenet = (resizeSize: number, cropSize = 224) =>
  ({ resizeSize, cropSize, interpolation: 'bilinear', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }) as const;

const PAPERS = {
  v1: 'Howard et al., MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications, 2017 (arXiv:1704.04861)',
  v2: 'Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks, CVPR 2018 (arXiv:1801.04381)',
  v3: 'Howard et al., Searching for MobileNetV3, ICCV 2019 (arXiv:1905.02244)',
};

/**
 * torchvision's builders with their DEFAULT weights' metadata (at width multiplier 1), and
 * MobileNet v1 (α = 1, 224x224) with the paper's figures: torchvision has no v1 weights.
 */
export const MOBILENET_VARIANTS = {
  mobilenet_v1: {
    metadata: { preprocessing: imagenet(256), top1: 70.6, parameters: 4_231_976, gflops: 0.569, paper: PAPERS.v1 },
  },
  mobilenet_v2: {
    metadata: { weights: 'MobileNet_V2_Weights.IMAGENET1K_V2', preprocessing: imagenet(232), top1: 72.154, top5: 90.822, parameters: 3_504_872, gflops: 0.3, paper: PAPERS.v2 },
  },
  mobilenet_v3_large: {
    metadata: { weights: 'MobileNet_V3_Large_Weights.IMAGENET1K_V2', preprocessing: imagenet(232), top1: 75.274, top5: 92.566, parameters: 5_483_032, gflops: 0.22, paper: PAPERS.v3 },
  },
  mobilenet_v3_small: {
    metadata: { weights: 'MobileNet_V3_Small_Weights.IMAGENET1K_V1', preprocessing: imagenet(256), top1: 67.668, top5: 87.402, parameters: 2_542_856, gflops: 0.06, paper: PAPERS.v3 },
  },
} as const satisfies Record<string, { metadata: ModelMetadata }>;

export type MobileNetVariant = keyof typeof MOBILENET_VARIANTS;

/** Metadata for a network without published weights: its exact parameter count and its paper. */
function countedMetadata(make: (m: ModelMetadata) => Architecture, extra: Omit<ModelMetadata, 'parameters'>): Architecture {
  const parameters = summarize(buildGraph(make({ parameters: 0 }))).totalParameters;
  return make({ ...extra, parameters });
}

/**
 * MobileNet v1 with width multiplier α (`alpha`) and resolution multiplier ρ (`rho`). Without
 * torchvision weights, the metadata is the exact parameter count plus the paper's accuracy and
 * mult-adds where (α, resolution) is one of its Table 6/7 rows; the preprocessing preset is
 * torchvision's standard ImageNet one (resize to crop / 0.875) at the native resolution.
 */
export function mobilenet_v1(options: MobileNetV1Options = {}): Model {
  const alpha = options.alpha ?? 1;
  const resolution = Math.round(224 * (options.rho ?? 1));
  const make = (m: ModelMetadata) => mobilenetV1Architecture(m, options);
  if (alpha === 1 && resolution === 224 && (options.numClasses ?? 1000) === 1000) return new Model(make(MOBILENET_VARIANTS.mobilenet_v1.metadata));
  const row = MOBILENET_V1_PAPER.find((r) => r.alpha === alpha && r.resolution === resolution);
  const paperFigures = row && (options.numClasses ?? 1000) === 1000 ? { top1: row.top1, gflops: row.multAddsM / 1000 } : {};
  return new Model(countedMetadata(make, { ...paperFigures, preprocessing: imagenet(Math.round(resolution / 0.875), resolution), paper: PAPERS.v1 }));
}

/** With widthMult ≠ 1 there are no published weights: only the exact parameter count is kept. */
function forWidth(variant: Exclude<MobileNetVariant, 'mobilenet_v1'>, widthMult: number | undefined, make: (m: ModelMetadata) => Architecture): Model {
  const metadata = MOBILENET_VARIANTS[variant].metadata;
  if ((widthMult ?? 1) === 1) return new Model(make(metadata));
  return new Model(countedMetadata(make, { paper: metadata.paper }));
}

export function mobilenet_v2(options: MobileNetV2Options = {}): Model {
  return forWidth('mobilenet_v2', options.widthMult, (m) => mobilenetV2Architecture(m, options));
}

export function mobilenet_v3_large(options: MobileNetV3Options = {}): Model {
  return forWidth('mobilenet_v3_large', options.widthMult, (m) => mobilenetV3Architecture('mobilenet_v3_large', MOBILENET_V3_LARGE, m, options));
}

export function mobilenet_v3_small(options: MobileNetV3Options = {}): Model {
  return forWidth('mobilenet_v3_small', options.widthMult, (m) => mobilenetV3Architecture('mobilenet_v3_small', MOBILENET_V3_SMALL, m, options));
}
