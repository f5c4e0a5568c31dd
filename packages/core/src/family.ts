// The template every model package follows: a variant table of { config, metadata }, an
// architecture function (name, config, metadata), a family builder made from the two, and feature
// taps named by their reduction (stride2 ... stride32) with a feature-info table.
import { Model, buildGraph, type Architecture, type ModelMetadata, type Preprocessing } from './model.js';
import type { GraphBuilder, Value } from './graph.js';

/** ImageNet's channel statistics, as every torchvision ImageClassification preset uses them. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

export interface ImageNetPresetOptions {
  /** the shorter side is resized to this before the crop */
  resizeSize: number;
  /** default 224 */
  cropSize?: number;
  /** default 'bilinear' */
  interpolation?: Preprocessing['interpolation'];
}

/** torchvision's ImageClassification preset: resize, centre crop, ImageNet mean and std. */
export function imagenetPreprocessing({ resizeSize, cropSize = 224, interpolation = 'bilinear' }: ImageNetPresetOptions): Preprocessing {
  return { resizeSize, cropSize, interpolation, mean: IMAGENET_MEAN, std: IMAGENET_STD };
}

/** One row of a family's variant table. */
export interface Variant<C> {
  readonly config: C;
  readonly metadata: ModelMetadata;
}

/** How a package describes one network: pure, so siblings and summaries can build it freely. */
export type ArchitectureFunction<C> = (name: string, config: C, metadata: ModelMetadata) => Architecture;

/** Raised when a family builder is asked for a variant its table does not have. */
export class UnknownVariantError extends Error {
  override name = 'UnknownVariantError';
  readonly code = 'mismatch';
  constructor(
    readonly family: string,
    readonly variant: string,
    readonly expected: readonly string[],
  ) {
    super(`unknown ${family} variant '${String(variant)}'; expected one of ${expected.join(', ')}`);
  }
}

/** The variant's row, or an UnknownVariantError naming every variant the table has. */
export function variantOf<V extends string, C>(family: string, variants: Readonly<Record<V, Variant<C>>>, variant: V): Variant<C> {
  if (typeof variant !== 'string' || !Object.prototype.hasOwnProperty.call(variants, variant)) {
    throw new UnknownVariantError(family, variant, Object.keys(variants));
  }
  return variants[variant];
}

/**
 * A family builder `family(variant, options)`. `configure` applies the options to a row (by
 * default they are merged into its config, e.g. `numClasses`). Every model it returns knows its
 * siblings (built with the same options), so a weights file made for another variant of the
 * family is named in the error (a ResNet-34 file loaded into resnet18 says resnet34).
 */
export function modelFamily<V extends string, C, O extends object>(
  family: string,
  variants: Readonly<Record<V, Variant<C>>>,
  architecture: ArchitectureFunction<C>,
  configure: (row: Variant<C>, options: O, variant: V) => Variant<C> = (row, options) => ({ config: { ...row.config, ...options }, metadata: row.metadata }),
): (variant: V, options?: O) => Model {
  const build = (name: V, options: O): Architecture => {
    const row = configure(variantOf(family, variants, name), options, name);
    return architecture(name, row.config, row.metadata);
  };
  return (variant, options = {} as O) => {
    const arch = build(variant, options);
    // the other variants are built only to name the one a mismatched weights file is for
    const siblings = () => (Object.keys(variants) as V[]).filter((name) => name !== variant).map((name) => build(name, options));
    return new Model(arch, { siblings });
  };
}

/** The exact parameter count of an architecture, for metadata of networks without published weights. */
export function countedMetadata(make: (metadata: ModelMetadata) => Architecture, extra: Omit<ModelMetadata, 'parameters'> = {}): ModelMetadata {
  // every trainable tensor once, as torchvision's sum(p.numel() for p in model.parameters()) and
  // summarize's total count them (without bundling the layer table into every model package)
  const parameters = buildGraph(make({ parameters: 0 })).parameters.reduce((n, p) => (p.trainable ? n + p.shape.reduce((a, b) => a * b, 1) : n), 0);
  return { ...extra, parameters };
}

/** One feature tap a detection or segmentation head can use, as timm's feature_info lists them. */
export interface FeatureInfo {
  /** the tap's name: `stride${reduction}` */
  readonly name: string;
  /** the torchvision module (or the family's own tap) whose output it is */
  readonly module: string;
  readonly channels: number;
  /** input side / output side, nominally (the product of the strides before it) */
  readonly reduction: number;
}

const STRIDE_TAP = /^stride(\d+)$/;

/**
 * Records a network's feature maps in order and declares, for each reduction of 2 or more, the
 * last one as `stride${reduction}` (stride2, stride4, ... stride32). A downsampling layer (the
 * module holding the stride: a strided block, a transition, a pool) starts the next reduction,
 * so each tap is the last map before it (for the deepest, the last map before global pooling).
 */
export class ReductionTaps {
  private reduction = 1;
  private readonly last = new Map<number, { module: string; value: Value; declared: boolean }>();

  constructor(private readonly b: GraphBuilder) {}

  /** A torchvision module's output, declared now as a tap under its own name; `stride` is the module's. */
  module(name: string, x: Value, stride = 1): Value {
    this.b.output(name, x);
    return this.record(name, x, stride, true);
  }

  /** A layer's output, declared under its module name only if it ends a reduction. */
  layer(name: string, x: Value, stride = 1): Value {
    return this.record(name, x, stride, false);
  }

  /** Declares the stride taps (and the module names of those not declared yet). */
  declare(): void {
    for (const [reduction, { module, value, declared }] of this.last) {
      if (reduction < 2) continue;
      if (!declared) this.b.output(module, value);
      this.b.output(`stride${reduction}`, value);
    }
  }

  private record(module: string, x: Value, stride: number, declared: boolean): Value {
    if (!Number.isInteger(stride) || stride < 1) throw new RangeError(`${module}: a layer's stride must be a positive integer, got ${stride}`);
    this.reduction *= stride;
    this.last.set(this.reduction, { module, value: x, declared });
    return x;
  }
}

/**
 * The stride taps of an architecture at its native input size: for each, the tap it aliases
 * (the other output declared on the same value), its channels and its reduction.
 */
export function featureInfo(model: Model | Architecture): FeatureInfo[] {
  const graph = buildGraph(model instanceof Model ? model.architecture : model);
  const info: FeatureInfo[] = [];
  for (const [name, id] of graph.outputs) {
    const m = STRIDE_TAP.exec(name);
    if (!m) continue;
    const module = [...graph.outputs].find(([other, otherId]) => otherId === id && !STRIDE_TAP.test(other) && other !== 'logits')?.[0];
    info.push({ name, module: module ?? name, channels: graph.nodes[id].shape[0], reduction: Number(m[1]) });
  }
  return info.sort((a, b) => a.reduction - b.reduction);
}
