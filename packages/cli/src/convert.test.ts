// cnn convert on torch-written resnet18 checkpoints: f32 is exact, f16 halves the file, int8
// quarters it, and each loads back into the model with bounded error against torchvision.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tensor, parseSafetensors, loadWeights } from '@cnn/core';
import { GOLDEN_TOLERANCE, hasTorch, relativeError, writeTorchCheckpoints } from '@cnn/core/testing';
import { createJsBackend } from '@cnn/kernels/js';
import { resnet18 } from '@cnn/resnet';
import { main } from './main.js';

async function cnn(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const torch = hasTorch();
if (!torch) console.warn('SKIPPED: /usr/bin/python3 cannot import torch and torchvision (apt-get install python3-torch python3-torchvision)');

describe('cnn convert usage', () => {
  it('prints help, and refuses unknown flags, bad dtypes and missing paths with exit code 2', async () => {
    expect((await cnn('convert', '--help')).out).toMatch(/^usage: cnn convert IN OUT \[--dtype f32\|f16\|int8\]/);
    const unknown = await cnn('convert', 'a.pth', 'b.safetensors', '--fp16');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/Unknown option '--fp16'/);
    const dtype = await cnn('convert', 'a.pth', 'b.safetensors', '--dtype', 'int4');
    expect([dtype.code, dtype.err]).toEqual([2, "cnn: cnn convert: --dtype must be one of f32, f16, int8, got 'int4'"]);
    expect((await cnn('convert', 'a.pth')).code).toBe(2);
    const missing = await cnn('convert', '/nonexistent/a.pth', '/tmp/b.safetensors');
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/cannot read '\/nonexistent\/a\.pth'/);
  });
});

describe.skipIf(!torch)('cnn convert on torchvision resnet18', () => {
  let dir = '';
  let expected: { input: number[]; logits: number[] };
  let input: Float32Array;
  beforeAll(() => {
    dir = writeTorchCheckpoints('resnet18');
    expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
    input = new Float32Array(readFileSync(join(dir, 'input.f32')).buffer.slice(0));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function logitsOf(path: string) {
    const model = await loadWeights(resnet18(), path);
    const runner = await model.compile(createJsBackend(), { inputSize: [64, 64] });
    const logits = await runner.run(new Tensor(expected.input, input));
    runner.dispose();
    return logits.data;
  }

  it('writes f32, f16 and int8 files that load back, with the documented --json report', async () => {
    const sizes: Record<string, number> = {};
    const errors: Record<string, number> = {};
    for (const dtype of ['f32', 'f16', 'int8']) {
      const out = join(dir, `resnet18.${dtype}.safetensors`);
      const r = await cnn('convert', join(dir, dtype === 'f16' ? 'resnet18_legacy.pth' : 'resnet18.pth'), out, '--dtype', dtype, '--json');
      expect(r.code, r.err).toBe(0);
      const report = JSON.parse(r.out);
      expect(Object.keys(report)).toEqual(['input', 'output', 'inputFormat', 'dtype', 'tensors', 'inputBytes', 'outputBytes', 'notes']);
      expect(report).toMatchObject({ output: out, dtype, inputFormat: dtype === 'f16' ? 'pytorch-legacy' : 'pytorch-zip', tensors: 122, notes: [] });
      sizes[dtype] = report.outputBytes;
      errors[dtype] = relativeError(await logitsOf(out), expected.logits);
    }
    // same keys as torchvision's state dict (int8 adds one scale per quantised weight)
    const keys = [...parseSafetensors(readFileSync(join(dir, 'resnet18.f32.safetensors'))).entries.keys()];
    expect(keys).toContain('layer4.1.bn2.num_batches_tracked');
    expect(keys).toContain('fc.weight');
    expect(sizes.f16 / sizes.f32).toBeCloseTo(0.5, 2);
    expect(sizes.int8 / sizes.f32).toBeLessThan(0.26);
    expect(errors.f32).toBeLessThan(GOLDEN_TOLERANCE.js);
    // f16 keeps 11 significant bits; int8 about 7 per output channel
    expect(errors.f16).toBeLessThan(2e-3);
    expect(errors.int8).toBeLessThan(5e-2);
  }, 120_000);
});
