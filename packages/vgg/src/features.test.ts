import { describe, expect, it } from 'vitest';
import { UnknownVariantError, featureInfo } from '@cnn/core';
import { runStrideTaps } from '@cnn/core/testing';
import { createJsBackend } from '@cnn/kernels/js';
import { VGG_VARIANTS, vgg, type VggVariant } from './index.js';

describe('VGG feature taps by reduction', () => {
  it('aliases the last convolution of stages 2-5 and pool5, for every variant', () => {
    const last = { A: ['conv2_1', 'conv3_2', 'conv4_2', 'conv5_2'], B: ['conv2_2', 'conv3_2', 'conv4_2', 'conv5_2'], D: ['conv2_2', 'conv3_3', 'conv4_3', 'conv5_3'], E: ['conv2_2', 'conv3_4', 'conv4_4', 'conv5_4'] };
    for (const name of Object.keys(VGG_VARIANTS) as VggVariant[]) {
      const info = featureInfo(vgg(name));
      expect(info.map((f) => f.name), name).toEqual(['stride2', 'stride4', 'stride8', 'stride16', 'stride32']);
      expect(info.map((f) => f.module), name).toEqual([...last[VGG_VARIANTS[name].config.layers], 'pool5']);
      expect(info.map((f) => f.channels), name).toEqual([128, 256, 512, 512, 512]);
      expect(info.map((f) => f.reduction), name).toEqual([2, 4, 8, 16, 32]);
    }
  });
  it('gives each tap the shape and channels of the table in a forward pass, equal to the module it aliases', async () => {
    const { info, shapes, aliasDifferences } = await runStrideTaps(vgg('vgg11'), createJsBackend(), [64, 64]);
    for (const f of info) {
      expect(shapes[f.name], f.name).toEqual([1, f.channels, 64 / f.reduction, 64 / f.reduction]);
      expect(aliasDifferences[f.name], f.name).toBe(0);
    }
  }, 60_000);
  it('refuses an unknown variant with a typed error naming the known ones', () => {
    expect(() => vgg('vgg12' as VggVariant)).toThrow(UnknownVariantError);
    expect(() => vgg('vgg12' as VggVariant)).toThrow(/unknown VGG variant 'vgg12'; expected one of vgg11, vgg11_bn/);
  });
});
