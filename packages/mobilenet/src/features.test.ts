import { describe, expect, it } from 'vitest';
import { UnknownVariantError, WeightsError, featureInfo, loadWeights, summarize, type WeightTensor } from '@cnn/core';
import { runStrideTaps } from '@cnn/core/testing';
import { createJsBackend } from '@cnn/kernels/js';
import { MOBILENET_TAPS, MOBILENET_VARIANTS, mobilenet, mobilenet_v2, mobilenet_v3_large, mobilenet_v3_small, type MobileNetVariant } from './index.js';

// the modules torchvision's MobileNets (and the v1 reference) end each reduction with (tools/golden/cases/mobilenet.py)
const MODULES: Record<MobileNetVariant, string[]> = {
  mobilenet_v1: ['features.1', 'features.3', 'features.5', 'features.11', 'features.13'],
  mobilenet_v2: ['features.1', 'features.3', 'features.6', 'features.13', 'features.18'],
  mobilenet_v3_large: ['features.1', 'features.3', 'features.6', 'features.12', 'features.16'],
  mobilenet_v3_small: ['features.0', 'features.1', 'features.3', 'features.8', 'features.12'],
};
const CHANNELS: Record<MobileNetVariant, number[]> = {
  mobilenet_v1: [64, 128, 256, 512, 1024],
  mobilenet_v2: [16, 24, 32, 96, 1280],
  mobilenet_v3_large: [16, 24, 40, 112, 960],
  mobilenet_v3_small: [16, 16, 24, 48, 576],
};

describe('MobileNet feature taps by reduction', () => {
  it('aliases the last features.N at each reduction, with its channels, for every variant', () => {
    for (const name of Object.keys(MOBILENET_VARIANTS) as MobileNetVariant[]) {
      const info = featureInfo(mobilenet(name));
      expect(info.map((f) => f.name), name).toEqual([...MOBILENET_TAPS]);
      expect(info.map((f) => f.module), name).toEqual(MODULES[name]);
      expect(info.map((f) => f.channels), name).toEqual(CHANNELS[name]);
    }
  });
  it('gives each tap the shape and channels of the table in a forward pass, equal to the module it aliases', async () => {
    for (const model of [mobilenet('mobilenet_v1', { alpha: 0.25 }), mobilenet_v3_small()]) {
      const { info, shapes, aliasDifferences } = await runStrideTaps(model, createJsBackend(), [64, 64]);
      for (const f of info) {
        expect(shapes[f.name], f.name).toEqual([1, f.channels, 64 / f.reduction, 64 / f.reduction]);
        expect(aliasDifferences[f.name], f.name).toBe(0);
      }
    }
  }, 60_000);
});

describe('the MobileNet family builder', () => {
  it('refuses an unknown variant, and an option the variant does not take', () => {
    expect(() => mobilenet('mobilenet_v4' as MobileNetVariant)).toThrow(UnknownVariantError);
    expect(() => mobilenet('mobilenet_v2', { alpha: 0.5 } as never)).toThrow("mobilenet_v2: unknown option(s) alpha; expected widthMult, numClasses");
  });
  it('builds the same networks as the named builders', () => {
    expect(summarize(mobilenet('mobilenet_v2', { widthMult: 0.5 })).totalParameters).toBe(summarize(mobilenet_v2({ widthMult: 0.5 })).totalParameters);
    expect(mobilenet('mobilenet_v1', { alpha: 0.5 }).architecture.metadata.parameters).toBe(1_331_592);
  });
  // zero-filled tensors with a variant's keys and shapes: which keys a file holds is what matters
  const weightsOf = (name: MobileNetVariant) =>
    new Map<string, WeightTensor>(mobilenet(name).parameters.map((p) => [p.key, { shape: p.shape, data: new Float32Array(p.shape.reduce((a, b) => a * b, 1)) }]));
  it('names the variant a weights file was made for', async () => {
    const error = await loadWeights(mobilenet_v3_large(), weightsOf('mobilenet_v3_small')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightsError);
    expect((error as Error).message).toMatch(/the weights are mobilenet_v3_small's .* not mobilenet_v3_large's/);
    // the family builder knows every version; a named builder only its own (it bundles no other
    // version's code), so another version's file is still a typed WeightsError, named by its keys
    await expect(loadWeights(mobilenet('mobilenet_v2'), weightsOf('mobilenet_v1'))).rejects.toThrow(/the weights are mobilenet_v1's/);
    await expect(loadWeights(mobilenet('mobilenet_v3_small'), weightsOf('mobilenet_v2'))).rejects.toThrow(/the weights are mobilenet_v2's/);
    const other = await loadWeights(mobilenet_v2(), weightsOf('mobilenet_v1')).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(WeightsError);
    expect((other as Error).message).toMatch(/features\.1\.conv\.0\.0\.weight/);
  });
});
