// The variant table: torchvision's MobileNet builders with the metadata of their DEFAULT weights,
// MobileNet v1 with the paper's figures, one architecture function over the three versions, and
// the family builder that applies the width (and, for v1, resolution) options.
import { countedMetadata, imagenetPreprocessing, modelFamily, variantOf, type Architecture, type ArchitectureFunction, type Model, type ModelMetadata, type Variant } from '@cnn/core';
import { MOBILENET_V1_PAPER, mobilenetV1Architecture, type MobileNetV1Options } from './mobilenet-v1.js';
import { mobilenetV2Architecture, type MobileNetV2Options } from './mobilenet-v2.js';
import { MOBILENET_V3_LARGE, MOBILENET_V3_SMALL, mobilenetV3Architecture, type MobileNetV3ArchitectureConfig, type MobileNetV3Config, type MobileNetV3Options } from './mobilenet-v3.js';

// (constants, not an object: a bundle drops the rows it does not use only if they read no properties)
const PAPER_V1 = 'Howard et al., MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications, 2017 (arXiv:1704.04861)';
const PAPER_V2 = 'Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks, CVPR 2018 (arXiv:1801.04381)';
const PAPER_V3 = 'Howard et al., Searching for MobileNetV3, ICCV 2019 (arXiv:1905.02244)';

/** One MobileNet: the version, its table (v3) and the builder options it was made with. */
export type MobileNetConfig =
  | ({ readonly version: 1 } & MobileNetV1Options)
  | ({ readonly version: 2 } & MobileNetV2Options)
  | ({ readonly version: 3; readonly setting: MobileNetV3Config } & MobileNetV3Options);

/** The architecture of any MobileNet version. */
export function mobilenetArchitecture(name: string, config: MobileNetConfig, metadata: ModelMetadata): Architecture {
  if (config.version === 1) return mobilenetV1Architecture(name, config, metadata);
  if (config.version === 2) return mobilenetV2Architecture(name, config, metadata);
  return mobilenetV3Architecture(name, config, metadata);
}

/**
 * torchvision's builders with their DEFAULT weights' metadata (at width multiplier 1), and
 * MobileNet v1 (α = 1, 224x224) with the paper's figures: torchvision has no v1 weights.
 */
const V3_VARIANTS = {
  mobilenet_v3_large: {
    config: { version: 3, setting: MOBILENET_V3_LARGE },
    metadata: { weights: 'MobileNet_V3_Large_Weights.IMAGENET1K_V2', preprocessing: /* @__PURE__ */ imagenetPreprocessing({ resizeSize: 232 }), top1: 75.274, top5: 92.566, parameters: 5_483_032, gflops: 0.22, paper: PAPER_V3 },
  },
  mobilenet_v3_small: {
    config: { version: 3, setting: MOBILENET_V3_SMALL },
    metadata: { weights: 'MobileNet_V3_Small_Weights.IMAGENET1K_V1', preprocessing: /* @__PURE__ */ imagenetPreprocessing({ resizeSize: 256 }), top1: 67.668, top5: 87.402, parameters: 2_542_856, gflops: 0.06, paper: PAPER_V3 },
  },
} as const satisfies Record<string, Variant<MobileNetConfig>>;
const V1_VARIANTS = {
  mobilenet_v1: {
    config: { version: 1 },
    metadata: { preprocessing: /* @__PURE__ */ imagenetPreprocessing({ resizeSize: 256 }), top1: 70.6, parameters: 4_231_976, gflops: 0.569, paper: PAPER_V1 },
  },
} as const satisfies Record<string, Variant<MobileNetConfig>>;
const V2_VARIANTS = {
  mobilenet_v2: {
    config: { version: 2 },
    metadata: { weights: 'MobileNet_V2_Weights.IMAGENET1K_V2', preprocessing: /* @__PURE__ */ imagenetPreprocessing({ resizeSize: 232 }), top1: 72.154, top5: 90.822, parameters: 3_504_872, gflops: 0.3, paper: PAPER_V2 },
  },
} as const satisfies Record<string, Variant<MobileNetConfig>>;
// (a call marked pure, so that a bundle using one version's rows drops the others)
const joinTables = <A, B, C>(a: A, b: B, c: C): A & B & C => ({ ...a, ...b, ...c });
export const MOBILENET_VARIANTS = /* @__PURE__ */ joinTables(V1_VARIANTS, V2_VARIANTS, V3_VARIANTS) satisfies Record<string, Variant<MobileNetConfig>>;

export type MobileNetVariant = keyof typeof MOBILENET_VARIANTS;

/** The options each variant takes: v1 its α and ρ, v2 and v3 torchvision's width_mult. */
export type MobileNetOptions<V extends MobileNetVariant = MobileNetVariant> = V extends 'mobilenet_v1' ? MobileNetV1Options : V extends 'mobilenet_v2' ? MobileNetV2Options : MobileNetV3Options;

const OPTION_NAMES: Record<MobileNetConfig['version'], readonly string[]> = { 1: ['alpha', 'rho', 'numClasses'], 2: ['widthMult', 'numClasses'], 3: ['widthMult', 'numClasses'] };

const pickOptions = (row: Variant<MobileNetConfig>, options: object) =>
  ({ ...row.config, ...Object.fromEntries(Object.entries(options).filter(([k]) => OPTION_NAMES[row.config.version].includes(k))) }) as MobileNetConfig;

