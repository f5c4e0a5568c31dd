import { describe, expect, it } from 'vitest';
import { UnknownVariantError, featureInfo } from '@cnn/core';
import { runStrideTaps } from '@cnn/core/testing';
import { createJsBackend } from '@cnn/kernels/js';
import { DENSENET_STRIDE_TAPS, DENSENET_VARIANTS, densenet, type DenseNetVariant } from './index.js';

describe('DenseNet feature taps by reduction', () => {
  it('aliases the stem ReLU, dense blocks 1-3 and features, with the channels of every variant', () => {
    for (const name of Object.keys(DENSENET_VARIANTS) as DenseNetVariant[]) {
      const { growthRate, blockConfig, numInitFeatures } = DENSENET_VARIANTS[name].config;
      const info = featureInfo(densenet(name));
      expect(info.map((f) => f.name), name).toEqual([...DENSENET_STRIDE_TAPS]);
      expect(info.map((f) => f.module), name).toEqual(['features.relu0', 'denseblock1', 'denseblock2', 'denseblock3', 'features']);
      let c: number = numInitFeatures;
      const channels: number[] = [c];
      blockConfig.forEach((layers, i) => {
        c += layers * growthRate;
        channels.push(c);
        if (i < 3) c = Math.floor(c / 2);
      });
      expect(info.map((f) => f.channels), name).toEqual(channels);
    }
  });
  it('gives each tap the shape and channels of the table in a forward pass, equal to the module it aliases', async () => {
    const { info, shapes, aliasDifferences } = await runStrideTaps(densenet('densenet121'), createJsBackend(), [64, 64]);
    for (const f of info) {
      expect(shapes[f.name], f.name).toEqual([1, f.channels, 64 / f.reduction, 64 / f.reduction]);
      expect(aliasDifferences[f.name], f.name).toBe(0);
    }
  }, 60_000);
  it('refuses an unknown variant with a typed error naming the known ones', () => {
    expect(() => densenet('densenet100' as DenseNetVariant)).toThrow(UnknownVariantError);
  });
});
