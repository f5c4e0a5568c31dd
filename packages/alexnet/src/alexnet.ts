// AlexNet: five convolutions and three fully connected layers, as torchvision builds it (the
// single-tower "One weird trick" widths 64-192-384-256-256), and the 2012 form with local
// response normalisation after the first two convolutions.
import { Model, type Architecture, type GraphBuilder, type ModelMetadata, type Value } from '@cnn/core';

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

export interface AlexNetConfig {
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

function convRelu(b: GraphBuilder, x: Value, index: number, outChannels: number, kernelSize: number, stride: number, padding: number): Value {
  return b.relu(b.conv2d(x, `features.${index}`, { outChannels, kernelSize, stride, padding }));
}

/**
 * torchvision's `features` Sequential: conv/ReLU/pool at indices 0-12. The LRN layers carry no
 * parameters, so every key stays torchvision's (features.0, .3, .6, .8, .10) with or without them.
 */
function features(b: GraphBuilder, x: Value, lrn: LocalResponseNormParams | undefined): Value {
  const normalise = (v: Value, tap: string) => (lrn ? b.output(tap, b.localResponseNorm(v, lrn.size, lrn.alpha, lrn.beta, lrn.k)) : v);
  const pool = (v: Value) => b.maxPool2d(v, { kernelSize: 3, stride: 2 });
  x = pool(normalise(b.output('conv1', convRelu(b, x, 0, 64, 11, 4, 2)), 'norm1'));
  x = pool(normalise(b.output('conv2', convRelu(b, x, 3, 192, 5, 1, 2)), 'norm2'));
  x = b.output('conv3', convRelu(b, x, 6, 384, 3, 1, 1));
  x = b.output('conv4', convRelu(b, x, 8, 256, 3, 1, 1));
  x = b.output('conv5', convRelu(b, x, 10, 256, 3, 1, 1));
  return pool(x);
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
      const x = b.adaptiveAvgPool2d(features(b, input, config.localResponseNorm), 6);
      b.output('logits', classifier(b, b.flatten(x), config.numClasses ?? 1000));
    },
  };
}

const imagenet = { resizeSize: 256, cropSize: 224, interpolation: 'bilinear', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;

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
  /** No published weights: torchvision's layer sizes and keys, plus the paper's LRN. */
  alexnet2012: {
    config: { localResponseNorm: PAPER_LRN },
    metadata: {
      parameters: 61_100_840,
      gflops: 0.71,
      paper: 'Krizhevsky, Sutskever and Hinton, ImageNet Classification with Deep Convolutional Neural Networks, NeurIPS 2012',
    },
  },
} as const satisfies Record<string, { config: AlexNetConfig; metadata: ModelMetadata }>;

export type AlexNetVariant = keyof typeof ALEXNET_VARIANTS;

export interface AlexNetOptions {
  /** classifier outputs; default 1000 (ImageNet) */
  numClasses?: number;
  /**
   * Add local response normalisation as in the 2012 paper: `true` for the paper's constants
   * (PAPER_LRN), or torch.nn.LocalResponseNorm's own arguments. The model is then 'alexnet2012'.
   */
  localResponseNorm?: boolean | LocalResponseNormParams;
}

export function alexnetModel(variant: AlexNetVariant, options: Omit<AlexNetOptions, 'localResponseNorm'> = {}): Model {
  const v = ALEXNET_VARIANTS[variant];
  if (!v) throw new Error(`unknown AlexNet variant '${variant}'; expected one of ${Object.keys(ALEXNET_VARIANTS).join(', ')}`);
  return new Model(alexnetArchitecture(variant, { ...v.config, numClasses: options.numClasses }, v.metadata));
}

/** AlexNet as torchvision builds it; `{ localResponseNorm: true }` gives the 2012 paper's form. */
export function alexnet(options: AlexNetOptions = {}): Model {
  const lrn = options.localResponseNorm;
  if (!lrn) return alexnetModel('alexnet', options);
  if (lrn === true) return alexnetModel('alexnet2012', options);
  const v = ALEXNET_VARIANTS.alexnet2012;
  return new Model(alexnetArchitecture('alexnet2012', { localResponseNorm: lrn, numClasses: options.numClasses }, v.metadata));
}

/** The 2012 form: torchvision's AlexNet with the paper's local response normalisation. */
export function alexnet2012(options: Omit<AlexNetOptions, 'localResponseNorm'> = {}): Model {
  return alexnetModel('alexnet2012', options);
}
