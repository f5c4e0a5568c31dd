// The wasm backend in headless Chromium: a cross-origin isolated page shares ops with a Web
// Worker (Blob URL, shared memory) and gets the single-threaded results bit for bit; a page
// without COOP/COEP runs on one thread and says why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { machinePaths } from '@cnn/core/testing';
import { bundleSources } from '../../../../tools/test-support/bundle-sources.js';

const CHROMIUM = machinePaths.chromium;
const wasmDir = fileURLToPath(new URL('../../wasm/', import.meta.url));

/** test-page.ts for the browser, @cnn/* from package sources. */
const bundlePage = () => bundleSources(fileURLToPath(new URL('./test-page.ts', import.meta.url)));

let server: Server;
let origin: string;
let context: BrowserContext;
let profile: string;

beforeAll(async () => {
  const script = await bundlePage();
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    // ?isolated=0 serves the page without the headers that grant SharedArrayBuffer.
    const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
    if (url.searchParams.get('isolated') !== '0' && !url.pathname.startsWith('/wasm/')) {
      Object.assign(headers, { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
    }
    Object.assign(headers, { 'Cross-Origin-Resource-Policy': 'same-origin' });
    if (url.pathname === '/') {
      const src = `/page.js${url.search}`;
      res.writeHead(200, { ...headers, 'Content-Type': 'text/html' }).end(`<!doctype html><script type="module" src="${src}"></script>`);
    } else if (url.pathname === '/page.js') {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/javascript' }).end(script);
    } else if (/^\/wasm\/[\w.-]+\.wasm$/.test(url.pathname) && existsSync(join(wasmDir, url.pathname.slice(6)))) {
      // The bundle resolves `../wasm/<variant file>` against /page.js: /wasm/.
      res.writeHead(200, { ...headers, 'Content-Type': 'application/wasm' }).end(readFileSync(join(wasmDir, url.pathname.slice(6))));
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
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await context?.close();
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  if (profile) rmSync(profile, { recursive: true, force: true });
});

interface PageResult {
  crossOriginIsolated?: boolean;
  variant?: string;
  threads?: number;
  fallback?: string | null;
  identical?: boolean;
  withoutWorkers?: string;
  error?: string;
}

async function runPage(query: string): Promise<PageResult> {
  const page = await context.newPage();
  const logs: string[] = [];
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(`${origin}/${query}`);
  const result = (await page.evaluate(() => (globalThis as { cnnResult?: Promise<unknown> }).cnnResult)) as PageResult | undefined;
  await page.close();
  if (!result || result.error) throw new Error(`the page failed: ${result?.error ?? 'no result'}\n${logs.join('\n')}`);
  return result;
}

describe.runIf(existsSync(CHROMIUM))('wasm backend in headless Chromium', () => {
  it('shares ops with a Web Worker on a cross-origin isolated page, bit for bit like one thread', async () => {
    const r = await runPage('');
    expect(r.crossOriginIsolated).toBe(true);
    // Chromium validates relaxed SIMD without a flag, so 'auto' picks the relaxed binaries.
    expect(r.variant).toBe('relaxed-simd-threads');
    expect(r.threads).toBe(2);
    expect(r.fallback).toBeNull();
    expect(r.identical).toBe(true);
    expect(r.withoutWorkers).toMatch(/^TypeError: createWasmBackend: threads 2 needs \{ workers: wasmWorkers \} from '@cnn\/kernels\/wasm\/threads'/);
  });

  it('falls back to one thread, saying why, without cross-origin isolation', async () => {
    const r = await runPage('?isolated=0');
    expect(r.crossOriginIsolated).toBe(false);
    expect(r.threads).toBe(1);
    expect(r.variant).toBe('relaxed-simd');
    expect(r.fallback).toMatch(/cross-origin isolated/);
    expect(r.identical).toBe(true);
  });
});
