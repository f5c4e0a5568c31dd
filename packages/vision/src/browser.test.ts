// @cnn/vision in headless Chromium: with weights served over local HTTP, a real photograph given
// as <img>, Blob, ImageBitmap, canvas, OffscreenCanvas, VideoFrame or ImageData is classified as
// Node and torchvision classify the same file; the main entry point bundles for browsers without
// any Node module or decoder.
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSafetensors } from '@cnn/core';
import { GOLDEN_TOLERANCE } from '@cnn/core/testing';
import { bundleSources } from '../../../tools/test-support/bundle-sources.js';
import { createWasmBackend } from '@cnn/kernels/wasm';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClassifier, type Classification } from './classifier.js';
import { readImage } from './node.js';
import { resizeAndCrop } from './preprocess.js';
import { discriminativeResnet18, runReference, SKIMAGE, type ReferenceImage, type ReferenceModel } from './test-reference.js';
import type { ImageClassifier } from './classifier.js';
import type { Pixels } from './pixels.js';
import { machinePaths } from '@cnn/core/testing';

const CHROMIUM = machinePaths.chromium;
const packagesDir = fileURLToPath(new URL('../../', import.meta.url));
const wasmDir = join(packagesDir, 'kernels', 'wasm');

/** An entry for the browser, @cnn/* from package sources unless `external`. */
const bundle = (entry: string, external: string[] = []) => bundleSources(entry, { external });

interface PageEntry {
  top: Classification[];
  ms: number;
  crop: string;
}

let server: Server;
let origin: string;
let context: BrowserContext;
let profile: string;
let weightsFile: string;
let pthFile: string;
let clf: ImageClassifier;
let chelsea: Pixels;
let pillow: ReferenceImage[];
let torch: ReferenceModel;

const FILES = ['chelsea.png', 'rocket.jpg'].map((f) => join(SKIMAGE, f));

