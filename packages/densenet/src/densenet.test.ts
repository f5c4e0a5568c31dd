import { describe, expect, it } from 'vitest';
import { WeightsError, loadWeights, summarize, type Backend } from '@cnn/core';
import { type GoldenFixture, GOLDEN_TOLERANCE, lastGeneratedModel, readFixtures, runGolden, reuseBackends } from '@cnn/core/testing';
import { createJsBackend } from '@cnn/kernels/js';
import { createWasmBackend } from '@cnn/kernels/wasm';
import {
  DENSENET_TAPS, DENSENET_STRIDE_TAPS,
  DENSENET_VARIANTS,
  densenet,
  densenet121,
  modernDenseNetKey,
  renameLegacyDenseNetKeys,
  type DenseNetVariant,
} from './index.js';

const fixturesDir = new URL('../fixtures/', import.meta.url);
const fixtures = readFixtures(fixturesDir);

// js 1e-5, wasm 1e-4 of torchvision (why: GOLDEN_TOLERANCE in @cnn/core/testing)
const TOLERANCE = { js: GOLDEN_TOLERANCE.js, wasm: GOLDEN_TOLERANCE.wasm };
const backends: Record<keyof typeof TOLERANCE, () => Promise<Backend>> = reuseBackends({
  js: async () => createJsBackend(),
  wasm: async () => createWasmBackend(),
});
const backendFor = (fx: GoldenFixture): keyof typeof TOLERANCE => (fx.input.shape[2] >= 224 ? 'wasm' : 'js');

const generatedModel = lastGeneratedModel((variant: DenseNetVariant) => densenet(variant));

