// The variant table: torchvision's two Inception builders with the metadata of their DEFAULT
// weights and the 2014 paper's GoogLeNet, one architecture function over the three networks, and
// the family builder that applies the options.
import { countedMetadata, imagenetPreprocessing, modelFamily, variantOf, type Architecture, type Model, type ModelMetadata, type Variant } from '@cnn/core';
import { googlenetArchitecture, type InceptionOptions } from './googlenet.js';
import { googlenet2014Architecture, type GoogLeNet2014Options } from './googlenet2014.js';
import { inceptionV3Architecture } from './inception-v3.js';

/** Which network, and the builder options it was made with. */
export type InceptionConfig =
  | ({ readonly network: 'googlenet' | 'inception_v3' } & InceptionOptions)
  | ({ readonly network: 'googlenet2014' } & GoogLeNet2014Options);

/** The architecture of any network of the family. */
export function inceptionArchitecture(name: string, config: InceptionConfig, metadata: ModelMetadata): Architecture {
  if (config.network === 'googlenet') return googlenetArchitecture(name, config, metadata);
  if (config.network === 'inception_v3') return inceptionV3Architecture(name, config, metadata);
  return googlenet2014Architecture(name, config, metadata);
}

const GOOGLENET_PAPER = 'Szegedy et al., Going Deeper with Convolutions, CVPR 2015 (arXiv:1409.4842)';

export const INCEPTION_VARIANTS = {
  googlenet: {
    config: { network: 'googlenet' },
    /** `parameters` is the model as torchvision's builder returns it, without the aux heads */
    metadata: {
      weights: 'GoogLeNet_Weights.IMAGENET1K_V1',
      preprocessing: imagenetPreprocessing({ resizeSize: 256 }),
      top1: 69.778,
      top5: 89.53,
      parameters: 6_624_904,
      gflops: 1.5,
      paper: GOOGLENET_PAPER,
    },
  },
  /** The paper's network (no published weights): true 5x5 branch, biases instead of batch norm, LRN. */
  googlenet2014: {
    config: { network: 'googlenet2014' },
    metadata: { parameters: 6_998_552, gflops: 1.58, paper: GOOGLENET_PAPER },
  },
  inception_v3: {
    config: { network: 'inception_v3' },
    /** `parameters` counts the AuxLogits head the weights file carries (23,834,568 without it) */
    metadata: {
      weights: 'Inception_V3_Weights.IMAGENET1K_V1',
      preprocessing: imagenetPreprocessing({ resizeSize: 342, cropSize: 299 }),
      top1: 77.294,
      top5: 93.45,
      parameters: 27_161_264,
      gflops: 5.71,
      paper: 'Szegedy et al., Rethinking the Inception Architecture for Computer Vision, CVPR 2016 (arXiv:1512.00567)',
    },
  },
} as const satisfies Record<string, Variant<InceptionConfig>>;

export type InceptionVariant = keyof typeof INCEPTION_VARIANTS;

/** The options each variant takes: googlenet2014 only numClasses. */
export type InceptionVariantOptions<V extends InceptionVariant = InceptionVariant> = V extends 'googlenet2014' ? GoogLeNet2014Options : InceptionOptions;

const OPTION_NAMES: Record<InceptionConfig['network'], readonly string[]> = {
  googlenet: ['numClasses', 'transformInput', 'auxLogits'],
  inception_v3: ['numClasses', 'transformInput', 'auxLogits'],
  googlenet2014: ['numClasses'],
};

const family = modelFamily('Inception', INCEPTION_VARIANTS, inceptionArchitecture, (row, options: InceptionOptions) => {
  const names = OPTION_NAMES[row.config.network];
  const config = { ...row.config, ...Object.fromEntries(Object.entries(options).filter(([k]) => names.includes(k))) } as InceptionConfig;
  // the paper's network has no published figures but its size: count it for another class count
  const counted = row.config.network === 'googlenet2014' && (options.numClasses ?? 1000) !== 1000;
  return { config, metadata: counted ? countedMetadata((m) => inceptionArchitecture('counting', config, m), { paper: row.metadata.paper }) : row.metadata };
});

/** The family builder; an option the variant does not take is refused, not ignored. */
export function inception<V extends InceptionVariant>(variant: V, options: InceptionVariantOptions<V> = {} as InceptionVariantOptions<V>): Model {
  const row = variantOf<InceptionVariant, InceptionConfig>('Inception', INCEPTION_VARIANTS, variant);
  const names = OPTION_NAMES[row.config.network];
  const unknown = Object.keys(options).filter((k) => !names.includes(k));
  if (unknown.length > 0) throw new TypeError(`${variant}: unknown option(s) ${unknown.join(', ')}; expected ${names.join(', ')}`);
  return family(variant, options);
}
