// AlexNet: five convolutions and three fully connected layers, as torchvision builds it (the
// single-tower "One weird trick" widths 64-192-384-256-256), and the 2012 paper's network: 96
// filters of 11x11 first, 256-384-384-256 after, the two-GPU split as groups of 2 on conv2, conv4
// and conv5, and local response normalisation after the first two convolutions.
import { ReductionTaps, imagenetPreprocessing, modelFamily, type Architecture, type GraphBuilder, type Model, type ModelMetadata, type Value } from '@cnn/core';

/** torch.nn.LocalResponseNorm's arguments; note torch divides `alpha` by `size`. */
export interface LocalResponseNormParams {
  size: number;
  alpha: number;
  beta: number;
  k: number;
}

/**
 * The paper's constants (Krizhevsky et al. 2012, section 3.3: n = 5, k = 2, alpha = 1e-4,
 * beta = 0.75) for b = a / (k + alpha * sum a^2)^beta. torch.nn.LocalResponseNorm (and our op)
 * computes k + alpha / size * sum a^2, so the paper's alpha is passed as 5 * 1e-4.
 */
export const PAPER_LRN: LocalResponseNormParams = { size: 5, alpha: 5 * 1e-4, beta: 0.75, k: 2 };

type Five = readonly [number, number, number, number, number];
/** Output channels of conv1-5: torchvision's single tower, and the paper's two towers together. */
export const TORCHVISION_WIDTHS: Five = [64, 192, 384, 256, 256];
export const PAPER_WIDTHS: Five = [96, 256, 384, 384, 256];
/** The paper's two-GPU split: conv2, conv4 and conv5 see only their own GPU's half of the input. */
export const PAPER_GROUPS: Five = [1, 2, 1, 2, 2];

export interface AlexNetConfig {
  /** output channels of conv1-5; default TORCHVISION_WIDTHS */
  widths?: Five;
  /** groups of conv1-5; default all 1 (PAPER_GROUPS for the 2012 network) */
  groups?: Five;
  /** LRN after the ReLUs of conv1 and conv2, before their max pools (the 2012 paper); none in torchvision */
  localResponseNorm?: LocalResponseNormParams;
  numClasses?: number;
}

/**
 * Feature taps: each convolution's ReLU output, and the ReLU outputs of the first two fully
 * connected layers. With LRN, `norm1` and `norm2` are the normalised maps.
 */
export const ALEXNET_TAPS = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7'] as const;
export const ALEXNET_LRN_TAPS = ['norm1', 'norm2'] as const;
/**
 * Taps by reduction: stride4 = conv1, stride8 = conv2 (norm1, norm2 with LRN), stride16 = conv5,
 * stride32 = the last max pool (`features.12`). There is no stride-2 map: conv1 has stride 4.
 */
export const ALEXNET_STRIDE_TAPS = ['stride4', 'stride8', 'stride16', 'stride32'] as const;

function convRelu(b: GraphBuilder, x: Value, index: number, outChannels: number, kernelSize: number, stride: number, padding: number, groups: number): Value {
  return b.relu(b.conv2d(x, `features.${index}`, { outChannels, kernelSize, stride, padding, groups }));
}

/**
 * torchvision's `features` Sequential: conv/ReLU/pool at indices 0-12. The LRN layers carry no
 * parameters, so every key stays torchvision's (features.0, .3, .6, .8, .10) with or without them.
 */
function features(b: GraphBuilder, x: Value, config: AlexNetConfig): Value {
  const [c1, c2, c3, c4, c5] = config.widths ?? TORCHVISION_WIDTHS;
  const [g1, g2, g3, g4, g5] = config.groups ?? [1, 1, 1, 1, 1];
  const lrn = config.localResponseNorm;
  const taps = new ReductionTaps(b);
  const normalise = (v: Value, tap: string) => (lrn ? taps.module(tap, b.localResponseNorm(v, lrn.size, lrn.alpha, lrn.beta, lrn.k)) : v);
  const pool = (v: Value, index: number) => taps.layer(`features.${index}`, b.maxPool2d(v, { kernelSize: 3, stride: 2 }), 2);
  x = pool(normalise(taps.module('conv1', convRelu(b, x, 0, c1, 11, 4, 2, g1), 4), 'norm1'), 2);
  x = pool(normalise(taps.module('conv2', convRelu(b, x, 3, c2, 5, 1, 2, g2)), 'norm2'), 5);
  x = b.output('conv3', convRelu(b, x, 6, c3, 3, 1, 1, g3));
  x = b.output('conv4', convRelu(b, x, 8, c4, 3, 1, 1, g4));
  x = taps.module('conv5', convRelu(b, x, 10, c5, 3, 1, 1, g5));
  x = pool(x, 12);
  taps.declare();
  return x;
}

