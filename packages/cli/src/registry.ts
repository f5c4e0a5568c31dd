// Every model the cnn command knows, by torchvision's builder name.
import type { Model } from '@cnn/core';
import { lenet5 } from '@cnn/lenet';
import { FASHION_MNIST_WEIGHTS_URL } from '@cnn/lenet/weights';
import { FASHION_MNIST_LABELS } from '@cnn/labels/mnist';
import { alexnet, alexnet2012 } from '@cnn/alexnet';
import { VGG_VARIANTS, vgg, type VggVariant } from '@cnn/vgg';
import { RESNET_VARIANTS, resnet, type ResNetVariant } from '@cnn/resnet';
import { INCEPTION_VARIANTS, inception, type InceptionVariant } from '@cnn/inception';
import { DENSENET_VARIANTS, densenet, type DenseNetVariant } from '@cnn/densenet';
import { mobilenet_v1, mobilenet_v2, mobilenet_v3_large, mobilenet_v3_small } from '@cnn/mobilenet';
import { EFFICIENTNET_VARIANTS, efficientnet, type EfficientNetVariant } from '@cnn/efficientnet';
import { CONVNEXT_VARIANTS, convnext, type ConvNeXtVariant } from '@cnn/convnext';

export interface ModelEntry {
  readonly name: string;
  readonly package: string;
  readonly create: () => Model;
  /** weights the model package ships, used when no --weights is given, with their class names */
  readonly shippedWeights?: { readonly url: URL; readonly labels: readonly string[]; readonly description: string };
}

function family<V extends string>(pkg: string, variants: Record<V, unknown>, make: (v: V) => Model): ModelEntry[] {
  return (Object.keys(variants) as V[]).map((name) => ({ name, package: pkg, create: () => make(name) }));
}

export const MODELS: readonly ModelEntry[] = [
  {
    name: 'lenet5',
    package: '@cnn/lenet',
    create: lenet5,
    shippedWeights: { url: FASHION_MNIST_WEIGHTS_URL, labels: FASHION_MNIST_LABELS, description: '@cnn/lenet/weights (Fashion-MNIST, F16)' },
  },
  { name: 'alexnet', package: '@cnn/alexnet', create: () => alexnet() },
  { name: 'alexnet2012', package: '@cnn/alexnet', create: () => alexnet2012() },
  ...family('@cnn/vgg', VGG_VARIANTS, (v: VggVariant) => vgg(v)),
  ...family('@cnn/resnet', RESNET_VARIANTS, (v: ResNetVariant) => resnet(v)),
  ...family('@cnn/inception', INCEPTION_VARIANTS, (v: InceptionVariant) => inception(v)),
  ...family('@cnn/densenet', DENSENET_VARIANTS, (v: DenseNetVariant) => densenet(v)),
  { name: 'mobilenet_v1', package: '@cnn/mobilenet', create: () => mobilenet_v1() },
  { name: 'mobilenet_v2', package: '@cnn/mobilenet', create: () => mobilenet_v2() },
  { name: 'mobilenet_v3_small', package: '@cnn/mobilenet', create: () => mobilenet_v3_small() },
  { name: 'mobilenet_v3_large', package: '@cnn/mobilenet', create: () => mobilenet_v3_large() },
  ...family('@cnn/efficientnet', EFFICIENTNET_VARIANTS, (v: EfficientNetVariant) => efficientnet(v)),
  ...family('@cnn/convnext', CONVNEXT_VARIANTS, (v: ConvNeXtVariant) => convnext(v)),
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
