import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { Model, summarize, type Architecture, type Backend } from '@cnn/core';
import { type GoldenFixture, GOLDEN_TOLERANCE, lastGeneratedModel, readFixture, runGolden, reuseBackends } from '@cnn/core/testing';
import { createJsBackend } from '@cnn/kernels/js';
import { createWasmBackend } from '@cnn/kernels/wasm';
import { ALEXNET_LRN_TAPS, ALEXNET_STRIDE_TAPS, ALEXNET_TAPS, ALEXNET_VARIANTS, PAPER_GROUPS, PAPER_LRN, PAPER_WIDTHS, alexnet, alexnet2012, alexnetModel, type AlexNetVariant } from './index.js';

const fixturesDir = new URL('../fixtures/', import.meta.url);
const fixture = (name: string) => readFixture(fixturesDir, name);
const networkFixtures = readdirSync(fixturesDir)
  .filter((f) => f.startsWith('alexnet') && f.endsWith('.json'))
  .sort()
  .map(fixture);

// js 1e-5, wasm 1e-4 of torchvision (why: GOLDEN_TOLERANCE in @cnn/core/testing)
const TOLERANCE = { js: GOLDEN_TOLERANCE.js, wasm: GOLDEN_TOLERANCE.wasm };
const backends: Record<keyof typeof TOLERANCE, () => Promise<Backend>> = reuseBackends({
  js: async () => createJsBackend(),
  wasm: async () => createWasmBackend(),
});
const backendFor = (fx: GoldenFixture): keyof typeof TOLERANCE => (fx.input.shape[2] >= 224 ? 'wasm' : 'js');

// alexnet_lrn: torchvision's AlexNet with the paper's LRN added (the localResponseNorm option)
const generatedModel = lastGeneratedModel((variant: AlexNetVariant | 'alexnet_lrn') => (variant === 'alexnet_lrn' ? alexnet({ localResponseNorm: true }) : alexnetModel(variant)));

async function checkGolden(model: Model, fx: GoldenFixture, backend: keyof typeof TOLERANCE): Promise<void> {
  const [n, , h, w] = fx.input.shape;
  expect(summarize(model, [h, w]).totalMultiplyAdds * n).toBe(fx.macs);
  const taps = Object.keys(fx.taps);
  const r = await runGolden(model, fx, await backends[backend](), taps);
  expect(r.logitsShape).toEqual(fx.logits.shape);
  expect(r.logitsError).toBeLessThan(TOLERANCE[backend]);
  for (const tap of taps) expect(r.tapErrors[tap], tap).toBeLessThan(TOLERANCE[backend]);
}

