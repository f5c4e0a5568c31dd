import { describe, expect, it } from 'vitest';
import { UnknownVariantError, featureInfo } from '@cnn/core';
import { runStrideTaps } from '@cnn/core/testing';
import { createJsBackend } from '@cnn/kernels/js';
import { LENET_STRIDE_TAPS, lenet, lenet5, type LeNetVariant } from './index.js';

describe('LeNet-5 feature taps by reduction', () => {
  it('aliases c3 (after S2) and c5 (after S4)', () => {
    expect(featureInfo(lenet5()).map((f) => [f.name, f.module, f.channels, f.reduction])).toEqual([
      ['stride2', 'c3', 16, 2],
      ['stride4', 'c5', 120, 4],
    ]);
    expect(featureInfo(lenet5()).map((f) => f.name)).toEqual([...LENET_STRIDE_TAPS]);
  });
  it('gives each tap its table channels in a forward pass, equal to the module it aliases', async () => {
    // unpadded 5x5 convolutions: 32 -> 28 -> 14 -> 10 (stride 2) -> 5 -> 1 (stride 4)
    const { info, shapes, aliasDifferences } = await runStrideTaps(lenet5(), createJsBackend(), [32, 32]);
    expect(info.map((f) => shapes[f.name])).toEqual([[1, 16, 10, 10], [1, 120, 1, 1]]);
    for (const f of info) expect(aliasDifferences[f.name], f.name).toBe(0);
  });
  it('refuses an unknown variant with a typed error naming the known ones', () => {
    expect(() => lenet('lenet1' as LeNetVariant)).toThrow(UnknownVariantError);
    expect(() => lenet('lenet1' as LeNetVariant)).toThrow("unknown LeNet variant 'lenet1'; expected one of lenet5");
  });
});