describe('DenseNet family', () => {
  const variants = Object.keys(DENSENET_VARIANTS) as DenseNetVariant[];

  it('has torchvision parameter totals for every variant', () => {
    for (const name of variants) {
      const total = summarize(densenet(name)).totalParameters;
      expect(total, name).toBe(DENSENET_VARIANTS[name].metadata.parameters);
      for (const fx of fixtures.filter((f) => f.model === name)) expect(total, fx.case).toBe(fx.params);
    }
    expect(summarize(densenet121()).totalParameters).toBe(7_978_856);
  });

  it('counts multiply-adds within 1% of torchvision’s GFLOPS for every variant', () => {
    expect(summarize(densenet121()).totalMultiplyAdds).toBe(2_834_161_664);
    for (const name of variants) {
      const g = summarize(densenet(name)).totalMultiplyAdds / 1e9;
      const published = DENSENET_VARIANTS[name].metadata.gflops;
      expect(Math.abs(g - published) / published, name).toBeLessThan(0.01);
    }
  });

  it('plans every dense block as one buffer: concatenations are channel views, no copies (planPasses)', () => {
    const plan = densenet121().useGeneratedWeights(1).plan({ inputSize: [64, 64] });
    expect(plan.ops.filter((o) => o.kind === 'copyChannels')).toHaveLength(0);
    expect(plan.ops.some((o) => o.kind === 'conv2d' && o.output.base !== undefined)).toBe(true);
  });

  it('exposes the torchvision preprocessing preset with the builder', () => {
    for (const name of variants) {
      expect(densenet(name).architecture.metadata.preprocessing, name).toMatchObject({
        resizeSize: 256,
        cropSize: 224,
        interpolation: 'bilinear',
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
      });
    }
  });

  it('uses torchvision’s module names (norm1/conv1/norm2/conv2, transitionN, norm5, classifier)', () => {
    const keys = densenet121().parameters.map((p) => p.key);
    expect(keys.slice(0, 5)).toEqual(['features.conv0.weight', 'features.norm0.weight', 'features.norm0.bias', 'features.norm0.running_mean', 'features.norm0.running_var']);
    expect(keys).toEqual(
      expect.arrayContaining([
        'features.denseblock1.denselayer1.norm1.weight',
        'features.denseblock1.denselayer1.conv1.weight',
        'features.denseblock1.denselayer6.norm2.running_var',
        'features.denseblock3.denselayer24.conv2.weight',
        'features.transition1.norm.weight',
        'features.transition3.conv.weight',
        'features.norm5.running_mean',
        'classifier.weight',
        'classifier.bias',
      ]),
    );
    expect(keys.some((k) => k.includes('transition4'))).toBe(false);
    // 121 = stem conv + 2 convs x 58 dense layers + 3 transitions + classifier
    expect(summarize(densenet121()).rows.filter((r) => r.type === 'conv2d' || r.type === 'linear').length).toBe(121);
  });

  it('exposes the dense blocks and the final features as taps, with their channel counts', () => {
    const model = densenet121();
    expect(new Set(model.outputNames)).toEqual(new Set(['logits', ...DENSENET_TAPS, 'features.relu0', ...DENSENET_STRIDE_TAPS]));
    const rows = summarize(model).rows;
    const concatWidths = rows.filter((r) => r.type === 'concat').map((r) => r.outputShape[0]);
    for (const c of [256, 512, 1024]) expect(concatWidths).toContain(c);
    expect(rows.find((r) => r.name === 'classifier')!.parameters).toBe(1024 * 1000 + 1000);
    expect(summarize(densenet('densenet161')).rows.find((r) => r.name === 'classifier')!.parameters).toBe(2208 * 1000 + 1000);
  });

  it('renames legacy checkpoint keys (norm.1 -> norm1) as torchvision’s loader does', async () => {
    expect(modernDenseNetKey('features.denseblock2.denselayer10.norm.1.weight')).toBe('features.denseblock2.denselayer10.norm1.weight');
    expect(modernDenseNetKey('features.denseblock4.denselayer3.conv.2.weight')).toBe('features.denseblock4.denselayer3.conv2.weight');
    expect(modernDenseNetKey('features.denseblock1.denselayer1.norm.2.running_var')).toBe('features.denseblock1.denselayer1.norm2.running_var');
    expect(modernDenseNetKey('features.transition1.norm.weight')).toBe('features.transition1.norm.weight');
    expect(modernDenseNetKey('features.norm5.bias')).toBe('features.norm5.bias');

    const modern = densenet121().useGeneratedWeights(3).getWeights();
    const legacy = new Map([...modern].map(([k, v]) => [k.replace(/(denselayer\d+\.(?:norm|conv))([12])\./, '$1.$2.'), v]));
    expect(legacy.has('features.denseblock1.denselayer1.norm.1.weight')).toBe(true);
    await expect(loadWeights(densenet121(), legacy)).rejects.toThrow(WeightsError);
    const loaded = await loadWeights(densenet121(), renameLegacyDenseNetKeys(legacy));
    expect(loaded.getWeights().get('features.denseblock1.denselayer1.norm1.weight')!.data).toEqual(modern.get('features.denseblock1.denselayer1.norm1.weight')!.data);
  });

  it('builds other class counts and inputs down to 29x29', () => {
    const model = densenet121({ numClasses: 10 });
    expect(summarize(model).totalParameters).toBe(7_978_856 - 990 * 1025);
    expect(summarize(model, [29, 29]).rows.at(-1)!.outputShape).toEqual([10]);
  });

  for (const fx of fixtures) {
    const backend = backendFor(fx);
    it(`${fx.case}: matches torchvision logits, denseblock1-4 and features on the ${backend} backend`, async () => {
      const [n, , h, w] = fx.input.shape;
      const model = generatedModel(fx.model as DenseNetVariant, fx.seed);
      expect(summarize(model, [h, w]).totalMultiplyAdds * n).toBe(fx.macs);
      // every fixture has the module taps; the smallest also the stride taps, as torch's modules they alias
      const taps = Object.keys(fx.taps);
      expect(taps).toEqual(expect.arrayContaining([...DENSENET_TAPS]));
      const r = await runGolden(model, fx, await backends[backend](), taps);
      expect(r.logitsShape).toEqual(fx.logits.shape);
      expect(r.logitsError).toBeLessThan(TOLERANCE[backend]);
      for (const tap of taps) expect(r.tapErrors[tap], tap).toBeLessThan(TOLERANCE[backend]);
    });
  }

  it('has a 64 px (js) and a 224 (wasm) golden fixture for every variant', () => {
    for (const name of variants) {
      const sizes = fixtures.filter((f) => f.model === name).map((f) => f.input.shape[2]).sort((a, b) => a - b);
      expect(sizes, name).toEqual([64, 224]);
    }
  });
});
