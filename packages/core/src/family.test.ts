import { describe, expect, it } from 'vitest';
import { IMAGENET_MEAN, ReductionTaps, UnknownVariantError, countedMetadata, featureInfo, imagenetPreprocessing, modelFamily, squeezeExcitation, WeightsError, loadWeights, summarize, type Architecture, type ModelMetadata, type WeightTensor } from './index.js';

// A toy family: a strided stem, then `blocks` convolutions of `width` channels, one strided.
interface ToyConfig {
  width: number;
  blocks: number;
  numClasses?: number;
}
function toyArchitecture(name: string, config: ToyConfig, metadata: ModelMetadata): Architecture {
  return {
    name,
    inputShape: [3, 32, 32],
    metadata,
    define(b, input) {
      const taps = new ReductionTaps(b);
      let x = taps.layer('stem', b.relu(b.conv2d(input, 'stem', { outChannels: 8, kernelSize: 3, stride: 2, padding: 1 })), 2);
      for (let i = 0; i < config.blocks; i++) {
        const stride = i === 0 ? 2 : 1;
        x = taps.layer(`block${i}`, b.relu(b.conv2d(x, `block${i}`, { outChannels: config.width, kernelSize: 3, stride, padding: 1 })), stride);
      }
      x = taps.module('last', squeezeExcitation(b, x, 'se', 4, { activation: 'relu', gate: 'sigmoid' }));
      taps.declare();
      b.output('logits', b.linear(b.flatten(b.adaptiveAvgPool2d(x, 1)), 'fc', config.numClasses ?? 10));
    },
  };
}
const TOY_VARIANTS = {
  toy_s: { config: { width: 16, blocks: 2 }, metadata: { parameters: 0, preprocessing: imagenetPreprocessing({ resizeSize: 36, cropSize: 32 }) } },
  toy_l: { config: { width: 32, blocks: 3 }, metadata: { parameters: 0 } },
} as const;
const toy = modelFamily('Toy', TOY_VARIANTS, toyArchitecture);

describe('the model-family template', () => {
  it('builds any variant with options merged into its config', () => {
    expect(toy('toy_s').name).toBe('toy_s');
    expect(summarize(toy('toy_l', { numClasses: 3 })).rows.at(-1)!.outputShape).toEqual([3]);
  });
  it('refuses an unknown variant, own properties only, with a typed error', () => {
    for (const name of ['toy_m', 'toString', '__proto__']) {
      const error = (() => {
        try {
          toy(name as 'toy_s');
        } catch (e) {
          return e;
        }
      })();
      expect(error, name).toBeInstanceOf(UnknownVariantError);
      expect((error as Error).message).toBe(`unknown Toy variant '${name}'; expected one of toy_s, toy_l`);
      expect(error).toMatchObject({ family: 'Toy', variant: name, expected: ['toy_s', 'toy_l'], code: 'mismatch' });
    }
  });
  it('names the sibling a weights file was made for', async () => {
    const file = new Map<string, WeightTensor>(toy('toy_l').parameters.map((p) => [p.key, { shape: p.shape, data: new Float32Array(p.shape.reduce((a, b) => a * b, 1)) }]));
    const error = await loadWeights(toy('toy_s'), file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightsError);
    expect((error as Error).message).toMatch(/the weights are toy_l's/);
  });
  it('gives the ImageNet preset with named arguments and defaults', () => {
    expect(imagenetPreprocessing({ resizeSize: 256 })).toEqual({ resizeSize: 256, cropSize: 224, interpolation: 'bilinear', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    expect(imagenetPreprocessing({ resizeSize: 342, cropSize: 299, interpolation: 'bicubic' })).toMatchObject({ cropSize: 299, interpolation: 'bicubic', mean: IMAGENET_MEAN });
  });
  it('counts the parameters of an architecture for metadata', () => {
    const m = countedMetadata((metadata) => toyArchitecture('toy', { width: 16, blocks: 1 }, metadata), { paper: 'p' });
    // stem 3*8*9+8, block0 8*16*9+16, se fc1 16*4+4 and fc2 4*16+16, fc 16*10+10
    expect(m).toEqual({ paper: 'p', parameters: 224 + 1168 + 68 + 80 + 170 });
  });
});

describe('ReductionTaps and featureInfo', () => {
  it('declares the last map at each reduction as strideN, aliasing its module', () => {
    const model = toy('toy_l');
    expect(featureInfo(model)).toEqual([
      { name: 'stride2', module: 'stem', channels: 8, reduction: 2 },
      { name: 'stride4', module: 'last', channels: 32, reduction: 4 },
    ]);
    // module taps are declared at once; layer names only when they end a reduction
    expect(model.outputNames).toEqual(['last', 'stem', 'stride2', 'stride4', 'logits']);
    expect(featureInfo(model.architecture)).toEqual(featureInfo(model));
  });
  it('refuses a stride that is not a positive integer', () => {
    const bad: Architecture = {
      ...toyArchitecture('bad', { width: 8, blocks: 1 }, { parameters: 0 }),
      define(b, input) {
        new ReductionTaps(b).layer('x', input, 1.5);
      },
    };
    expect(() => featureInfo(bad)).toThrow('x: a layer\'s stride must be a positive integer, got 1.5');
  });
});
