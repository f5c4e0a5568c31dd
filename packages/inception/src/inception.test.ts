import { describe, expect, it } from 'vitest';
import { Tensor, counterInput, generateWeights, loadWeights, summarize, type Backend } from '@cnn/core';
import { applyCalibration, relativeError, GOLDEN_TOLERANCE, readFixture, runGolden, reuseBackends } from '@cnn/core/testing';
import { createJsBackend } from '@cnn/kernels/js';
import { createWasmBackend } from '@cnn/kernels/wasm';
import {
  GOOGLENET2014_TAPS,
  GOOGLENET_STRIDE_TAPS,
  GOOGLENET_TAPS,
  INCEPTION_VARIANTS,
  INCEPTION_V3_STRIDE_TAPS,
  INCEPTION_V3_TAPS,
  googlenet,
  googlenet2014,
  inception,
  inception_v3,
  type InceptionOptions,
  type InceptionVariant,
} from './index.js';

const fixturesDir = new URL('../fixtures/', import.meta.url);
const fixture = (name: string) => readFixture(fixturesDir, name);

// js 1e-5, wasm 1e-4 of torchvision (why: GOLDEN_TOLERANCE in @cnn/core/testing)
const TOLERANCE = { js: GOLDEN_TOLERANCE.js, wasm: GOLDEN_TOLERANCE.wasm };
type BackendName = keyof typeof TOLERANCE;
const backends: Record<BackendName, () => Promise<Backend>> = reuseBackends({
  js: async () => createJsBackend(),
  wasm: async () => createWasmBackend(),
});

// the fixtures' taps: torchvision's modules (and for the paper's network, the stride taps too)
const TAPS = { googlenet: GOOGLENET_TAPS, inception_v3: INCEPTION_V3_TAPS, googlenet2014: [...GOOGLENET2014_TAPS, ...GOOGLENET_STRIDE_TAPS] } as const;
const AUX_OUTPUTS = { googlenet: ['aux1', 'aux2'], inception_v3: ['aux'], googlenet2014: [] } as const;

/**
 * Every fixture, the builder options torchvision ran it with, and where it runs: the js
 * reference on reduced inputs (inception_v3's smallest is 75x75), wasm at native resolution.
 */
const CASES: Record<string, { variant: InceptionVariant; options: InceptionOptions; backends: BackendName[] }> = {
  googlenet_224: { variant: 'googlenet', options: {}, backends: ['wasm'] },
  googlenet_64: { variant: 'googlenet', options: {}, backends: ['js', 'wasm'] },
  googlenet_notransform_64: { variant: 'googlenet', options: { transformInput: false }, backends: ['js', 'wasm'] },
  googlenet_aux_64: { variant: 'googlenet', options: { auxLogits: true }, backends: ['js', 'wasm'] },
  inception_v3_299: { variant: 'inception_v3', options: {}, backends: ['wasm'] },
  inception_v3_75: { variant: 'inception_v3', options: {}, backends: ['js'] },
  inception_v3_notransform_75: { variant: 'inception_v3', options: { transformInput: false }, backends: ['js', 'wasm'] },
  // the aux head needs Mixed_6e at 17x17, i.e. the full 299x299 input
  inception_v3_aux_299: { variant: 'inception_v3', options: { auxLogits: true }, backends: ['wasm'] },
  // Not on js: with generated weights and no normalisation (biases centred), torch's own float32
  // logits are 1.5e-5 from its float64 ones at every size tried (32-112 px), above the js
  // tolerance of 1e-5 that assumes a float32 error of at most 2e-6 (tools/golden/calibrate.py);
  // the js reference, which accumulates in float64, came out 1.47e-5 from torch's float32.
  googlenet2014_64: { variant: 'googlenet2014', options: {}, backends: ['wasm'] },
  googlenet2014_224: { variant: 'googlenet2014', options: {}, backends: ['wasm'] },
};

