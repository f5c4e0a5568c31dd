import { describe, expect, it } from 'vitest';
import { UnknownVariantError, WeightsError, featureInfo, loadWeights, type WeightTensor } from '@cnn/core';
import { runStrideTaps } from '@cnn/core/testing';
import { createJsBackend } from '@cnn/kernels/js';
import { GOOGLENET_STRIDE_TAPS, INCEPTION_V3_STRIDE_TAPS, googlenet, googlenet2014, inception, inception_v3, type InceptionVariant } from './index.js';

describe('Inception feature taps by reduction', () => {
  it('aliases the modules that end each reduction, with their channels', () => {
    const info = (m: ReturnType<typeof googlenet>) => featureInfo(m).map((f) => [f.name, f.module, f.channels]);
    expect(info(googlenet())).toEqual([['stride2', 'conv1', 64], ['stride4', 'conv3', 192], ['stride8', 'inception3b', 480], ['stride16', 'inception4e', 832], ['stride32', 'inception5b', 1024]]);
    expect(info(googlenet2014())).toEqual([['stride2', 'conv1', 64], ['stride4', 'norm2', 192], ['stride8', 'inception3b', 480], ['stride16', 'inception4e', 832], ['stride32', 'inception5b', 1024]]);
    expect(info(inception_v3())).toEqual([['stride2', 'Conv2d_2b_3x3', 64], ['stride4', 'Conv2d_4a_3x3', 192], ['stride8', 'Mixed_5d', 288], ['stride16', 'Mixed_6e', 768], ['stride32', 'Mixed_7c', 2048]]);
    expect(featureInfo(googlenet()).map((f) => f.name)).toEqual([...GOOGLENET_STRIDE_TAPS]);
    expect(featureInfo(inception_v3()).map((f) => f.name)).toEqual([...INCEPTION_V3_STRIDE_TAPS]);
  });
  it('gives each tap its table channels in a forward pass, equal to the module it aliases', async () => {
    const { info, shapes, aliasDifferences } = await runStrideTaps(googlenet(), createJsBackend(), [64, 64]);
    for (const f of info) {
      expect(shapes[f.name], f.name).toEqual([1, f.channels, 64 / f.reduction, 64 / f.reduction]);
      expect(aliasDifferences[f.name], f.name).toBe(0);
    }
    // unpadded 3x3 convolutions: 75 -> 37, 35, 17 (stride 4), 8, 3, 1
    const v3 = await runStrideTaps(inception_v3(), createJsBackend(), [75, 75]);
    expect(v3.info.map((f) => v3.shapes[f.name])).toEqual([[1, 64, 35, 35], [1, 192, 15, 15], [1, 288, 7, 7], [1, 768, 3, 3], [1, 2048, 1, 1]]);
    for (const f of v3.info) expect(v3.aliasDifferences[f.name], f.name).toBe(0);
  }, 120_000);
});

describe('the Inception family builder', () => {
  it('refuses an unknown variant with a typed error naming the known ones', () => {
    expect(() => inception('inception_v4' as InceptionVariant)).toThrow(UnknownVariantError);
    expect(() => inception('inception_v4' as InceptionVariant)).toThrow("unknown Inception variant 'inception_v4'; expected one of googlenet, googlenet2014, inception_v3");
  });
  it('names the variant a weights file was made for', async () => {
    const file = new Map<string, WeightTensor>(googlenet2014().parameters.map((p) => [p.key, { shape: p.shape, data: new Float32Array(p.shape.reduce((a, b) => a * b, 1)) }]));
    const error = await loadWeights(googlenet(), file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightsError);
    expect((error as Error).message).toMatch(/the weights are googlenet2014's/);
  });
});
