// The built demo page in headless Chromium: LeNet on a drawn digit (wasm), MobileNet on a photo
// on wasm and on WebGPU (SwiftShader), a page without COOP/COEP on one thread; screenshots at a
// phone's and a desktop's width go to reports/demo/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { machinePaths } from '@cnn/core/testing';

const demoDir = fileURLToPath(new URL('../', import.meta.url));
const screenshots = fileURLToPath(new URL('../../../reports/demo/', import.meta.url));
const PHOTO = '/usr/lib/python3/dist-packages/skimage/data/chelsea.png';
const MIME: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };

let outDir: string;
let profile: string;
let server: Server;
let origin: string;
let context: BrowserContext;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'cnn-demo-'));
  await build({ root: demoDir, logLevel: 'silent', build: { outDir, emptyOutDir: true } });
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const file = join(outDir, url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname));
    // ?isolated=0: the page as a host without the two headers serves it
    const headers: Record<string, string> =
      url.searchParams.get('isolated') === '0' || !url.pathname.endsWith('/')
        ? {}
        : { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
    if (!file.startsWith(outDir) || !existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { ...headers, 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no server address');
  origin = `http://127.0.0.1:${address.port}`;
  profile = mkdtempSync(join(tmpdir(), 'cnn-demo-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: machinePaths.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu'],
  });
  mkdirSync(screenshots, { recursive: true });
}, 120_000);

afterAll(async () => {
  await context?.close();
  server?.close();
  for (const dir of [outDir, profile]) if (dir) rmSync(dir, { recursive: true, force: true });
});

async function open(query = '', width = 390, height = 844): Promise<Page> {
  const page = await context.newPage();
  await page.setViewportSize({ width, height });
  await page.goto(`${origin}/${query}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  return page;
}

async function classify(page: Page, runs: number): Promise<void> {
  await page.click('#run');
  await page.waitForFunction(
    (n) => document.body.dataset.error !== undefined || Number(document.body.dataset.ran ?? 0) >= n,
    runs,
    { timeout: 180_000 },
  );
  expect(await page.evaluate(() => document.body.dataset.error)).toBeUndefined();
}

async function top5(page: Page): Promise<{ label: string; p: number }[]> {
  return page.$$eval('#top5 li', (items) =>
    items.map((li) => ({ label: li.querySelector('.label')!.textContent!, p: Number.parseFloat(li.querySelector('.p')!.textContent!) })),
  );
}

describe('demo page', () => {
  it('classifies a drawn digit with LeNet on a phone-sized screen, with feature maps and the layer table', async () => {
    const page = await open();
    expect(await page.textContent('#threads')).toMatch(/Cross-origin isolated/);
    await page.selectOption('#model', 'lenet5');
    await page.waitForSelector('#draw-tools:not([hidden])');
    const box = (await page.locator('#preview').boundingBox())!;
    // a "7": the top bar, then the diagonal
    await page.mouse.move(box.x + box.width * 0.25, box.y + box.height * 0.25);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.75, box.y + box.height * 0.25, { steps: 8 });
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.8, { steps: 8 });
    await page.mouse.up();
    await classify(page, 1);
    const top = await top5(page);
    expect(top).toHaveLength(5);
    expect(top.every((t) => /^\d - [a-z]+$/.test(t.label))).toBe(true); // MNIST_LABELS from @cnn/labels
    expect(top[0].p).toBeGreaterThanOrEqual(top[4].p);
    expect(top.reduce((s, t) => s + t.p, 0)).toBeLessThanOrEqual(100.5);
    expect(await page.locator('#maps canvas').count()).toBe(6); // c1: six maps
    expect(await page.locator('#summary tbody tr').count()).toBeGreaterThan(5);
    expect(await page.textContent('#summary-totals')).toContain('61,706 parameters');
    await page.screenshot({ path: join(screenshots, 'lenet-phone.png'), fullPage: true });
    await page.close();
  }, 240_000);

  it('runs MobileNet on a photo on wasm and on WebGPU, and lists both latencies', async () => {
    const page = await open('', 1280, 900);
    await page.selectOption('#model', 'mobilenet_v3_small');
    await page.setInputFiles('#image-file', PHOTO);
    await page.waitForFunction(() => document.getElementById('run-status')!.textContent!.includes('chelsea.png'));
    await classify(page, 1);
    const top = await top5(page);
    expect(top).toHaveLength(5);
    expect(top.every((t) => /^[a-zA-Z]/.test(t.label))).toBe(true); // ImageNet names from @cnn/labels, not indices
    expect(await page.textContent('#backend-note')).toMatch(/^Binary (relaxed-)?simd/);
    await page.selectOption('#backend', 'webgpu');
    await classify(page, 2);
    expect(await page.textContent('#backend-note')).toMatch(/^WebGPU on /);
    const rows = await page.$$eval('#latency tbody tr', (trs) => trs.map((tr) => tr.children[1].textContent));
    expect(rows.sort()).toEqual(['wasm', 'webgpu']);
    expect(await page.locator('#maps canvas').count()).toBe(16);
    await page.screenshot({ path: join(screenshots, 'mobilenet-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(screenshots, 'mobilenet-phone.png'), fullPage: false });
    await page.close();
  }, 400_000);

  it('times backbones and plots top-1 against latency and download with the Pareto front', async () => {
    // wasm only, three small backbones, one timed run each: SwiftShader's WebGPU is checked above
    const page = await open('?backbones=mobilenet_v3_small,mobilenet_v3_large,mobilenet_v2&runs=1&webgpu=0', 1280, 900);
    await page.click('#time-all');
    await page.waitForFunction(() => document.body.dataset.error !== undefined || document.body.dataset.backbones === 'done', null, {
      timeout: 300_000,
    });
    expect(await page.evaluate(() => document.body.dataset.error)).toBeUndefined();
    const rows = await page.$$eval('#backbone-table tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    expect(rows.map((r) => r[0])).toEqual(['mobilenet_v3_small', 'mobilenet_v3_large', 'mobilenet_v2']);
    for (const r of rows) {
      expect(r[5]).toMatch(/^\d+\.\d ms$/); // wasm
      expect(r[6]).toBe('–'); // WebGPU not asked for
    }
    expect(rows[2][4]).toBe('14.0 MB'); // mobilenet_v2 in fp32: 3,504,872 parameters x 4 bytes
    expect(await page.locator('#plots svg').count()).toBe(2); // wasm latency, download
    expect(await page.locator('#plots svg').first().locator('circle.pareto').count()).toBeGreaterThanOrEqual(1);
    await page.selectOption('#precision', '1');
    expect(await page.textContent('#backbone-table tbody tr:nth-child(3) td:nth-child(5)')).toBe('3.5 MB');
    await page.locator('#backbones-card').screenshot({ path: join(screenshots, 'backbones-desktop.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('#backbones-card').screenshot({ path: join(screenshots, 'backbones-phone.png') });
    await page.close();
  }, 400_000);

  it('says it runs on one thread where the page is not cross-origin isolated, and still classifies', async () => {
    const page = await open('?isolated=0');
    expect(await page.textContent('#threads')).toMatch(/not cross-origin isolated.*one thread/);
    await page.selectOption('#model', 'lenet5');
    await classify(page, 1);
    expect(await page.textContent('#backend-note')).toMatch(/one thread/);
    await page.close();
  }, 240_000);
});
