import { describe, expect, it } from 'vitest';
import { Tensor, counterInput, summarize, type Backend } from '@cnn/core';
import { GOLDEN_TOLERANCE, matchesPublishedGflops, readFixtures, runGolden, reuseBackends } from '@cnn/core/testing';
import { createJsBackend } from '@cnn/kernels/js';
import { createWasmBackend } from '@cnn/kernels/wasm';
import { CONVNEXT_TAPS, CONVNEXT_STRIDE_TAPS, CONVNEXT_VARIANTS, convnext, convnext_large, convnext_tiny, type ConvNeXtVariant } from './index.js';

const fixturesDir = new URL('../fixtures/', import.meta.url);
const fixtures = readFixtures(fixturesDir);
const variants = Object.keys(CONVNEXT_VARIANTS) as ConvNeXtVariant[];

// js 1e-5, wasm 1e-4 of torchvision (why: GOLDEN_TOLERANCE in @cnn/core/testing)
const TOLERANCE = { js: GOLDEN_TOLERANCE.js, wasm: GOLDEN_TOLERANCE.wasm };
const backends: Record<keyof typeof TOLERANCE, () => Promise<Backend>> = reuseBackends({
  js: async () => createJsBackend(),
  wasm: async () => createWasmBackend(),
});
/** The js reference backend is slow (~0.7 GMAC/s): it runs the reduced cases only. */
const JS_MAX_SIDE = 64;

describe('ConvNeXt family', () => {
  it('has torchvision parameter totals for every variant', () => {
    for (const name of variants) {
      expect(summarize(convnext(name)).totalParameters, name).toBe(CONVNEXT_VARIANTS[name].metadata.parameters);
    }
    expect(summarize(convnext_tiny()).totalParameters).toBe(28_589_128);
    expect(summarize(convnext_large()).totalParameters).toBe(197_767_336);
    for (const fx of fixtures) expect(summarize(convnext(fx.model as ConvNeXtVariant)).totalParameters, fx.case).toBe(fx.params);
  });

  it('counts the published GFLOPS (convolutions and linears) at 224x224', () => {
    for (const name of variants) {
      const g = summarize(convnext(name)).totalMultiplyAdds / 1e9;
      expect(matchesPublishedGflops(g, CONVNEXT_VARIANTS[name].metadata.gflops), `${name}: ${g}`).toBe(true);
    }
    expect(summarize(convnext_tiny()).totalMultiplyAdds).toBe(4_455_531_264);
    expect(summarize(convnext_large()).totalMultiplyAdds).toBe(34_361_433_600);
  });

  it('exposes the torchvision preprocessing preset of the DEFAULT weights', () => {
    const resize = variants.map((v) => CONVNEXT_VARIANTS[v].metadata.preprocessing.resizeSize);
    expect(resize).toEqual([236, 230, 232, 232]);
    for (const name of variants) {
      const { inputShape, metadata } = convnext(name).architecture;
      expect(inputShape).toEqual([3, 224, 224]);
      expect(metadata.weights).toMatch(/^ConvNeXt_\w+_Weights\.IMAGENET1K_V1$/);
      expect(metadata.preprocessing).toMatchObject({ cropSize: 224, interpolation: 'bilinear', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    }
    expect(convnext_tiny().architecture.metadata).toMatchObject({ top1: 82.52, top5: 96.146 });
  });

  it('names every key as torchvision (block.0/2/3/5, layer_scale, downsampling, head)', () => {
    const shapes = new Map(convnext_tiny().parameters.map((p) => [p.key, p.shape]));
    expect(shapes.get('features.0.0.weight')).toEqual([96, 3, 4, 4]);
    expect(shapes.get('features.0.1.weight')).toEqual([96]);
    expect(shapes.get('features.1.0.block.0.weight')).toEqual([96, 1, 7, 7]);
    expect(shapes.get('features.1.0.block.2.bias')).toEqual([96]);
    expect(shapes.get('features.1.0.block.3.weight')).toEqual([384, 96]);
    expect(shapes.get('features.1.0.block.5.weight')).toEqual([96, 384]);
    expect(shapes.get('features.1.0.layer_scale')).toEqual([96, 1, 1]);
    expect(shapes.get('features.2.0.weight')).toEqual([96]);
    expect(shapes.get('features.2.1.weight')).toEqual([192, 96, 2, 2]);
    expect(shapes.get('features.5.8.layer_scale')).toEqual([384, 1, 1]);
    expect(shapes.get('classifier.0.weight')).toEqual([768]);
    expect(shapes.get('classifier.2.weight')).toEqual([1000, 768]);
  });

  it('exposes the stage taps and a numClasses option', async () => {
    expect(convnext_tiny().outputNames).toEqual([...CONVNEXT_TAPS, ...CONVNEXT_STRIDE_TAPS, 'logits']);
    const model = convnext_tiny({ numClasses: 10 });
    expect(summarize(model).totalParameters).toBe(28_589_128 - 768 * 990 - 990);
    const runner = await model.useGeneratedWeights(3).compile(createJsBackend(), { inputSize: [32, 32], outputs: ['logits', 'stage4'] });
    const out = await runner.runAll(new Tensor([1, 3, 32, 32], counterInput([1, 3, 32, 32], 3)));
    expect(out.logits.shape).toEqual([1, 10]);
    expect(out.stage4.shape).toEqual([1, 768, 1, 1]);
  });

  for (const fx of fixtures) {
    const [n, , h, w] = fx.input.shape;
    const native = h === 224;
    for (const backend of Object.keys(backends) as (keyof typeof backends)[]) {
      // js: the reduced cases; wasm: every variant at 224x224
      if (backend === 'js' ? h > JS_MAX_SIDE : !native) continue;
      it(`${fx.case}: matches torchvision logits and stage taps on the ${backend} backend`, async () => {
        const model = convnext(fx.model as ConvNeXtVariant).useGeneratedWeights(fx.seed);
        expect(summarize(model, [h, w]).totalMultiplyAdds * n).toBe(fx.macs);
        const r = await runGolden(model, fx, await backends[backend](), CONVNEXT_TAPS);
        expect(r.logitsShape).toEqual(fx.logits.shape);
        expect(r.logitsError).toBeLessThan(TOLERANCE[backend]);
        for (const tap of CONVNEXT_TAPS) expect(r.tapErrors[tap], tap).toBeLessThan(TOLERANCE[backend]);
      });
    }
  }
});