beforeAll(async () => {
  // Node: weights that tell the two photographs apart, torchvision's pipeline on them, and Node's classifier
  chelsea = await readImage(FILES[0]);
  const rocket = await readImage(FILES[1]);
  const backend = await createWasmBackend({ relaxedSimd: false });
  const model = await discriminativeResnet18([chelsea, rocket], backend);
  profile = mkdtempSync(join(tmpdir(), 'cnn-vision-chromium-'));
  weightsFile = join(profile, 'resnet18.safetensors');
  writeFileSync(weightsFile, writeSafetensors(model.getWeights()));
  // torchvision loads those weights, runs its pipeline and torch.saves them: the page loads that .pth
  pthFile = join(profile, 'resnet18-discriminative.pth');
  const reference = runReference({ images: FILES, presets: [model.architecture.metadata.preprocessing!], model: 'resnet18', weights: weightsFile, pth: pthFile });
  pillow = reference.images;
  torch = reference.model!;
  clf = await createClassifier(model, { backend });

  // the wasm backend's loader reaches Node modules only behind dynamic imports it never takes in a page
  const script = await bundle(fileURLToPath(new URL('./test-browser-page.ts', import.meta.url)), ['node:*']);
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const image = /^\/images\/([\w.-]+\.(png|jpg))$/.exec(path);
    if (path === '/') res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><script type="module" src="/page.js"></script>');
    else if (path === '/page.js') res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(script);
    else if (path === '/weights/resnet18-discriminative.pth') res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(readFileSync(pthFile));
    else if (/^\/wasm\/[\w.-]+\.wasm$/.test(path) && existsSync(join(wasmDir, path.slice(6)))) {
      res.writeHead(200, { 'Content-Type': 'application/wasm' }).end(readFileSync(join(wasmDir, path.slice(6))));
    } else if (image) res.writeHead(200, { 'Content-Type': image[2] === 'png' ? 'image/png' : 'image/jpeg' }).end(readFileSync(join(SKIMAGE, image[1])));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  clf?.dispose();
  await context?.close();
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const maxDiff = (a: Uint8Array, b: Uint8Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('@cnn/vision in the browser', () => {
  it('bundles its main entry point for browsers with no Node module and no decoder', async () => {
    // @cnn/core's own Node-only paths are behind dynamic imports; this checks @cnn/vision's code
    const code = await bundle(join(packagesDir, 'vision', 'src', 'index.ts'), ['@cnn/core']);
    expect(code).not.toMatch(/node:|fast-png|jpeg-js|fflate/);
    expect(code).toMatch(/createClassifier/);
  });

  it.runIf(existsSync(CHROMIUM))('classifies a photograph given as <img>, URL, Blob, ImageBitmap, canvas, OffscreenCanvas, VideoFrame or ImageData as Node and torchvision do', async () => {
    const page = await context.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(`${origin}/`);
    const r = (await page.evaluate(() => (globalThis as { cnnResult?: Promise<unknown> }).cnnResult)) as
      | { results: Record<string, PageEntry>; batch: Classification[][]; error?: string }
      | undefined;
    await page.close();
    if (!r || r.error) throw new Error(`the page failed: ${r?.error ?? 'no result'}\n${logs.join('\n')}`);

    const nodeTop = await clf.classify(chelsea, { topK: 5 });
    const pillowJpeg = { width: pillow[1].size[0], height: pillow[1].size[1], channels: 3 as const, data: pillow[1].decoded };
    const jpegTop = await clf.classify(pillowJpeg, { topK: 5 });
    const torchTop = torch.probabilities.map((p) => p.map((v, index) => ({ index, v })).sort((x, y) => y.v - x.v).slice(0, 5));
    expect(torchTop.map((t) => t[0].index)).toEqual([0, 1]);
    const tolerance = (i: number) => 2 * GOLDEN_TOLERANCE.wasm * Math.max(...torch.logits[i].map(Math.abs));
    const matchesTorch = (name: string, top: Classification[], i: number) => {
      expect(top.map((c) => c.index), `${name} vs torchvision`).toEqual(torchTop[i].map((t) => t.index));
      for (const c of top) expect(Math.abs(c.probability - torch.probabilities[i][c.index]), name).toBeLessThanOrEqual(tolerance(i));
    };

    const crop = (name: string) => new Uint8Array(Buffer.from(r.results[name].crop, 'base64'));
    for (const name of ['img', 'url', 'pngBlob', 'bitmap', 'canvas', 'offscreen', 'frame', 'imageData']) {
      // Chromium's PNG decode, drawn at natural size, gives the bytes Pillow gives: same network input
      expect(maxDiff(crop(name), pillow[0].presets[0].resized), name).toBe(0);
      expect(maxDiff(crop(name), resizeAndCrop(chelsea, clf.preprocessing).data), name).toBe(0);
      expect(r.results[name].top.map((c) => c.index), name).toEqual(nodeTop.map((c) => c.index));
      matchesTorch(name, r.results[name].top, 0);
      r.results[name].top.forEach((c, i) => expect(Math.abs(c.probability - nodeTop[i].probability), name).toBeLessThanOrEqual(1e-9));
    }
    // Chromium decodes JPEG with libjpeg-turbo, as Pillow does
    const jpegLevels = maxDiff(crop('jpegBlob'), pillow[1].presets[0].resized);
    console.log(`Chromium vs Pillow, rocket.jpg network input: max ${jpegLevels} levels; ms per image: ${Object.entries(r.results).map(([k, v]) => `${k} ${v.ms.toFixed(0)}`).join(', ')}`);
    expect(jpegLevels).toBeLessThanOrEqual(1);
    expect(r.results.jpegBlob.top.map((c) => c.index)).toEqual(jpegTop.map((c) => c.index));
    matchesTorch('jpegBlob', r.results.jpegBlob.top, 1);
    expect(r.batch[0].map((c) => c.index)).toEqual(nodeTop.map((c) => c.index));
    expect(r.batch[1].map((c) => c.index)).toEqual(r.results.jpegBlob.top.map((c) => c.index));
    expect(r.results.img.top[0].label).toBe((await import('@cnn/labels/imagenet')).IMAGENET_LABELS[nodeTop[0].index]);
  });
});
