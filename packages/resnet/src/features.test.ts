import { describe, expect, it } from 'vitest';
import { UnknownVariantError, featureInfo } from '@cnn/core';
import { runStrideTaps } from '@cnn/core/testing';
import { createJsBackend } from '@cnn/kernels/js';
import { RESNET_STRIDE_TAPS, RESNET_VARIANTS, resnet, type ResNetVariant } from './index.js';

describe('ResNet feature taps by reduction', () => {
  it('lists stride2 (the stem ReLU) and stride4-32 (layer1-4) with channels for every variant', () => {
    for (const name of Object.keys(RESNET_VARIANTS) as ResNetVariant[]) {
      const info = featureInfo(resnet(name));
      expect(info.map((f) => f.name), name).toEqual([...RESNET_STRIDE_TAPS]);
      expect(info.map((f) => f.module), name).toEqual(['relu', 'layer1', 'layer2', 'layer3', 'layer4']);
      const e = RESNET_VARIANTS[name].config.block.expansion;
      expect(info.map((f) => f.channels), name).toEqual([64, 64 * e, 128 * e, 256 * e, 512 * e]);
    }
  });
  it('gives each tap the shape and channels of the table in a forward pass, equal to the module it aliases', async () => {
    const { info, shapes, aliasDifferences } = await runStrideTaps(resnet('resnet18'), createJsBackend(), [64, 64]);
    for (const f of info) {
      expect(shapes[f.name], f.name).toEqual([1, f.channels, 64 / f.reduction, 64 / f.reduction]);
      expect(aliasDifferences[f.name], f.name).toBe(0);
    }
  });
  it('refuses an unknown variant with a typed error naming the known ones', () => {
    expect(() => resnet('resnet19' as ResNetVariant)).toThrow(UnknownVariantError);
    expect(() => resnet('resnet19' as ResNetVariant)).toThrow(/unknown ResNet variant 'resnet19'; expected one of resnet18, resnet34/);
  });
});
