// The same training API in a Web Worker in headless Chromium: LeNet-5 trains a few steps there and
// ends with the weights Node computes (same wasm variant).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { trainFewSteps, type WorkerTrainingResult } from './worker-training.js';
import { machinePaths } from '@cnn/core/testing';
import { bundleSources } from '../../../tools/test-support/bundle-sources.js';

const CHROMIUM = machinePaths.chromium;
const wasmDir = fileURLToPath(new URL('../wasm/', import.meta.url));

/** worker-training.ts for the browser, @cnn/* from package sources. */
const bundleWorker = () => bundleSources(fileURLToPath(new URL('./worker-training.ts', import.meta.url)), { external: ['node:*'] });

let server: Server;
let origin: string;
let context: BrowserContext;
let profile: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  const worker = await bundleWorker();
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end(
        `<!doctype html><script type="module">
          const w = new Worker('/worker.js', { type: 'module' });
          globalThis.cnnResult = new Promise((resolve) => { w.onmessage = (e) => resolve(e.data); w.onerror = (e) => resolve({ error: e.message }); });
          w.postMessage('train');
        </script>`,
      );
    } else if (path === '/worker.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(worker);
    } else if (/^\/wasm\/[\w.-]+\.wasm$/.test(path) && existsSync(join(wasmDir, path.slice(6)))) {
      // the bundle resolves `../wasm/<file>` against /worker.js: /wasm/
      res.writeHead(200, { 'Content-Type': 'application/wasm' }).end(readFileSync(join(wasmDir, path.slice(6))));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  profile = mkdtempSync(join(tmpdir(), 'cnn-train-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await context?.close();
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe.runIf(existsSync(CHROMIUM))('training in a Web Worker in headless Chromium', () => {
  it('trains LeNet-5 a few steps in the worker and agrees with Node', async () => {
    const page = await context.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    await page.goto(`${origin}/`);
    const got = (await page.evaluate(() => (globalThis as { cnnResult?: Promise<unknown> }).cnnResult)) as WorkerTrainingResult & { error?: string };
    await page.close();
    if (!got || got.error) throw new Error(`the worker failed: ${got?.error ?? 'no result'}\n${logs.join('\n')}`);
    const want = await trainFewSteps();
    expect(got.kernels).toBe('wasm-simd');
    expect(got.losses[2]).not.toBe(got.losses[0]);
    got.losses.forEach((l, i) => expect(l).toBeCloseTo(want.losses[i], 6));
    let worst = 0;
    got.c5.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - want.c5[i]))));
    // same wasm binary, same order of operations; only Math.tanh/exp could differ between V8 versions
    expect(worst).toBeLessThan(1e-6);
    console.log(`worker vs Node: max |Δ c5.weight| = ${worst}`);
  });
});
