import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Tensor, counterInput, encodeSafetensors, parseNpy, writeNpy, writeSafetensors, type DecodedWeights } from '@cnn/core';
import { GOLDEN_TOLERANCE, applyCalibration, readFixture, relativeError } from '@cnn/core/testing';
import { lenet5 } from '@cnn/lenet';
import { mobilenet_v3_small } from '@cnn/mobilenet';
import { main } from './main.js';

async function cnn(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const dir = mkdtempSync(join(tmpdir(), 'cnn-cli-'));

describe('cnn command', () => {
  it('lists models with torchvision parameter counts', async () => {
    const r = await cnn('models');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/resnet50\s+@cnn\/resnet\s+3x224x224\s+25,557,032\s+4\.09/);
    expect(r.out).toMatch(/lenet5/);
    const json = JSON.parse((await cnn('models', '--json')).out);
    expect(json.find((m: { name: string }) => m.name === 'resnet18').parameters).toBe(11_689_512);
  });

  it('benches named models: sizes as cnn convert writes them, top-1 from the metadata, a measured latency', async () => {
    const r = await cnn('models', 'lenet5', 'mobilenet_v3_small', '--bench', '--runs', '1', '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({ backend: 'wasm', threads: 1, logicalCores: expect.any(Number) });
    const [lenet, mobilenet] = report.rows;
    expect(lenet).toMatchObject({ name: 'lenet5', parameters: 61_706, top1: null, latencyMs: { runs: 1 } });
    expect(mobilenet).toMatchObject({ name: 'mobilenet_v3_small', parameters: 2_542_856, top1: mobilenet_v3_small().architecture.metadata.top1 });
    expect(mobilenet.top1).toBeGreaterThan(60);
    expect(mobilenet.multiplyAdds).toBeGreaterThan(0.05e9);
    expect(lenet.latencyMs.median).toBeGreaterThan(0);
    // the real files, as cnn convert writes them from these weights
    const weights = lenet5().useGeneratedWeights(1).getWeights();
    const decoded: DecodedWeights = { tensors: new Map(weights), integerKeys: new Set(), integers: new Map(), format: 'safetensors', notes: [] };
    for (const dtype of ['f32', 'f16', 'int8'] as const) {
      const real = encodeSafetensors(decoded, dtype).length;
      expect({ dtype, ratio: Math.abs(lenet.weightsBytes[dtype] / real - 1) < 0.01 }).toEqual({ dtype, ratio: true });
    }
    const table = await cnn('models', 'lenet5', '--bench', '--runs', '1');
    expect(table.out).toMatch(/^\| model \| parameters .*\n.*\n\| lenet5 \| 0\.062 M \| 0\.0004 G \|/);
    expect(table.out).toMatch(/wasm backend \(\S+\), 1 thread, generated weights/);
    expect((await cnn('models', '--runs', '2')).code).toBe(2);
    expect((await cnn('models', 'resnet9', '--bench')).code).toBe(2);
  });

  it('prints a summary table and JSON whose totals are torchvision\'s', async () => {
    const r = await cnn('summary', 'resnet50');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/total parameters: 25,557,032/);
    expect(r.out).toMatch(/total multiply-adds: 4,089,184,256 \(4\.089 G\)/);
    expect(r.out).toMatch(/layer4\.2\.conv3\s+conv2d\s+\[2048, 7, 7\]\s+1,048,576/);
    const json = JSON.parse((await cnn('summary', 'lenet5', '--json')).out);
    expect(json.totalParameters).toBe(61_706);
    expect(json.rows[0]).toMatchObject({ name: 'c1', type: 'conv2d', outputShape: [6, 28, 28], parameters: 156, receptiveField: 5 });
    expect(r.out).toMatch(/torchvision: 25,557,032 parameters, 4\.09 GFLOPS \(ResNet50_Weights\.IMAGENET1K_V2\)/);
    // the 2012 paper's AlexNet: 96 11x11 filters first, and no published weights
    const paper = await cnn('summary', 'alexnet2012');
    expect(paper.out).toMatch(/features\.0\s+conv2d\s+\[96, 55, 55\]\s+34,944/);
    expect(paper.out).toMatch(/expected: 60,965,224 parameters, 0\.72 GFLOPS \(no published weights\)/);
  });

  it('runs a model from .safetensors and .npy files and writes .npy logits on every backend', async () => {
    const weights = join(dir, 'lenet.safetensors');
    const input = join(dir, 'x.npy');
    const output = join(dir, 'y.npy');
    expect((await cnn('generate-weights', 'lenet5', '--output', join(dir, 'generated.safetensors'))).code).toBe(0);
    // the fixture's weights: the generated ones with the golden calibration applied
    const fixture = readFixture(new URL('../../lenet/fixtures/', import.meta.url), 'lenet5');
    const calibrated = await applyCalibration(lenet5().useGeneratedWeights(fixture.seed), fixture);
    writeFileSync(weights, writeSafetensors(calibrated.getWeights()));
    expect((await cnn('make-input', 'lenet5', '--output', input, '--batch', '2')).code).toBe(0);
    for (const backend of ['js', 'wasm', 'webgpu']) {
      const r = await cnn('run', 'lenet5', '--weights', weights, '--input', input, '--output', output, '--backend', backend);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(new RegExp(`lenet5 on ${backend}: input \\[2, 1, 32, 32\\] -> logits \\[2, 10\\]`));
      const y = parseNpy(new Uint8Array(readFileSync(output)));
      expect(y.shape).toEqual([2, 10]);
      // the first image of a batch-2 counter input is not the fixture's input, so compare a batch-1 run
      const single = join(dir, 'x1.npy');
      writeFileSync(single, writeNpy(new Tensor([1, 1, 32, 32], counterInput([1, 1, 32, 32], 1))));
      await cnn('run', 'lenet5', '--weights', weights, '--input', single, '--output', output, '--backend', backend);
      const tolerance = GOLDEN_TOLERANCE[backend as keyof typeof GOLDEN_TOLERANCE];
      expect(relativeError(parseNpy(new Uint8Array(readFileSync(output))).data, fixture.logits.data), backend).toBeLessThan(tolerance);
    }
  });

  it('fails with a clear message on bad input', async () => {
    const weights = join(dir, 'lenet-bad.safetensors');
    writeFileSync(weights, new Uint8Array([1, 2, 3]));
    const input = join(dir, 'rgb.npy');
    writeFileSync(input, writeNpy(new Tensor([1, 3, 32, 32])));
    let r = await cnn('run', 'lenet5', '--weights', weights, '--input', input, '--output', join(dir, 'o.npy'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/truncated safetensors file/);
    await cnn('generate-weights', 'lenet5', '--output', weights);
    r = await cnn('run', 'lenet5', '--weights', weights, '--input', input, '--output', join(dir, 'o.npy'));
    expect(r.code).toBe(1); // bad data, not bad usage
    expect(r.err).toMatch(/lenet5 expects 1 channel\(s\), got 3/);
    r = await cnn('run', 'lenet5', '--weights', weights, '--input', input, '--output', join(dir, 'o.npy'), '--backend', 'cuda');
    expect(r.err).toMatch(/expects 1 channel|unknown backend 'cuda'/);
    r = await cnn('summary', 'vgg99');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown model 'vgg99'. Available: lenet5, alexnet, alexnet2012, vgg11/);
    r = await cnn('run', 'resnet18', '--weights', weights, '--input', input, '--output', join(dir, 'o.npy'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/missing \d+ key\(s\): 'conv1.weight'/);
  });

  it('refuses seeds and batches that are not integers in range', async () => {
    const input = join(dir, 'gray.npy');
    writeFileSync(input, writeNpy(new Tensor([1, 1, 32, 32])));
    let r = await cnn('run', 'lenet5', '--generated-weights', 'abc', '--input', input, '--output', join(dir, 'o.npy'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--generated-weights must be an integer from 0 to 4294967295, got 'abc'/);
    r = await cnn('generate-weights', 'lenet5', '--output', join(dir, 'w.safetensors'), '--seed', '1.5');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--seed must be an integer from 0 to 4294967295, got '1.5'/);
    r = await cnn('make-input', 'lenet5', '--output', join(dir, 'x.npy'), '--batch', '0');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--batch must be an integer from 1 to 4096, got '0'/);
  });
});

describe('cnn arguments', () => {
  it('gives every command --help and rejects unknown or malformed flags, naming the expected ones', async () => {
    for (const command of ['models', 'summary', 'run', 'generate-weights', 'make-input', 'classify', 'convert']) {
      const r = await cnn(command, '--help');
      expect(r.code, `${command} --help: ${r.err}`).toBe(0);
      expect(r.out, command).toMatch(new RegExp(`cnn ${command}`));
    }
    let r = await cnn('summary', 'resnet18', '--sise', '64');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Unknown option '--sise'.*expected --help, --json, --size VALUE/);
    r = await cnn('run', 'lenet5', '--weights');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--weights.*argument missing/);
    r = await cnn('models', '--json=yes');
    expect(r.code).toBe(2);
    r = await cnn('make-input', 'lenet5', '--output', join(dir, 'x.npy'), '--batch', 'two');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--batch/);
  });
});