/**
 * Applies a builder's options to a row. Only width (and resolution) 1 have published figures;
 * otherwise the metadata is the exact parameter count and the paper, plus for v1 the paper's
 * accuracy and mult-adds where (α, resolution) is one of its Table 6/7 rows, and torchvision's
 * standard preset (resize to crop / 0.875) at the native resolution. Per version, so that a
 * named builder (mobilenet_v3_small) reaches its own version's code only.
 */
const configureWidth = (architecture: ArchitectureFunction<MobileNetConfig>) => (row: Variant<MobileNetConfig>, options: MobileNetV2Options): Variant<MobileNetConfig> => {
  const config = pickOptions(row, options);
  return { config, metadata: (options.widthMult ?? 1) === 1 ? row.metadata : countedMetadata((metadata) => architecture('counting', config, metadata), { paper: row.metadata.paper }) };
};

function configureV1(row: Variant<MobileNetConfig>, options: MobileNetV1Options): Variant<MobileNetConfig> {
  const config = pickOptions(row, options);
  const classes = options.numClasses ?? 1000;
  const alpha = options.alpha ?? 1;
  const resolution = Math.round(224 * (options.rho ?? 1));
  if (alpha === 1 && resolution === 224 && classes === 1000) return { config, metadata: row.metadata };
  const paperRow = MOBILENET_V1_PAPER.find((r) => r.alpha === alpha && r.resolution === resolution);
  const figures = paperRow && classes === 1000 ? { top1: paperRow.top1, gflops: paperRow.multAddsM / 1000 } : {};
  const make = (metadata: ModelMetadata) => mobilenetV1Architecture('counting', config as MobileNetV1Options, metadata);
  return { config, metadata: countedMetadata(make, { ...figures, preprocessing: /* @__PURE__ */ imagenetPreprocessing({ resizeSize: Math.round(resolution / 0.875), cropSize: resolution }), paper: row.metadata.paper }) };
}

/**
 * A builder over some rows of the table; an option the variant does not take is refused, not
 * ignored. Its models know the other rows as siblings (a weights file made for one of them is
 * named in the error).
 */
function builder<V extends MobileNetVariant>(
  variants: Readonly<Record<V, Variant<MobileNetConfig>>>,
  architecture: ArchitectureFunction<MobileNetConfig>,
  configure: (row: Variant<MobileNetConfig>, options: MobileNetV1Options & MobileNetV2Options) => Variant<MobileNetConfig>,
): (variant: V, options?: object) => Model {
  const family = modelFamily('MobileNet', variants, architecture, configure);
  return (variant, options = {}) => {
    const names = OPTION_NAMES[variantOf<V, MobileNetConfig>('MobileNet', variants, variant).config.version];
    const unknown = Object.keys(options).filter((k) => !names.includes(k));
    if (unknown.length > 0) throw new TypeError(`${variant}: unknown option(s) ${unknown.join(', ')}; expected ${names.join(', ')}`);
    return family(variant, options);
  };
}

const v1 = (name: string, config: MobileNetConfig, metadata: ModelMetadata) => mobilenetV1Architecture(name, config as MobileNetV1Options, metadata);
const v2 = (name: string, config: MobileNetConfig, metadata: ModelMetadata) => mobilenetV2Architecture(name, config as MobileNetV2Options, metadata);
const v3 = (name: string, config: MobileNetConfig, metadata: ModelMetadata) => mobilenetV3Architecture(name, config as MobileNetV3ArchitectureConfig, metadata);

const anyVersion = /* @__PURE__ */ builder(MOBILENET_VARIANTS, mobilenetArchitecture, (row, options) => (row.config.version === 1 ? configureV1(row, options) : configureWidth(mobilenetArchitecture)(row, options)));
const v1Builder = /* @__PURE__ */ builder(V1_VARIANTS, v1, configureV1);
const v2Builder = /* @__PURE__ */ builder(V2_VARIANTS, v2, /* @__PURE__ */ configureWidth(v2));
const v3Builder = /* @__PURE__ */ builder(V3_VARIANTS, v3, /* @__PURE__ */ configureWidth(v3));

/**
 * The family builder; an option the variant does not take is refused, not ignored. Its models
 * name any MobileNet a mismatched weights file was made for; the named builders below reach
 * only their own version's code (an app bundles one version), so theirs name a sibling of the
 * same version (v3 small and large) and report another version's file by its keys.
 */
export function mobilenet<V extends MobileNetVariant>(variant: V, options: MobileNetOptions<V> = {} as MobileNetOptions<V>): Model {
  return anyVersion(variant, options);
}

/** MobileNet v1 with width multiplier α (`alpha`) and resolution multiplier ρ (`rho`). */
export const mobilenet_v1 = (options?: MobileNetV1Options): Model => v1Builder('mobilenet_v1', options);
export const mobilenet_v2 = (options?: MobileNetV2Options): Model => v2Builder('mobilenet_v2', options);
export const mobilenet_v3_large = (options?: MobileNetV3Options): Model => v3Builder('mobilenet_v3_large', options);
export const mobilenet_v3_small = (options?: MobileNetV3Options): Model => v3Builder('mobilenet_v3_small', options);