/** torchvision's `classifier`: dropout, FC6, ReLU, dropout, FC7, ReLU, FC8 (indices 0-6). */
function classifier(b: GraphBuilder, x: Value, numClasses: number): Value {
  x = b.output('fc6', b.relu(b.linear(b.dropout(x), 'classifier.1', 4096)));
  x = b.output('fc7', b.relu(b.linear(b.dropout(x), 'classifier.4', 4096)));
  return b.linear(x, 'classifier.6', numClasses);
}

export function alexnetArchitecture(name: string, config: AlexNetConfig, metadata: ModelMetadata): Architecture {
  return {
    name,
    inputShape: [3, 224, 224],
    metadata,
    define(b, input) {
      const x = b.adaptiveAvgPool2d(features(b, input, config), 6);
      b.output('logits', classifier(b, b.flatten(x), config.numClasses ?? 1000));
    },
  };
}

const imagenet = imagenetPreprocessing({ resizeSize: 256 });

/** The variant table: torchvision's alexnet with its DEFAULT weights' metadata, and the 2012 form. */
export const ALEXNET_VARIANTS = {
  alexnet: {
    config: {},
    metadata: {
      weights: 'AlexNet_Weights.IMAGENET1K_V1',
      preprocessing: imagenet,
      top1: 56.522,
      top5: 79.066,
      parameters: 61_100_840,
      gflops: 0.71,
      paper: 'Krizhevsky, One weird trick for parallelizing convolutional neural networks, arXiv:1404.5997 (2014)',
    },
  },
  /**
   * The 2012 paper's network (no published weights): 96-256-384-384-256 channels, groups of 2 on
   * conv2, conv4 and conv5 (the two GPUs), the paper's LRN; torchvision's keys and classifier.
   */
  alexnet2012: {
    config: { widths: PAPER_WIDTHS, groups: PAPER_GROUPS, localResponseNorm: PAPER_LRN },
    metadata: {
      parameters: 60_965_224,
      gflops: 0.72,
      paper: 'Krizhevsky, Sutskever and Hinton, ImageNet Classification with Deep Convolutional Neural Networks, NeurIPS 2012',
    },
  },
} as const satisfies Record<string, { config: AlexNetConfig; metadata: ModelMetadata }>;

export type AlexNetVariant = keyof typeof ALEXNET_VARIANTS;

export interface AlexNetOptions {
  /** classifier outputs; default 1000 (ImageNet) */
  numClasses?: number;
  /**
   * Local response normalisation after the ReLUs of conv1 and conv2: `true` for the paper's
   * constants (PAPER_LRN), torch.nn.LocalResponseNorm's own arguments, or `false` for none. The
   * default is the variant's (none for alexnet, PAPER_LRN for alexnet2012).
   */
  localResponseNorm?: boolean | LocalResponseNormParams;
}

/** The family builder: alexnetModel('alexnet' | 'alexnet2012', options) (`alexnet` is torchvision's builder name). */
export const alexnetModel: (variant: AlexNetVariant, options?: AlexNetOptions) => Model = modelFamily(
  'AlexNet',
  ALEXNET_VARIANTS,
  alexnetArchitecture,
  (row, { numClasses, localResponseNorm }: AlexNetOptions) => {
    const config: AlexNetConfig = { ...row.config, numClasses };
    if (localResponseNorm === undefined) return { config, metadata: row.metadata };
    return { config: { ...config, localResponseNorm: localResponseNorm === true ? PAPER_LRN : localResponseNorm || undefined }, metadata: row.metadata };
  },
);

/** AlexNet as torchvision builds it; `{ localResponseNorm: true }` adds the paper's LRN to it. */
export const alexnet = (options?: AlexNetOptions): Model => alexnetModel('alexnet', options);

/** The 2012 paper's network: 96 11x11 filters first, two-GPU groups, LRN (about 61 million parameters). */
export const alexnet2012 = (options?: AlexNetOptions): Model => alexnetModel('alexnet2012', options);