describe('AlexNet', () => {
  it('has torchvision’s 61,100,840 parameters, with or without LRN, and the paper’s network 60,965,224', () => {
    expect(summarize(alexnet()).totalParameters).toBe(61_100_840);
    expect(summarize(alexnet({ localResponseNorm: true })).totalParameters).toBe(61_100_840);
    for (const [name, v] of Object.entries(ALEXNET_VARIANTS)) {
      const total = summarize(alexnetModel(name as AlexNetVariant)).totalParameters;
      expect(total, name).toBe(v.metadata.parameters);
      for (const fx of networkFixtures.filter((f) => f.model === name)) expect(total, fx.case).toBe(fx.params);
    }
  });

  it('counts ~0.71 G multiply-adds at 224x224, as torchvision reports', () => {
    expect(summarize(alexnet()).totalMultiplyAdds).toBe(714_188_480);
    for (const [name, v] of Object.entries(ALEXNET_VARIANTS)) {
      const g = summarize(alexnetModel(name as AlexNetVariant)).totalMultiplyAdds / 1e9;
      expect(Math.abs(g - v.metadata.gflops) / v.metadata.gflops, name).toBeLessThan(0.01);
    }
  });

  it('shows in the summary that FC6 holds 37.7 M of the 61.1 M parameters', () => {
    const rows = summarize(alexnet()).rows;
    const fc6 = rows.find((r) => r.name === 'classifier.1')!;
    expect(fc6).toMatchObject({ type: 'linear', outputShape: [4096], parameters: 256 * 6 * 6 * 4096 + 4096 });
    expect(fc6.parameters).toBe(37_752_832);
    expect(Math.max(...rows.map((r) => r.parameters))).toBe(fc6.parameters);
    const fc = rows.filter((r) => r.type === 'linear').reduce((s, r) => s + r.parameters, 0);
    const conv = rows.filter((r) => r.type === 'conv2d').reduce((s, r) => s + r.parameters, 0);
    expect(fc).toBe(58_631_144);
    expect(conv).toBe(2_469_696);
    // ...while the convolutions do almost all the arithmetic
    const convMacs = rows.filter((r) => r.type === 'conv2d').reduce((s, r) => s + r.multiplyAdds, 0);
    expect(convMacs / summarize(alexnet()).totalMultiplyAdds).toBeGreaterThan(0.9);
  });

  it('uses torchvision’s keys: features.0/3/6/8/10 and classifier.1/4/6, also in the 2012 form', () => {
    const keys = alexnet().parameters.map((p) => p.key);
    expect(keys).toEqual([0, 3, 6, 8, 10].flatMap((i) => [`features.${i}.weight`, `features.${i}.bias`]).concat([1, 4, 6].flatMap((i) => [`classifier.${i}.weight`, `classifier.${i}.bias`])));
    expect(alexnet2012().parameters.map((p) => p.key)).toEqual(keys);
  });
  it('builds the 2012 paper’s network: 96 11x11 filters (34,944 parameters), 256-384-384-256, groups of 2 on conv2, 4, 5', () => {
    const rows = summarize(alexnet2012()).rows.filter((r) => r.type === 'conv2d');
    expect(rows.map((r) => r.outputShape[0])).toEqual([...PAPER_WIDTHS]);
    expect(rows.map((r) => r.parameters)).toEqual([34_944, 307_456, 885_120, 663_936, 442_624]);
    const shapes = new Map(alexnet2012().parameters.map((p) => [p.key, p.shape]));
    // a group of 2 halves the input channels each filter sees: the two GPUs of the paper
    expect([0, 3, 6, 8, 10].map((i) => shapes.get(`features.${i}.weight`)![1])).toEqual([3, 96 / 2, 256, 384 / 2, 384 / 2]);
    expect(PAPER_GROUPS).toEqual([1, 2, 1, 2, 2]);
    expect(summarize(alexnet2012()).totalParameters).toBe(60_965_224);
    // FC6 is 9216 -> 4096 in both forms: 37.7 M parameters against conv1's 35 K
    expect(summarize(alexnet2012()).rows.find((r) => r.name === 'classifier.1')!.parameters).toBe(37_752_832);
    // torchvision's single tower starts with 64 filters: 23,296 parameters
    expect(summarize(alexnet()).rows[0].parameters).toBe(23_296);
  });

  it('exposes the torchvision preprocessing preset and accuracy with the builder', () => {
    const { preprocessing, top1, weights } = alexnet().architecture.metadata;
    expect(preprocessing).toMatchObject({ resizeSize: 256, cropSize: 224, interpolation: 'bilinear', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    expect(top1).toBe(56.522);
    expect(weights).toBe('AlexNet_Weights.IMAGENET1K_V1');
    // no published weights for the 2012 form
    expect(alexnet2012().architecture.metadata.weights).toBeUndefined();
  });

  it('adds local response normalisation after conv1 and conv2 (before pooling) when asked', () => {
    const plain = alexnet();
    const lrn = alexnet({ localResponseNorm: true });
    expect(plain.name).toBe('alexnet');
    expect(lrn.name).toBe('alexnet');
    expect(alexnet2012().name).toBe('alexnet2012');
    expect(summarize(alexnet2012({ localResponseNorm: false })).rows.some((r) => r.type === 'localResponseNorm')).toBe(false);
    const strides = [...ALEXNET_STRIDE_TAPS, 'features.12'];
    expect(new Set(plain.outputNames)).toEqual(new Set(['logits', ...ALEXNET_TAPS, ...strides]));
    expect(new Set(lrn.outputNames)).toEqual(new Set(['logits', ...ALEXNET_TAPS, ...ALEXNET_LRN_TAPS, ...strides]));
    const types = summarize(lrn).rows.map((r) => r.type);
    expect(types.slice(0, 8)).toEqual(['conv2d', 'relu', 'localResponseNorm', 'pool2d', 'conv2d', 'relu', 'localResponseNorm', 'pool2d']);
    expect(summarize(plain).rows.some((r) => r.type === 'localResponseNorm')).toBe(false);
    // the paper's alpha = 1e-4 multiplies the plain sum; torch's op divides alpha by the size
    expect(PAPER_LRN).toEqual({ size: 5, alpha: 5e-4, beta: 0.75, k: 2 });
    const custom = alexnet({ localResponseNorm: { size: 3, alpha: 1e-3, beta: 0.5, k: 1 } });
    expect(summarize(custom).rows.filter((r) => r.type === 'localResponseNorm')).toHaveLength(2);
  });

  it('builds other class counts and rejects inputs below 63x63', () => {
    const model = alexnet({ numClasses: 10 });
    expect(summarize(model).totalParameters).toBe(61_100_840 - 990 * 4097);
    expect(summarize(model, [63, 63]).rows.at(-1)!.outputShape).toEqual([10]);
    expect(() => summarize(model, [62, 62])).toThrow(/smaller than|too small/);
  });

  for (const fx of networkFixtures) {
    const backend = backendFor(fx);
    it(`${fx.case}: matches torchvision logits and ${Object.keys(fx.taps).join(', ')} on the ${backend} backend`, async () => {
      await checkGolden(generatedModel(fx.model as AlexNetVariant | 'alexnet_lrn', fx.seed), fx, backend);
    });
  }

  it('has a 64 px (js) and a 224 (wasm) golden fixture for alexnet and alexnet2012', () => {
    for (const name of Object.keys(ALEXNET_VARIANTS)) {
      expect(networkFixtures.filter((f) => f.model === name).map((f) => f.input.shape[2]).sort((a, b) => a - b), name).toEqual([64, 224]);
    }
  });

  // torch.nn.LocalResponseNorm on its own, with a large alpha so the sum of squares matters
  // (in AlexNet k = 2 dominates) and an even window whose edges are asymmetric.
  const lrnProbe: Architecture = {
    name: 'lrn_probe',
    inputShape: [3, 8, 8],
    metadata: { parameters: 466 },
    define(b, input) {
      let x = b.conv2d(input, 'conv', { outChannels: 12, kernelSize: 3, padding: 1 });
      x = b.output('lrn_a', b.localResponseNorm(x, 5, 1, 0.75, 1));
      x = b.output('lrn_b', b.localResponseNorm(x, 4, 2, 0.5, 0.5));
      b.output('logits', b.linear(b.flatten(b.adaptiveAvgPool2d(x, 1)), 'fc', 10));
    },
  };
  for (const backend of Object.keys(backends) as (keyof typeof backends)[]) {
    it(`lrn_probe: our local response norm matches torch.nn.LocalResponseNorm on the ${backend} backend`, async () => {
      const fx = fixture('lrn_probe.json');
      const model = new Model(lrnProbe).useGeneratedWeights(fx.seed);
      expect(summarize(model).totalParameters).toBe(fx.params);
      await checkGolden(model, fx, backend);
    });
  }
});
