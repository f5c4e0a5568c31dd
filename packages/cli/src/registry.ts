// Every model the cnn command knows, by torchvision's builder name.
import type { Model } from '@cnn/core';
import { LENET_VARIANTS, lenet } from '@cnn/lenet';
import { ALEXNET_VARIANTS, alexnetModel } from '@cnn/alexnet';
import { VGG_VARIANTS, vgg } from '@cnn/vgg';
import { RESNET_VARIANTS, resnet } from '@cnn/resnet';
import { INCEPTION_VARIANTS, inception } from '@cnn/inception';
import { DENSENET_VARIANTS, densenet } from '@cnn/densenet';
import { MOBILENET_VARIANTS, mobilenet } from '@cnn/mobilenet';
import { EFFICIENTNET_VARIANTS, efficientnet } from '@cnn/efficientnet';
import { CONVNEXT_VARIANTS, convnext } from '@cnn/convnext';

export interface ModelEntry {
  readonly name: string;
  readonly package: string;
  readonly create: () => Model;
}

/** Every variant of a package's table, built by its family builder with default options. */
function family<V extends string>(pkg: string, variants: Record<V, unknown>, build: (variant: V) => Model): ModelEntry[] {
  return (Object.keys(variants) as V[]).map((name) => ({ name, package: pkg, create: () => build(name) }));
}

export const MODELS: readonly ModelEntry[] = [
  ...family('@cnn/lenet', LENET_VARIANTS, lenet),
  ...family('@cnn/alexnet', ALEXNET_VARIANTS, alexnetModel),
  ...family('@cnn/vgg', VGG_VARIANTS, vgg),
  ...family('@cnn/resnet', RESNET_VARIANTS, resnet),
  ...family('@cnn/inception', INCEPTION_VARIANTS, inception),
  ...family('@cnn/densenet', DENSENET_VARIANTS, densenet),
  ...family('@cnn/mobilenet', MOBILENET_VARIANTS, mobilenet),
  ...family('@cnn/efficientnet', EFFICIENTNET_VARIANTS, efficientnet),
  ...family('@cnn/convnext', CONVNEXT_VARIANTS, convnext),
];

export function findModel(name: string): ModelEntry {
  const entry = MODELS.find((m) => m.name === name);
  if (!entry) {
    throw new UsageError(`unknown model '${name}'. Available: ${MODELS.map((m) => m.name).join(', ')} (see 'cnn models')`);
  }
  return entry;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure while doing the work (unreadable or unsuitable files, no device): exit code 1. */
export class CliError extends Error {
  override name = 'CliError';
}
