// cnn quantize end to end: LeNet-5 (its shipped Fashion-MNIST weights) calibrated on training
// images and evaluated in int8 against fp32; and the int8 path against PyTorch's quantised
// reference (tools/quant/torch_int8.py: torchvision's quantisable resnet18 and mobilenet_v2,
// eager-mode static quantisation), both running the same int8 file on the same input.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Model, Tensor, decodeQuantizedModel, parseNpy, useInt8, type Architecture } from '@cnn/core';
import { hasTorch, machinePaths } from '@cnn/core/testing';
import { createJsBackend } from '@cnn/kernels/js';
import { FASHION_MNIST_WEIGHTS_URL } from '@cnn/lenet/weights';
import { mobilenet_v2 } from '@cnn/mobilenet';
import { resnet18 } from '@cnn/resnet';
import { readFashionMnist } from '@cnn/train/node';
import { main } from './main.js';
import type { EvaluateResult } from './evaluate.js';

async function cnn(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cnn-quantize-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cnn quantize usage', () => {
  it('prints help, and refuses missing or malformed flags with exit code 2', async () => {
    expect((await cnn('quantize', '--help')).out).toMatch(/^usage: cnn quantize <model> --weights W --calibration DIR\|X\.npy --output W\.int8\.safetensors/);
    const missing = await cnn('quantize', 'lenet5', '--weights', 'w.safetensors');
    expect([missing.code, missing.err]).toEqual([2, expect.stringMatching(/--weights, --calibration and --output are required/)]);
    const unknown = await cnn('quantize', 'lenet5', '--bits', '4');
    expect([unknown.code, unknown.err]).toEqual([2, expect.stringMatching(/Unknown option '--bits'/)]);
    const observer = await cnn('quantize', 'lenet5', '--weights', 'w', '--calibration', 'c', '--output', 'o', '--observer', 'kl');
    expect([observer.code, observer.err]).toEqual([2, "cnn: --observer must be minmax or percentile, got 'kl'"]);
    const empty = mkdtempSync(join(dir, 'empty-'));
    const none = await cnn('quantize', 'lenet5', '--weights', fileURLToPath(FASHION_MNIST_WEIGHTS_URL), '--calibration', empty, '--output', join(dir, 'x.safetensors'));
    expect([none.code, none.err]).toEqual([1, expect.stringMatching(/no PNG, JPEG or \.npy files there/)]);
  });
});

describe('LeNet-5 on Fashion-MNIST in int8', () => {
  it('quantises from training images and keeps the test accuracy of fp32 (first 1000 test images)', async () => {
    const train = await readFashionMnist('train');
    const calibration = join(dir, 'calibration');
    mkdirSync(calibration);
    const [, h, w] = train.images.dims;
    for (let i = 0; i < 200; i++) {
      const data = train.images.data.slice(i * h * w, (i + 1) * h * w);
      writeFileSync(join(calibration, `train${String(i).padStart(5, '0')}.png`), encode({ width: w, height: h, data, channels: 1, depth: 8 }));
    }
    const weights = fileURLToPath(FASHION_MNIST_WEIGHTS_URL);
    const output = join(dir, 'lenet5.int8.safetensors');
    const made = await cnn('quantize', 'lenet5', '--weights', weights, '--calibration', calibration, '--output', output, '--json');
    expect(made.code, made.err).toBe(0);
    expect(JSON.parse(made.out)).toMatchObject({ model: 'lenet5', images: 200, layers: 5, tensors: 10, observer: 'minmax' });

    const evaluate = async (...flags: string[]) => {
      const r = await cnn('evaluate', 'lenet5', '--dataset', 'fashion-mnist', '--limit', '1000', '--json', ...flags);
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out) as EvaluateResult;
    };
    const fp32 = await evaluate('--weights', weights, '--backend', 'js');
    const int8 = await evaluate('--weights', output);
    // an int8 file on the default backend: the wasm-int8 backend
    expect(int8.backend).toBe('wasm-int8');
    // measured on the whole test set: fp32 90.16%, int8 90.20% (README); here the first 1000
    expect(Math.abs(fp32.accuracy - int8.accuracy)).toBeLessThanOrEqual(0.01);
    expect(int8.accuracy).toBeGreaterThan(0.85);
    // the scalar reference gives the same predictions
    expect((await evaluate('--weights', output, '--backend', 'js')).correct).toBe(int8.correct);

    // cnn run takes the same file, says it is int8, and both backends write the same logits
    const x = join(dir, 'x.npy');
    expect((await cnn('make-input', 'lenet5', '--output', x, '--batch', '2')).code).toBe(0);
    const logits: Float32Array[] = [];
    for (const [backend, label] of [['wasm', 'wasm-int8'], ['js', 'js']]) {
      const y = join(dir, `y-${backend}.npy`);
      const run = await cnn('run', 'lenet5', '--weights', output, '--input', x, '--output', y, '--backend', backend);
      expect(run.code, run.err).toBe(0);
      expect(run.err).toMatch(new RegExp(`^lenet5 \\(int8\\) on ${label}: input \\[2, 1, 32, 32\\] -> logits \\[2, 10\\]`));
      logits.push(parseNpy(readFileSync(y)).data);
    }
    expect(Array.from(logits[0])).toEqual(Array.from(logits[1]));
  }, 120_000);
});

