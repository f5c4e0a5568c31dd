import { describe, expect, it } from 'vitest';
import { UnknownVariantError, featureInfo } from '@cnn/core';
import { runStrideTaps } from '@cnn/core/testing';
import { createJsBackend } from '@cnn/kernels/js';
import { CONVNEXT_STRIDE_TAPS, CONVNEXT_VARIANTS, convnext, type ConvNeXtVariant } from './index.js';

describe('ConvNeXt feature taps by reduction', () => {
  it('aliases stage1-4 as stride4-32 with the widths of every variant', () => {
    for (const name of Object.keys(CONVNEXT_VARIANTS) as ConvNeXtVariant[]) {
      const info = featureInfo(convnext(name));
      expect(info.map((f) => f.name), name).toEqual([...CONVNEXT_STRIDE_TAPS]);
      expect(info.map((f) => f.module), name).toEqual(['stage1', 'stage2', 'stage3', 'stage4']);
      expect(info.map((f) => f.channels), name).toEqual([...CONVNEXT_VARIANTS[name].config.widths]);
    }
  });
  it('gives each tap the shape and channels of the table in a forward pass, equal to the module it aliases', async () => {
    const { info, shapes, aliasDifferences } = await runStrideTaps(convnext('convnext_tiny'), createJsBackend(), [64, 64]);
    for (const f of info) {
      expect(shapes[f.name], f.name).toEqual([1, f.channels, 64 / f.reduction, 64 / f.reduction]);
      expect(aliasDifferences[f.name], f.name).toBe(0);
    }
  }, 60_000);
  it('refuses an unknown variant with a typed error naming the known ones', () => {
    expect(() => convnext('convnext_huge' as ConvNeXtVariant)).toThrow(UnknownVariantError);
  });
});
