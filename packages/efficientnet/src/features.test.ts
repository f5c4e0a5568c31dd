import { describe, expect, it } from 'vitest';
import { UnknownVariantError, featureInfo, makeDivisible } from '@cnn/core';
import { runStrideTaps } from '@cnn/core/testing';
import { createJsBackend } from '@cnn/kernels/js';
import { EFFICIENTNET_STRIDE_TAPS, EFFICIENTNET_VARIANTS, efficientnet, type EfficientNetVariant } from './index.js';

describe('EfficientNet feature taps by reduction', () => {
  it('aliases stages 1, 2, 3, 5 and the head convolution, with the scaled widths of every variant', () => {
    for (const name of Object.keys(EFFICIENTNET_VARIANTS) as EfficientNetVariant[]) {
      const width = (c: number) => makeDivisible(c * EFFICIENTNET_VARIANTS[name].config.widthMult);
      const info = featureInfo(efficientnet(name));
      expect(info.map((f) => f.name), name).toEqual([...EFFICIENTNET_STRIDE_TAPS]);
      expect(info.map((f) => f.module), name).toEqual(['stage1', 'stage2', 'stage3', 'stage5', 'features']);
      expect(info.map((f) => f.channels), name).toEqual([width(16), width(24), width(40), width(112), 4 * width(320)]);
    }
  });
  it('gives each tap the shape and channels of the table in a forward pass, equal to the module it aliases', async () => {
    const { info, shapes, aliasDifferences } = await runStrideTaps(efficientnet('efficientnet_b0'), createJsBackend(), [64, 64]);
    for (const f of info) {
      expect(shapes[f.name], f.name).toEqual([1, f.channels, 64 / f.reduction, 64 / f.reduction]);
      expect(aliasDifferences[f.name], f.name).toBe(0);
    }
  }, 60_000);
  it('refuses an unknown variant with a typed error naming the known ones', () => {
    expect(() => efficientnet('efficientnet_b8' as EfficientNetVariant)).toThrow(UnknownVariantError);
  });
});
