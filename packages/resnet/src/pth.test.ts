// torchvision's resnet18 state dict as torch.save writes it (both formats), loaded with no
// Python, run on the js backend and compared with torchvision's logits; and the weights manifest
// against a local server that serves torch-written files under torchvision's file names.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tensor, loadWeights } from '@cnn/core';
import { GOLDEN_TOLERANCE, hasTorch, relativeError, writeTorchCheckpoints } from '@cnn/core/testing';
import { torchvisionWeights } from '@cnn/core/torchvision-weights';
import { createJsBackend } from '@cnn/kernels/js';
import { resnet18 } from './index.js';

const caches: string[] = [];
const tempCache = () => {
  caches.push(mkdtempSync(join(tmpdir(), 'cnn-cache-')));
  return caches.at(-1)!;
};
afterAll(() => caches.forEach((d) => rmSync(d, { recursive: true, force: true })));

const torch = hasTorch();
if (!torch) console.warn('SKIPPED: /usr/bin/python3 cannot import torch and torchvision (apt-get install python3-torch python3-torchvision)');

describe.skipIf(!torch)('torchvision resnet18 from .pth files', () => {
  let dir = '';
  let expected: { input: number[]; logits: number[] };
  beforeAll(() => {
    dir = writeTorchCheckpoints('resnet18');
    expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['resnet18.pth', 'resnet18_legacy.pth'])('%s matches torchvision on the js backend', async (name) => {
    const model = await loadWeights(resnet18(), join(dir, name));
    expect(model.weightsInfo?.format).toBe(name.includes('legacy') ? 'pytorch-legacy' : 'pytorch-zip');
    const runner = await model.compile(createJsBackend(), { inputSize: [64, 64] });
    const input = new Float32Array(readFileSync(join(dir, 'input.f32')).buffer.slice(0));
    const logits = await runner.run(new Tensor(expected.input, input));
    runner.dispose();
    expect(relativeError(logits.data, expected.logits)).toBeLessThan(GOLDEN_TOLERANCE.js);
    // only the backend's copy remains after compile
    expect(() => model.getWeights()).toThrow(/released after the first compile/);
  }, 60_000);

  it('compiles in place from downloaded bytes, and twice with keepWeights', async () => {
    const server = createServer((req, res) => res.end(readFileSync(join(dir, (req.url ?? '').slice(1)))));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const address = server.address();
      const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/resnet18.pth`;
      const input = new Tensor(expected.input, new Float32Array(readFileSync(join(dir, 'input.f32')).buffer.slice(0)));
      const once = await loadWeights(resnet18(), url, { cache: false });
      const runner = await once.compile(createJsBackend(), { inputSize: [64, 64] });
      expect(relativeError((await runner.run(input)).data, expected.logits)).toBeLessThan(GOLDEN_TOLERANCE.js);
      // kept weights are never folded in place: a second compile sees the same weights
      const kept = await loadWeights(resnet18(), url, { cache: false, keepWeights: true });
      for (let i = 0; i < 2; i++) {
        const r = await kept.compile(createJsBackend(), { inputSize: [64, 64] });
        expect(relativeError((await r.run(input)).data, expected.logits)).toBeLessThan(GOLDEN_TOLERANCE.js);
      }
    } finally {
      server.close();
    }
  }, 60_000);
});

describe.skipIf(!torch)("loadWeights('DEFAULT') through the manifest (local server, not download.pytorch.org)", () => {
  let server: Server;
  let base = '';
  let served = '';
  const hits: string[] = [];
  beforeAll(async () => {
    served = writeTorchCheckpoints('torchvision', 'resnet18');
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      try {
        const body = readFileSync(join(served, (req.url ?? '').replace(/^\/models\//, '')));
        res.writeHead(200, { 'content-length': body.length });
        res.end(body);
      } catch {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/models/`;
  }, 120_000);
  afterAll(() => {
    server?.close();
    rmSync(served, { recursive: true, force: true });
  });

  it('fetches torchvision\'s file name and refuses it when its SHA-256 does not start with the name\'s digits', async () => {
    const entry = torchvisionWeights('resnet18', 'DEFAULT', base);
    expect(entry).toMatchObject({ name: 'IMAGENET1K_V1', fileName: 'resnet18-f37072fd.pth', sha256Prefix: 'f37072fd' });
    const cache = tempCache();
    // the served file is torch-written with random weights, so its hash cannot match torchvision's
    await expect(loadWeights(resnet18(), 'DEFAULT', { weightsBaseUrl: base, cache })).rejects.toThrow(
      new RegExp(`SHA-256 of ${base}resnet18-f37072fd\\.pth is [0-9a-f]{64}, expected it to start with f37072fd`),
    );
    expect(hits).toEqual(['/models/resnet18-f37072fd.pth']);
  });

  it('loads it, caches it, and the second load downloads nothing', async () => {
    const cache = tempCache();
    const actual = createHash('sha256').update(readFileSync(join(served, 'resnet18-f37072fd.pth'))).digest('hex');
    hits.length = 0;
    const first = await loadWeights(resnet18(), 'IMAGENET1K_V1', { weightsBaseUrl: base, cache, sha256: actual.slice(0, 8) });
    expect(first.weightsInfo).toEqual({ format: 'pytorch-zip', notes: [], source: `${base}resnet18-f37072fd.pth` });
    await loadWeights(resnet18(), 'DEFAULT', { weightsBaseUrl: base, cache, sha256: actual });
    expect(hits).toEqual(['/models/resnet18-f37072fd.pth']);
    await expect(loadWeights(resnet18(), 'IMAGENET1K_V9', { weightsBaseUrl: base })).rejects.toThrow("'resnet18' has no torchvision weights 'IMAGENET1K_V9'; expected one of DEFAULT, IMAGENET1K_V1");
  });
});
