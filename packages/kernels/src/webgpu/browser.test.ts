// The WebGPU backend in a real browser: headless Chromium (SwiftShader WebGPU) loads a page from a
// local server, runs ResNet-18 at 64x64 on navigator.gpu, and the logits must match torchvision's
// golden fixture (max |diff| / max |ref| < 1e-4, as in models.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { writeSafetensors } from '@cnn/core';
import { calibrationOverrides, machinePaths, readFixture, relativeError } from '@cnn/core/testing';
import { bundleSources } from '../../../../tools/test-support/bundle-sources.js';

const CHROMIUM = machinePaths.chromium;
const packagesDir = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = readFixture(pathToFileURL(join(packagesDir, 'resnet/fixtures/')), 'resnet18_64');

/** test-page.ts for the browser, @cnn/* from package sources. */
const bundlePage = () => bundleSources(fileURLToPath(new URL('./test-page.ts', import.meta.url)));

let server: Server;
let origin: string;
let context: BrowserContext;
let profile: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`The browser test needs Chromium at ${CHROMIUM}, which is missing: install Debian's chromium package`);
  const script = await bundlePage();
  const calibration = writeSafetensors(calibrationOverrides(fixture));
  server = createServer((req, res) => {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    };
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/html' }).end('<!doctype html><title>cnn webgpu</title><script type="module" src="/page.js"></script>');
    } else if (path === '/page.js') {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/javascript' }).end(script);
    } else if (path === '/calibration.safetensors') {
      res.writeHead(200, { ...headers, 'Content-Type': 'application/octet-stream' }).end(calibration);
    } else {
      res.writeHead(404, headers).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  profile = mkdtempSync(join(tmpdir(), 'cnn-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu'],
  });
});

afterAll(async () => {
  await context?.close();
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('webgpu backend in headless Chromium', () => {
  it('runs resnet18 at 64x64 on navigator.gpu and matches torchvision', async () => {
    const page = await context.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(`${origin}/?seed=${fixture.seed}&shape=${fixture.input.shape.join(',')}`);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    const result = (await page.evaluate(() => (globalThis as { cnnResult?: Promise<unknown> }).cnnResult)) as {
      logits?: number[];
      adapter?: { architecture: string };
      precision?: string;
      compileMs?: number;
      runMs?: number;
      error?: string;
    } | undefined;
    if (!result || result.error) throw new Error(`the page failed: ${result?.error ?? 'no result'}\n${logs.join('\n')}`);
    const error = relativeError(result.logits!, fixture.logits.data);
    console.log(
      `chromium webgpu (${JSON.stringify(result.adapter)}, ${result.precision}): resnet18_64 logits error ${error.toExponential(2)}, ` +
        `compile ${result.compileMs!.toFixed(0)} ms, run ${result.runMs!.toFixed(0)} ms`,
    );
    expect(result.logits!.length).toBe(1000);
    expect(error).toBeLessThan(1e-4);
  });
});
