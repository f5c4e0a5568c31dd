import { describe, expect, it } from 'vitest';
import { Tensor, counterInput, summarize, type Backend } from '@cnn/core';
import { GOLDEN_TOLERANCE, matchesPublishedGflops, readFixtures, runGolden, reuseBackends } from '@cnn/core/testing';
import { createJsBackend } from '@cnn/kernels/js';
import { createWasmBackend } from '@cnn/kernels/wasm';
import {
  EFFICIENTNET_TAPS, EFFICIENTNET_STRIDE_TAPS,
  EFFICIENTNET_VARIANTS,
  efficientnet,
  efficientnet_b0,
  efficientnet_b1,
  efficientnet_b7,
  makeDivisible,
  type EfficientNetVariant,
} from './index.js';

const fixturesDir = new URL('../fixtures/', import.meta.url);
const fixtures = readFixtures(fixturesDir);
const variants = Object.keys(EFFICIENTNET_VARIANTS) as EfficientNetVariant[];

// js 1e-5, wasm 1e-4 of torchvision (why: GOLDEN_TOLERANCE in @cnn/core/testing)
const TOLERANCE = { js: GOLDEN_TOLERANCE.js, wasm: GOLDEN_TOLERANCE.wasm };
const backends: Record<keyof typeof TOLERANCE, () => Promise<Backend>> = reuseBackends({
  js: async () => createJsBackend(),
  wasm: async () => createWasmBackend(),
});
/** The js reference backend is slow (~0.7 GMAC/s): it runs the reduced 64x64 cases only. */
const JS_MAX_SIDE = 64;

describe('EfficientNet family', () => {
  it('rounds widths like torchvision (_make_divisible)', () => {
    expect([32, 16, 24, 40, 80, 112, 192, 320].map((c) => makeDivisible(c * 1.1))).toEqual([32, 16, 24, 48, 88, 120, 208, 352]);
    expect([32, 16, 24, 40, 80, 112, 192, 320].map((c) => makeDivisible(c * 2.0))).toEqual([64, 32, 48, 80, 160, 224, 384, 640]);
    expect(makeDivisible(3)).toBe(8);
  });

  it('has torchvision parameter totals for every variant', () => {
    for (const name of variants) {
      expect(summarize(efficientnet(name)).totalParameters, name).toBe(EFFICIENTNET_VARIANTS[name].metadata.parameters);
    }
    expect(summarize(efficientnet_b0()).totalParameters).toBe(5_288_548);
    expect(summarize(efficientnet_b7()).totalParameters).toBe(66_347_960);
    for (const fx of fixtures) expect(summarize(efficientnet(fx.model as EfficientNetVariant)).totalParameters, fx.case).toBe(fx.params);
  });

  it('counts the published GFLOPS at each native resolution', () => {
    for (const name of variants) {
      const g = summarize(efficientnet(name)).totalMultiplyAdds / 1e9;
      expect(matchesPublishedGflops(g, EFFICIENTNET_VARIANTS[name].metadata.gflops), `${name}: ${g}`).toBe(true);
    }
    expect(summarize(efficientnet_b0()).totalMultiplyAdds).toBe(385_814_752);
    expect(summarize(efficientnet_b7()).totalMultiplyAdds).toBe(37_745_884_192);
  });

  it('takes its native input size and preprocessing from the DEFAULT weights', () => {
    for (const name of variants) {
      const { inputShape, metadata } = efficientnet(name).architecture;
      const p = metadata.preprocessing!;
      expect(inputShape, name).toEqual([3, p.cropSize, p.cropSize]);
      expect(p.mean).toEqual([0.485, 0.456, 0.406]);
      expect(p.std).toEqual([0.229, 0.224, 0.225]);
    }
    expect(efficientnet_b0().architecture.metadata.preprocessing).toMatchObject({ resizeSize: 256, cropSize: 224, interpolation: 'bicubic' });
    expect(efficientnet_b1().architecture.metadata).toMatchObject({
      weights: 'EfficientNet_B1_Weights.IMAGENET1K_V2',
      preprocessing: { resizeSize: 255, cropSize: 240, interpolation: 'bilinear' },
      top1: 79.838,
    });
    const sizes = variants.map((v) => EFFICIENTNET_VARIANTS[v].metadata.preprocessing);
    expect(sizes.map((p) => p.cropSize)).toEqual([224, 240, 288, 300, 380, 456, 528, 600]);
    expect(sizes.map((p) => p.resizeSize)).toEqual([256, 255, 288, 320, 384, 456, 528, 600]);
    expect(efficientnet_b7().architecture.metadata.preprocessing).toMatchObject({ resizeSize: 600, cropSize: 600, interpolation: 'bicubic' });
  });

  it('uses batch norm eps 1e-5 for B0-B4 and 1e-3 for B5-B7, and names every key as torchvision', () => {
    expect(variants.map((v) => EFFICIENTNET_VARIANTS[v].config.bnEps)).toEqual([1e-5, 1e-5, 1e-5, 1e-5, 1e-5, 1e-3, 1e-3, 1e-3]);
    const keys = efficientnet_b0().parameters.map((p) => p.key);
    expect(keys).toContain('features.0.0.weight');
    expect(keys).toContain('features.1.0.block.0.0.weight'); // expand ratio 1: depthwise first
    expect(keys).toContain('features.1.0.block.1.fc1.bias');
    expect(keys).toContain('features.2.0.block.2.fc2.weight'); // expand 1x1, depthwise, SE, project
    expect(keys).toContain('features.2.0.block.3.1.running_var');
    expect(keys).toContain('features.8.1.weight');
    expect(keys).toContain('classifier.1.weight');
  });

  it('exposes the stage taps and a numClasses option', async () => {
    expect(efficientnet_b0().outputNames).toEqual([...EFFICIENTNET_TAPS, ...EFFICIENTNET_STRIDE_TAPS, 'logits']);
    const model = efficientnet_b0({ numClasses: 10 });
    expect(summarize(model).totalParameters).toBe(5_288_548 - 1280 * 990 - 990);
    const runner = await model.useGeneratedWeights(3).compile(createJsBackend(), { inputSize: [32, 32], outputs: ['logits', 'features'] });
    const out = await runner.runAll(new Tensor([1, 3, 32, 32], counterInput([1, 3, 32, 32], 3)));
    expect(out.logits.shape).toEqual([1, 10]);
    expect(out.features.shape).toEqual([1, 1280, 1, 1]);
  });

  for (const fx of fixtures) {
    const [n, , h, w] = fx.input.shape;
    const native = efficientnet(fx.model as EfficientNetVariant).architecture.inputShape[1] === h;
    for (const backend of Object.keys(backends) as (keyof typeof backends)[]) {
      // js: the reduced cases; wasm: every variant at its native resolution
      if (backend === 'js' ? h > JS_MAX_SIDE : !native) continue;
      it(`${fx.case}: matches torchvision logits and stage taps on the ${backend} backend`, async () => {
        const model = efficientnet(fx.model as EfficientNetVariant).useGeneratedWeights(fx.seed);
        expect(summarize(model, [h, w]).totalMultiplyAdds * n).toBe(fx.macs);
        const r = await runGolden(model, fx, await backends[backend](), EFFICIENTNET_TAPS);
        expect(r.logitsShape).toEqual(fx.logits.shape);
        expect(r.logitsError).toBeLessThan(TOLERANCE[backend]);
        for (const tap of EFFICIENTNET_TAPS) expect(r.tapErrors[tap], tap).toBeLessThan(TOLERANCE[backend]);
      });
    }
  }
});
