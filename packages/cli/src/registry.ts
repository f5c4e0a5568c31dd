// Every model the cnn command knows, by torchvision's builder name.
import type { Model } from '@cnn/core';
import { lenet5 } from '@cnn/lenet';
import { RESNET_VARIANTS, resnet, type ResNetVariant } from '@cnn/resnet';

export interface ModelEntry {
  readonly name: string;
  readonly package: string;
  readonly create: () => Model;
}

export const MODELS: readonly ModelEntry[] = [
  { name: 'lenet5', package: '@cnn/lenet', create: lenet5 },
  ...Object.keys(RESNET_VARIANTS).map((name) => ({ name, package: '@cnn/resnet', create: () => resnet(name as ResNetVariant) })),
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
