import { describe, expect, it } from 'vitest';
import { UnknownVariantError, WeightsError, featureInfo, loadWeights, type WeightTensor } from '@cnn/core';
import { runStrideTaps } from '@cnn/core/testing';
import { createJsBackend } from '@cnn/kernels/js';
import { ALEXNET_STRIDE_TAPS, alexnet, alexnet2012, alexnetModel, type AlexNetVariant } from './index.js';

describe('AlexNet feature taps by reduction', () => {
  it('aliases conv1, conv2 (norm1, norm2 with LRN), conv5 and the last pool', () => {
    const tv = featureInfo(alexnet());
    expect(tv.map((f) => f.name)).toEqual([...ALEXNET_STRIDE_TAPS]);
    expect(tv.map((f) => f.module)).toEqual(['conv1', 'conv2', 'conv5', 'features.12']);
    expect(tv.map((f) => f.channels)).toEqual([64, 192, 256, 256]);
    const paper = featureInfo(alexnet2012());
    expect(paper.map((f) => f.module)).toEqual(['norm1', 'norm2', 'conv5', 'features.12']);
    expect(paper.map((f) => f.channels)).toEqual([96, 256, 256, 256]);
  });
  it('gives each tap its channels in a forward pass, equal to the module it aliases', async () => {
    // 11x11/4 then 3x3/2 pools without padding: the sides are not input / reduction, but shrink with it
    const { info, shapes, aliasDifferences } = await runStrideTaps(alexnet2012({ numClasses: 10 }), createJsBackend(), [127, 127]);
    expect(info.map((f) => shapes[f.name])).toEqual([[1, 96, 31, 31], [1, 256, 15, 15], [1, 256, 7, 7], [1, 256, 3, 3]]);
    for (const f of info) expect(aliasDifferences[f.name], f.name).toBe(0);
  }, 60_000);
});

describe('the AlexNet family builder', () => {
  it('refuses an unknown variant with a typed error naming the known ones', () => {
    expect(() => alexnetModel('alexnet2014' as AlexNetVariant)).toThrow(UnknownVariantError);
    expect(() => alexnetModel('alexnet2014' as AlexNetVariant)).toThrow("unknown AlexNet variant 'alexnet2014'; expected one of alexnet, alexnet2012");
  });
  it('names the variant a weights file was made for', async () => {
    const file = new Map<string, WeightTensor>(alexnet2012().parameters.map((p) => [p.key, { shape: p.shape, data: new Float32Array(p.shape.reduce((a, b) => a * b, 1)) }]));
    const error = await loadWeights(alexnet(), file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightsError);
    expect((error as Error).message).toMatch(/the weights are alexnet2012's/);
  });
});
