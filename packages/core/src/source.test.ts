// Loading weights over HTTP from a local server (127.0.0.1): progress, cache, abort, integrity.
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSource, resolveWeightsUrl, type FetchProgress } from './source.js';
import { Model, type Architecture } from './model.js';
import { writeSafetensors } from './safetensors.js';
import { generateWeights } from './weights.js';
import { loadWeights } from './model-weights.js';

const tiny: Architecture = {
  name: 'tiny',
  inputShape: [2, 4, 4],
  metadata: { parameters: 0 },
  define(b, x) {
    b.output('logits', b.linear(b.flatten(b.adaptiveAvgPool2d(b.relu(b.conv2d(x, 'conv', { outChannels: 3, kernelSize: 3, padding: 1 })), 1)), 'fc', 2));
  },
};

const file = writeSafetensors(generateWeights(new Model(tiny).parameters, 5));
const sha256 = createHash('sha256').update(file).digest('hex');
let server: Server;
let base = '';
const hits = new Map<string, number>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path.startsWith('/weights')) {
      res.writeHead(200, { 'content-length': file.length });
      // in several writes, so progress is reported more than once
      const third = Math.ceil(file.length / 3);
      res.write(file.subarray(0, third));
      setTimeout(() => {
        res.write(file.subarray(third, 2 * third));
        res.end(file.subarray(2 * third));
      }, 10);
    } else if (path === '/chunked') {
      res.writeHead(200); // no Content-Length
      res.end(file);
    } else if (path === '/stall') {
      res.writeHead(200, { 'content-length': file.length });
      res.write(file.subarray(0, 100)); // and never the rest
    } else if (path === '/reset') {
      res.writeHead(200, { 'content-length': file.length });
      res.write(file.subarray(0, 100), () => setTimeout(() => res.destroy(), 20));
    } else {
      res.writeHead(404, 'Not Found');
      res.end('missing');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  base = `http://127.0.0.1:${address.port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const caches: string[] = [];
const freshCache = () => {
  caches.push(mkdtempSync(join(tmpdir(), 'cnn-cache-')));
  return caches.at(-1)!;
};
afterAll(() => caches.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('weights from a URL', () => {
  it('streams into one buffer, reports progress, and loads into a model', async () => {
    const progress: FetchProgress[] = [];
    const cache = freshCache();
    const model = await loadWeights(new Model(tiny), `${base}/weights-a.safetensors`, { cache, onProgress: (p) => progress.push(p) });
    expect(model.weightsInfo?.format).toBe('safetensors');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toEqual({ received: file.length, total: file.length, url: `${base}/weights-a.safetensors` });
    expect(progress.every((p, i) => i === 0 || p.received > progress[i - 1].received)).toBe(true);
  });

  it('caches in a directory so the second load downloads nothing (CNN_CACHE_DIR or the cache option)', async () => {
    const cache = freshCache();
    const previous = process.env.CNN_CACHE_DIR;
    process.env.CNN_CACHE_DIR = cache;
    try {
      const url = `${base}/weights-b.safetensors`;
      const first = await readSource(url);
      const second = await readSource(url);
      expect(hits.get('/weights-b.safetensors')).toBe(1);
      expect(second).toEqual(first);
      expect(readdirSync(cache)).toEqual([expect.stringMatching(/^[0-9a-f]{16}-weights-b\.safetensors$/)]);
      // cache: false always downloads
      await readSource(url, { cache: false });
      expect(hits.get('/weights-b.safetensors')).toBe(2);
    } finally {
      if (previous === undefined) delete process.env.CNN_CACHE_DIR;
      else process.env.CNN_CACHE_DIR = previous;
    }
  });

  it('grows the buffer when the server sends no Content-Length', async () => {
    const bytes = await readSource(`${base}/chunked`, { cache: false });
    expect(bytes).toEqual(file);
  });

  it('checks the SHA-256 (whole or prefix), and caches only verified files', async () => {
    const cache = freshCache();
    await expect(readSource(`${base}/weights-c.safetensors`, { cache, sha256: '00000000' })).rejects.toThrow(
      new RegExp(`SHA-256 of ${base}/weights-c\\.safetensors is ${sha256}, expected it to start with 00000000`),
    );
    expect(readdirSync(cache)).toEqual([]);
    await expect(readSource(`${base}/weights-c.safetensors`, { cache, sha256: sha256.slice(0, 8) })).resolves.toEqual(file);
    await expect(readSource(`${base}/weights-c.safetensors`, { cache, sha256 })).resolves.toEqual(file);
    expect(hits.get('/weights-c.safetensors')).toBe(2);
  });

  it('is cancelled by an AbortSignal and leaves nothing in the cache', async () => {
    const cache = freshCache();
    const controller = new AbortController();
    const pending = readSource(`${base}/stall`, { cache, signal: controller.signal, onProgress: () => controller.abort() });
    await expect(pending).rejects.toThrow(`fetching weights from ${base}/stall failed after 100 bytes: aborted`);
    expect(readdirSync(cache)).toEqual([]);
  });

  it('names the URL on network errors and HTTP errors, and leaves nothing in the cache', async () => {
    const cache = freshCache();
    await expect(readSource(`${base}/reset`, { cache })).rejects.toThrow(`fetching weights from ${base}/reset failed after 100 bytes`);
    await expect(readSource(`${base}/nothing.pth`, { cache })).rejects.toThrow(`fetching weights from ${base}/nothing.pth failed: HTTP 404 Not Found`);
    await expect(readSource('http://127.0.0.1:9/refused.pth', { cache })).rejects.toThrow('fetching weights from http://127.0.0.1:9/refused.pth failed');
    expect(readdirSync(cache)).toEqual([]);
  });
});

describe('a plain string', () => {
  it('is a file path in Node and a URL relative to the page in a browser', () => {
    expect(resolveWeightsUrl('weights/resnet50.pth', true, undefined)).toBeUndefined();
    expect(resolveWeightsUrl('weights/resnet50.pth', false, 'https://example.com/app/index.html')?.href).toBe('https://example.com/app/weights/resnet50.pth');
    expect(resolveWeightsUrl('/models/a.pth', false, 'https://example.com/app/')?.href).toBe('https://example.com/models/a.pth');
    expect(resolveWeightsUrl('https://cdn.example/a.pth', true, undefined)?.href).toBe('https://cdn.example/a.pth');
    expect(() => resolveWeightsUrl('a.pth', false, undefined)).toThrow("'a.pth' is neither an absolute URL nor resolvable");
  });
});