const torch = hasTorch();
if (!torch) console.warn('SKIPPED: /usr/bin/python3 cannot import torch and torchvision (apt-get install python3-torch python3-torchvision): the int8 oracle test');
const ORACLE = fileURLToPath(new URL('../../../tools/quant/torch_int8.py', import.meta.url));

/**
 * Torch's quantisable MobileNetV2 swaps ReLU6 for ReLU (torchvision's _replace_relu), which the
 * int8 epilogue then leaves unbounded above: ours is built the same way for the comparison.
 */
const withRelu = (arch: Architecture): Architecture => ({
  ...arch,
  define(b, input) {
    const wrapped = new Proxy(b, {
      get(target, key) {
        if (key === 'activation') return (x: Parameters<typeof b.activation>[0], fn: string) => target.activation(x, fn === 'relu6' ? 'relu' : (fn as 'relu'));
        const v = Reflect.get(target, key, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    arch.define(wrapped, input);
  },
});

describe.skipIf(!torch)('int8 against torch eager-mode static quantisation (64x64, seeded random weights)', () => {
  const cases = [
    // One output step is the logits' quantisation step. MobileNetV2 agrees within one step.
    // ResNet-18 differs by up to 4 steps (mean 1.1). Measured layer by layer (feature taps against
    // torch's module outputs): the input quantises identically; conv1's output differs in 26 of
    // 65,536 codes, by one, where torch (onednn: float bias, its own requantisation order) and
    // INT8.md's arithmetic (int32 bias, f32 multiplier) round a near-tie apart. Every later layer
    // mixes hundreds of such inputs, so layer1's codes differ by 1-3 in 17% of places and
    // layer4's by up to 12 (of its own step); fc turns that into up to 4-5 steps of the logits (4
    // on the CI machine, 5 in the fresh Debian root of scripts/fresh-machine.sh, same CPU: which
    // near-ties torch's float epilogue rounds up is not stable across environments), mean about 1.1.
    // So the bound is on the mean, with the largest held at twice what was seen.
    { name: 'resnet18', model: () => resnet18(), logits: 'fc', steps: 8, meanSteps: 2 },
    { name: 'mobilenet_v2', model: () => new Model(withRelu(mobilenet_v2().architecture)), logits: 'classifier.1', steps: 1, meanSteps: 1 },
  ];
  for (const c of cases) {
    it(`${c.name}: the same int8 file and input give torch's logits within ${c.steps} step(s), ${c.meanSteps} on average`, async () => {
      const out = mkdtempSync(join(dir, `${c.name}-`));
      execFileSync(machinePaths.python, [ORACLE, c.name, out, '--size', '64'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const parameters = decodeQuantizedModel(readFileSync(join(out, `${c.name}.int8.safetensors`)));
      expect(parameters.residualAdds).toBe('separate');
      const input = parseNpy(readFileSync(join(out, `${c.name}.input.npy`)));
      const want = parseNpy(readFileSync(join(out, `${c.name}.logits.npy`)));
      const runner = await useInt8(c.model(), parameters).compile(createJsBackend(), { inputSize: [64, 64] });
      const got = await runner.run(new Tensor(input.shape, input.data));
      const step = parameters.activations.get(c.logits)!.scale;
      const steps = Array.from(got.data, (v, i) => Math.abs(v - want.data[i]) / step);
      expect(Math.max(...steps)).toBeLessThanOrEqual(c.steps + 1e-4);
      expect(steps.reduce((x, y) => x + y, 0) / steps.length).toBeLessThanOrEqual(c.meanSteps);
      const top = (v: Float32Array) => v.indexOf(Math.max(...v));
      expect(top(got.data)).toBe(top(want.data));
    }, 120_000);
  }
});