describe('Inception family', () => {
  it('has torchvision parameter totals, with and without the auxiliary heads', () => {
    // GoogLeNet_Weights' num_params is the model as returned (aux heads dropped) ...
    expect(summarize(googlenet()).totalParameters).toBe(INCEPTION_VARIANTS.googlenet.metadata.parameters);
    expect(summarize(googlenet()).totalParameters).toBe(6_624_904);
    expect(summarize(googlenet({ auxLogits: true })).totalParameters).toBe(13_004_888);
    // ... Inception_V3_Weights' counts the AuxLogits head its weights file carries.
    expect(summarize(inception_v3({ auxLogits: true })).totalParameters).toBe(INCEPTION_VARIANTS.inception_v3.metadata.parameters);
    expect(summarize(inception_v3({ auxLogits: true })).totalParameters).toBe(27_161_264);
    expect(summarize(inception_v3()).totalParameters).toBe(23_834_568);
    for (const name of Object.keys(CASES)) {
      const { variant, options } = CASES[name];
      expect(summarize(inception(variant, options)).totalParameters, name).toBe(fixture(name).params);
    }
  });

  it('builds the 2014 paper’s GoogLeNet: true 5x5 branches, biases and no batch norm, LRN; 6,998,552 parameters', () => {
    const model = googlenet2014();
    expect(summarize(model).totalParameters).toBe(6_998_552);
    expect(summarize(model).totalMultiplyAdds).toBe(1_582_671_872);
    const shapes = new Map(model.parameters.map((p) => [p.key, p.shape]));
    expect(shapes.get('inception3a.branch3.1.conv.weight')).toEqual([32, 16, 5, 5]);
    expect(googlenet().parameters.find((p) => p.key === 'inception3a.branch3.1.conv.weight')!.shape).toEqual([32, 16, 3, 3]);
    expect(shapes.get('conv1.conv.bias')).toEqual([64]);
    expect(model.parameters.some((p) => p.key.endsWith('running_mean'))).toBe(false);
    expect(summarize(model).rows.filter((r) => r.type === 'localResponseNorm')).toHaveLength(2);
    expect(() => inception('googlenet2014', { auxLogits: true } as never)).toThrow('googlenet2014: unknown option(s) auxLogits; expected numClasses');
    expect(googlenet2014({ numClasses: 10 }).architecture.metadata.parameters).toBe(6_998_552 - 1024 * 990 - 990);
  });

  it('counts torchvision\'s published GFLOPS at native resolution (aux heads excluded)', () => {
    expect(summarize(googlenet()).totalMultiplyAdds).toBe(1_498_376_192);
    expect(summarize(inception_v3()).totalMultiplyAdds).toBe(5_713_216_096);
    for (const [name, v] of Object.entries(INCEPTION_VARIANTS)) {
      const g = summarize(inception(name as InceptionVariant)).totalMultiplyAdds / 1e9;
      expect(Math.abs(g - v.metadata.gflops) / v.metadata.gflops, name).toBeLessThan(0.01);
    }
  });

  it('concatenates branches as channel views, no copies (planPasses), in every variant', () => {
    for (const model of [googlenet(), googlenet2014(), inception_v3()]) {
      const plan = model.useGeneratedWeights(1).plan({ inputSize: [96, 96] });
      expect(plan.ops.filter((o) => o.kind === 'copyChannels'), model.name).toHaveLength(0);
    }
  });

  it('exposes the torchvision preprocessing presets', () => {
    expect(googlenet().architecture.metadata.preprocessing).toMatchObject({ resizeSize: 256, cropSize: 224, interpolation: 'bilinear' });
    const p = inception_v3().architecture.metadata.preprocessing!;
    expect(p).toMatchObject({ resizeSize: 342, cropSize: 299, interpolation: 'bilinear' });
    expect(p.mean).toEqual([0.485, 0.456, 0.406]);
    expect(p.std).toEqual([0.229, 0.224, 0.225]);
    expect(inception_v3().architecture.inputShape).toEqual([3, 299, 299]);
  });

  it('names the feature taps and aux outputs, and declares aux outputs only on request', () => {
    const googlenetTaps = [...GOOGLENET_TAPS, 'conv1', ...GOOGLENET_STRIDE_TAPS];
    const v3Taps = [...INCEPTION_V3_TAPS, 'Conv2d_2b_3x3', 'Conv2d_4a_3x3', ...INCEPTION_V3_STRIDE_TAPS];
    expect(googlenet().outputNames.sort()).toEqual(['logits', ...googlenetTaps].sort());
    expect(googlenet({ auxLogits: true }).outputNames.sort()).toEqual(['logits', 'aux1', 'aux2', ...googlenetTaps].sort());
    expect(inception_v3({ auxLogits: true }).outputNames.sort()).toEqual(['logits', 'aux', ...v3Taps].sort());
    expect(googlenet2014().outputNames.sort()).toEqual(['logits', ...GOOGLENET2014_TAPS, ...GOOGLENET_STRIDE_TAPS].sort());
    expect(googlenet().parameters.some((p) => p.key.startsWith('aux1.'))).toBe(false);
    expect(inception_v3().parameters.some((p) => p.key.startsWith('AuxLogits.'))).toBe(false);
  });

  it('accepts and ignores the aux-head keys of a full torchvision state dict by default', async () => {
    for (const variant of ['googlenet', 'inception_v3'] as const) {
      const full = inception(variant, { auxLogits: true });
      const state = generateWeights(full.parameters, 1);
      // the aux heads' parameters are accepted and dropped ...
      const model = await loadWeights(inception(variant), state);
      expect(model.getWeights().size).toBe(inception(variant).parameters.length);
      expect([...model.getWeights().keys()].some((k) => k.startsWith('aux') || k.startsWith('AuxLogits'))).toBe(false);
      // ... but not a key that belongs to neither network
      const bogus = new Map(state).set('aux3.fc.weight', { shape: [1], data: new Float32Array(1) });
      await expect(loadWeights(inception(variant), bogus)).rejects.toThrow(/unexpected 1 key/);
    }
  });

  for (const [name, { variant, options, backends: runOn }] of Object.entries(CASES)) {
    for (const backend of runOn) {
      it(`${name}: matches torchvision logits and taps on the ${backend} backend`, async () => {
        const fx = fixture(name);
        const [n, , h, w] = fx.input.shape;
        const model = inception(variant, options).useGeneratedWeights(fx.seed);
        expect(summarize(model, [h, w]).totalMultiplyAdds * n).toBe(fx.macs);
        const taps = Object.keys(fx.taps);
        // googlenet_64 and inception_v3_75 also hold the stride taps (torch's modules they alias)
        expect(taps.filter((t) => variant === 'googlenet2014' || !t.startsWith('stride')).sort()).toEqual([...TAPS[variant], ...(options.auxLogits ? AUX_OUTPUTS[variant] : [])].sort());
        const r = await runGolden(model, fx, await backends[backend](), taps);
        expect(r.logitsShape).toEqual(fx.logits.shape);
        expect(r.logitsError).toBeLessThan(TOLERANCE[backend]);
        for (const tap of taps) expect(r.tapErrors[tap], tap).toBeLessThan(TOLERANCE[backend]);
      });
    }
  }

  it('transform_input changes the result exactly as re-normalising the input does', async () => {
    // (x * std + mean - 0.5) / 0.5 fed to transformInput: false equals x fed to the default
    const fx = fixture('googlenet_64');
    const shape = fx.input.shape as [number, number, number, number];
    const x = counterInput(shape, fx.seed);
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    const y = x.map((v, i) => {
      const c = Math.floor(i / (shape[2] * shape[3])) % 3;
      return v * (std[c] / 0.5) + (mean[c] - 0.5) / 0.5;
    });
    const js = createJsBackend();
    // the golden weights of googlenet_64 (calibrated with transform_input, which the network without it shares)
    const model = await applyCalibration(googlenet({ transformInput: false }).useGeneratedWeights(fx.seed), fx);
    const plain = await model.compile(js, { inputSize: [shape[2], shape[3]] });
    const out = await plain.run(new Tensor(shape, y));
    expect(relativeError(out.data, fx.logits.data)).toBeLessThan(TOLERANCE.js);
  });
});
