// The variant table: torchvision's two Inception builders with the metadata of their DEFAULT
// weights, and one builder that applies the options.
import { Model, type Architecture, type ModelMetadata } from '@cnn/core';
import { googlenetArchitecture, type InceptionOptions } from './googlenet.js';
import { inceptionV3Architecture } from './inception-v3.js';

const imagenet = (resizeSize: number, cropSize: number) =>
  ({ resizeSize, cropSize, interpolation: 'bilinear', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }) as const;

export const INCEPTION_VARIANTS = {
  googlenet: {
    architecture: googlenetArchitecture,
    /** `parameters` is the model as torchvision's builder returns it, without the aux heads */
    metadata: {
      weights: 'GoogLeNet_Weights.IMAGENET1K_V1',
      preprocessing: imagenet(256, 224),
      top1: 69.778,
      top5: 89.53,
      parameters: 6_624_904,
      gflops: 1.5,
      paper: 'Szegedy et al., Going Deeper with Convolutions, CVPR 2015 (arXiv:1409.4842)',
    },
  },
  inception_v3: {
    architecture: inceptionV3Architecture,
    /** `parameters` counts the AuxLogits head the weights file carries (23,834,568 without it) */
    metadata: {
      weights: 'Inception_V3_Weights.IMAGENET1K_V1',
      preprocessing: imagenet(342, 299),
      top1: 77.294,
      top5: 93.45,
      parameters: 27_161_264,
      gflops: 5.71,
      paper: 'Szegedy et al., Rethinking the Inception Architecture for Computer Vision, CVPR 2016 (arXiv:1512.00567)',
    },
  },
} as const satisfies Record<string, { architecture: (m: ModelMetadata, o?: InceptionOptions) => Architecture; metadata: ModelMetadata }>;

export type InceptionVariant = keyof typeof INCEPTION_VARIANTS;

export function inception(variant: InceptionVariant, options: InceptionOptions = {}): Model {
  const v = INCEPTION_VARIANTS[variant];
  if (!v) throw new Error(`unknown Inception variant '${variant}'; expected one of ${Object.keys(INCEPTION_VARIANTS).join(', ')}`);
  return new Model(v.architecture(v.metadata, options));
}
