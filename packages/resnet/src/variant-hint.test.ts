import { describe, expect, it } from 'vitest';
import { WeightsError, loadWeights, type WeightTensor } from '@cnn/core';
import { resnet, resnet18, resnet34 } from './index.js';

// zero-filled tensors with a variant's keys and shapes: what matters here is which keys a file holds
const weightsOf = (variant: 'resnet18' | 'resnet34') =>
  new Map<string, WeightTensor>(resnet(variant).parameters.map((p) => [p.key, { shape: p.shape, data: new Float32Array(p.shape.reduce((a, b) => a * b, 1)) }]));

describe('weights of another ResNet variant', () => {
  it('says a ResNet-34 file is for resnet34, also when unexpected keys are allowed', async () => {
    const file = weightsOf('resnet34');
    for (const options of [{}, { allowUnexpected: true }]) {
      const error = await loadWeights(resnet18(), file, options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WeightsError);
      expect((error as Error).message).toMatch(/the weights are resnet34's \(every key and shape matches it\), not resnet18's \(\d+ unexpected\): load them into resnet34/);
    }
  });

  it('says a ResNet-18 file is for resnet18 when loaded into resnet34', async () => {
    await expect(loadWeights(resnet34(), weightsOf('resnet18'))).rejects.toThrow(/the weights are resnet18's .* not resnet34's \(\d+ key\(s\) missing\)/);
  });
});
