// The published packages as a new user meets them: every package packed (pnpm pack), checked
// (contents, publint, attw), installed from the tarballs into fresh apps outside the workspace,
// bundled by esbuild, Vite, webpack 5 and Rollup at their defaults, measured against the size
// budgets, and run in Node (ESM and CommonJS) and, bundled, in headless Chromium.
// Needs the packages built (pnpm test builds first). Prints the measured table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { writeSafetensors } from '@cnn/core';
import { mobilenet_v3_small } from '@cnn/mobilenet';
import { APPS, WEIGHTS_FILE, indexHtml } from './apps.js';
import { BUNDLERS, bundle, type Build } from './bundlers.js';
import { attwProblems, contentProblems, inBatches, packAll, publintProblems, type Tarball } from './tarballs.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * gzip -9 bytes of the JS a page loads before it runs (kB are 1000 bytes, as in the issue), with
 * every bundler that minifies by default: esbuild with --splitting and at its defaults (an iife
 * without splitting, so its one file is everything the app can reach, on-demand chunks inlined),
 * Vite and webpack (Rollup's output is not minified): the goal of 20 kB (MobileNet + wasm, with
 * generated weights or a .safetensors file) and 18 kB (LeNet + wasm). Where the bundler splits
 * code, the kernel-load failure texts and the weight readers are on-demand chunks (the kernel
 * executable is not: every app compiles, so it is counted where it is needed); what an app does not
 * call is not reachable at all: weight reading (loadWeights), the layer table (summarize), the
 * worker pool (@cnn/kernels/wasm/threads), the torch.save reader (@cnn/core/pth) and the plan
 * validator (backends trust the compiler's plans: @cnn/core plan-check.ts) are functions and entries
 * of their own (README, "Bundles").
 */
const JS_BUDGET: Record<string, number> = { 'mobilenet-wasm': 20_000, 'mobilenet-safetensors-wasm': 20_000, 'lenet-wasm': 18_000 };
/**
 * esbuild at its defaults (no splitting) inlines every on-demand chunk, so its one file is all the
 * app can reach. The model-only apps meet JS_BUDGET that way too; the .safetensors app also carries
 * the strict reader, the URL/progress/SHA-256 source and the torchvision weights-name manifest
 * (on-demand chunks wherever the bundler splits), so its whole-app budget there is its own.
 */
const UNSPLIT_BUDGET: Record<string, number> = { 'mobilenet-safetensors-wasm': 30_000 };
/** gzip -9 bytes of any one kernel binary, the most a device downloads. */
const WASM_BUDGET = 25_000;

// Markers that survive minification: a string only that backend's code holds.
const WASM_BACKEND = /cnn_kernels_abi_version/;
const WEBGPU_BACKEND = /requestAdapter/;
const JS_BACKEND = /name:\s*["']js["']/;
/** The torch.save reader (zip and pickle), opt-in through @cnn/core/pth. */
const PTH_READER = /STACK_GLOBAL needs two strings|zip: central directory/;
/** A package's Node build (package.json "imports", "node" condition) inside a browser bundle. */
const NODE_BUILD = /node_modules\/@cnn\/[^/]+\/dist\/(node\.c?js|(wasm\/)?node\/index\.js)$/;

/** The exact version the workspace pins for a devDependency. */
function rootDevVersion(name: string): string {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies[name];
}

let work: string;
let appsDir: string;
let tarballs: Tarball[];
const builds: Build[] = [];

function kB(bytes: number): string {
  return (bytes / 1000).toFixed(1);
}

const BUNDLER_LABELS: Record<string, string> = {
  esbuild: 'esbuild (ESM, splitting)',
  'esbuild-default': 'esbuild (defaults: iife, no splitting)',
  vite: 'Vite 8',
  webpack: 'webpack 5',
  rollup: 'Rollup (node-resolve only)',
};

function table(): string {
  const rows = [
    '| app | bundler | first-load JS | gzip -9 | on-demand JS gzip | wasm files emitted | largest wasm gzip | warnings |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const b of builds) {
    const initial = b.chunks.filter((c) => c.initial);
    const lazy = b.chunks.filter((c) => !c.initial);
    const sum = (list: typeof b.chunks, k: 'bytes' | 'gzip') => list.reduce((s, c) => s + c[k], 0);
    const wasm = b.emitsAssets ? `${b.wasm.length}` : 'none (copy by hand)';
    const largest = b.wasm.length ? kB(Math.max(...b.wasm.map((w) => w.gzip))) : '-';
    rows.push(
      `| ${b.app} | ${BUNDLER_LABELS[b.bundler] ?? b.bundler}${b.minified ? '' : ' (not minified)'} | ${kB(sum(initial, 'bytes'))} kB | ${kB(sum(initial, 'gzip'))} kB | ` +
        `${lazy.length ? `${kB(sum(lazy, 'gzip'))} kB` : '-'} | ${wasm} | ${largest} | ${b.warnings.length} |`,
    );
  }
  return rows.join('\n');
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cnn-bundle-check-'));
  const tgzDir = join(work, 'tarballs');
  mkdirSync(tgzDir);
  tarballs = await packAll(root, tgzDir);
  appsDir = join(work, 'apps');
  mkdirSync(appsDir);
  writeFileSync(join(appsDir, 'package.json'), JSON.stringify({ name: 'cnn-bundle-check-apps', private: true, type: 'module' }));
  // One install for every app and bundler: the tarballs have no registry dependencies; the two
  // type packages are what a TypeScript app using the WebGPU entry (and the cli) adds.
  const typePackages = ['@webgpu/types', '@types/node'].map((name) => `${name}@${rootDevVersion(name)}`);
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', ...tarballs.map((t) => t.file), ...typePackages], {
    cwd: appsDir,
  });
  for (const app of APPS) {
    const dir = join(appsDir, app.name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'main.js'), app.source);
    writeFileSync(join(dir, 'index.html'), indexHtml());
  }
  // the weights file the .safetensors app reads: mobilenet_v3_small's generated weights (seed 1,
  // as the generated-weights app uses), written by the repo's writer
  const weights = mobilenet_v3_small().useGeneratedWeights(1).getWeights();
  writeFileSync(join(appsDir, 'mobilenet-safetensors-wasm', WEIGHTS_FILE), writeSafetensors(weights));
  // One bundler at a time: the cores are shared.
  for (const app of APPS) for (const bundler of BUNDLERS) builds.push(await bundle(bundler, app.name, join(appsDir, app.name)));
  console.log(`\nBundles of the packed packages (${new Date().toISOString().slice(0, 10)}):\n${table()}\n`);
}, 600_000);

afterAll(() => {
  // CNN_BUNDLE_CHECK_KEEP=1 keeps the packed tarballs, apps and bundles for a look.
  if (work && !process.env.CNN_BUNDLE_CHECK_KEEP) rmSync(work, { recursive: true, force: true });
  else if (work) console.log(`bundle check kept ${work}`);
});

describe('tarballs', () => {
  it('hold a LICENSE and dist/, without tests, test helpers, sources or maps', () => {
    expect(tarballs.length).toBeGreaterThanOrEqual(12);
    for (const t of tarballs) expect({ name: t.name, problems: contentProblems(t) }).toEqual({ name: t.name, problems: [] });
  });

  it('pass publint --strict and @arethetypeswrong (node16 profile)', async () => {
    const reports = await inBatches(tarballs, 2, async (t) => ({
      name: t.name,
      publint: await publintProblems(t),
      attw: await attwProblems(t),
    }));
    for (const r of reports) expect(r).toEqual({ name: r.name, publint: [], attw: [] });
  });

  it('ship the four kernel binaries and the two int8 ones (@cnn/kernels/wasm/q8) in the exports map, each within the wasm budget', () => {
    const kernels = JSON.parse(readFileSync(join(appsDir, 'node_modules/@cnn/kernels/package.json'), 'utf8'));
    expect(kernels.exports['./wasm/*.wasm']).toBe('./dist/*.wasm');
    const dist = join(appsDir, 'node_modules/@cnn/kernels/dist');
    const binaries = readdirSync(dist).filter((f) => f.endsWith('.wasm'));
    expect(binaries.sort()).toEqual([
      'cnn_kernels-relaxed-simd-threads.wasm',
      'cnn_kernels-relaxed-simd.wasm',
      'cnn_kernels-simd-threads.wasm',
      'cnn_kernels.wasm',
      'cnn_q8-relaxed.wasm',
      'cnn_q8.wasm',
    ]);
    for (const f of binaries) expect({ f, gzip: gzipSync(readFileSync(join(dist, f)), { level: 9 }).length <= WASM_BUDGET }).toEqual({ f, gzip: true });
  });
});

describe('bundles', () => {
  it('every bundler builds every app with no Node module, no other architecture and no foreign backend', () => {
    for (const b of builds) {
      const app = APPS.find((a) => a.name === b.app)!;
      const label = `${b.app} / ${b.bundler}`;
      const cnnPackages = new Set(b.modules.map((m) => /node_modules\/(@cnn\/[^/]+)\//.exec(m)?.[1]).filter((p) => p !== undefined));
      expect({ label, packages: [...cnnPackages].filter((p) => !app.packages.includes(p!)) }).toEqual({ label, packages: [] });
      expect({ label, node: b.modules.filter((m) => NODE_BUILD.test(m) || m.startsWith('node:')) }).toEqual({ label, node: [] });
      const code = b.chunks.map((c) => c.code).join('\n');
      expect({ label, js: JS_BACKEND.test(code) }).toEqual({ label, js: false });
      if (b.app.endsWith('-wasm')) expect({ label, webgpu: WEBGPU_BACKEND.test(code) }).toEqual({ label, webgpu: false });
      // .safetensors is the built-in format: no app bundles the torch.save reader unasked
      expect({ label, pth: PTH_READER.test(code) }).toEqual({ label, pth: false });
    }
  });

  it('the WebGPU app loads the wasm fallback only on demand wherever the bundler splits code', () => {
    for (const b of builds.filter((x) => x.app === 'resnet-webgpu' && x.bundler !== 'esbuild-default')) {
      const initial = b.chunks.filter((c) => c.initial).map((c) => c.code).join('\n');
      const lazy = b.chunks.filter((c) => !c.initial).map((c) => c.code).join('\n');
      expect({ bundler: b.bundler, initial: WASM_BACKEND.test(initial), lazy: WASM_BACKEND.test(lazy) }).toEqual({
        bundler: b.bundler,
        initial: false,
        lazy: true,
      });
    }
  });

  it('stays within the gzipped first-load JS budgets with every minifying bundler', () => {
    const over: string[] = [];
    for (const b of builds.filter((x) => x.minified && JS_BUDGET[x.app] !== undefined)) {
      const budget = (b.bundler === 'esbuild-default' ? UNSPLIT_BUDGET[b.app] : undefined) ?? JS_BUDGET[b.app];
      const gz = b.chunks.filter((c) => c.initial).reduce((s, c) => s + c.gzip, 0);
      if (gz > budget) over.push(`${b.app} / ${b.bundler}: ${gz} bytes gzip, budget ${budget}`);
    }
    expect(over).toEqual([]);
  });

  it('Vite and webpack emit the binaries themselves and print no warnings; esbuild ESM prints none either', () => {
    for (const b of builds.filter((x) => x.bundler === 'vite' || x.bundler === 'webpack')) {
      expect({ build: `${b.app} / ${b.bundler}`, wasm: b.wasm.length, warnings: b.warnings }).toEqual({
        build: `${b.app} / ${b.bundler}`,
        wasm: 4,
        warnings: [],
      });
      for (const w of b.wasm) expect(w.gzip).toBeLessThanOrEqual(WASM_BUDGET);
    }
    for (const b of builds.filter((x) => x.bundler === 'esbuild')) expect({ app: b.app, warnings: b.warnings }).toEqual({ app: b.app, warnings: [] });
  });
});

const TYPES_ESM = `import { Tensor, loadWeights, summarize } from '@cnn/core';
import * as alexnet from '@cnn/alexnet';
import * as convnext from '@cnn/convnext';
import * as densenet from '@cnn/densenet';
import * as efficientnet from '@cnn/efficientnet';
import * as inception from '@cnn/inception';
import * as vgg from '@cnn/vgg';
import * as cli from '@cnn/cli';
import { lenet5 } from '@cnn/lenet';
import { mobilenet_v3_small } from '@cnn/mobilenet';
import { resnet18 } from '@cnn/resnet';
import { createJsBackend } from '@cnn/kernels/js';
import { createWasmBackend, type WasmVariant } from '@cnn/kernels/wasm';
import { wasmWorkers } from '@cnn/kernels/wasm/threads';
import { createWebGpuBackend } from '@cnn/kernels/webgpu';

export const packages = [alexnet, convnext, densenet, efficientnet, inception, vgg, cli];
const runner = await resnet18().useGeneratedWeights(1).compile(createWasmBackend());
const logits: Tensor = await runner.run(new Tensor([1, 3, 224, 224]));
export const top: number[] = logits.argmax();
export const variant: WasmVariant = createWasmBackend().variant;
export const gpu: GPUDevice | undefined = (await createWebGpuBackend({ fallback: 'wasm' })).device;
export const others = [lenet5(), mobilenet_v3_small(), createJsBackend()];
export const threaded = createWasmBackend({ threads: 2, workers: wasmWorkers });
export const loaded: Promise<ReturnType<typeof lenet5>> = loadWeights(lenet5(), new Uint8Array(0));
export const macs: number = summarize(resnet18(), [112, 112]).totalMultiplyAdds;
`;

const TYPES_CJS = `import core = require('@cnn/core');
import resnet = require('@cnn/resnet');
import wasm = require('@cnn/kernels/wasm');
import threads = require('@cnn/kernels/wasm/threads');

export const model = resnet.resnet18();
export const tensor: core.Tensor = new core.Tensor([1, 3, 224, 224]);
export const backend = wasm.createWasmBackend({ threads: 2, workers: threads.wasmWorkers });
export const parameters: number = core.summarize(model).totalParameters;
`;

/** tsc (the given package) over an ESM and a CommonJS consumer, node16 and bundler resolution, with skipLibCheck off. */
async function typecheckConsumers(tsPackage: string, resolutions: readonly ('node16' | 'bundler')[]): Promise<string> {
  const dir = join(appsDir, 'types');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'esm.mts'), TYPES_ESM);
  writeFileSync(join(dir, 'cjs.cts'), TYPES_CJS);
  const tsc = join(root, 'node_modules', tsPackage, 'bin/tsc');
  const common = ['--noEmit', '--strict', '--skipLibCheck', 'false', '--target', 'es2022', '--lib', 'es2022,dom', '--types', '@webgpu/types,node'];
  const out: string[] = [];
  for (const resolution of resolutions) {
    const files = resolution === 'node16' ? ['esm.mts', 'cjs.cts'] : ['esm.mts'];
    const module = resolution === 'node16' ? 'node16' : 'preserve';
    try {
      await run(process.execPath, [tsc, ...common, '--module', module, '--moduleResolution', resolution, ...files], { cwd: dir });
    } catch (e) {
      out.push(`${tsPackage} ${resolution}: ${(e as { stdout?: string }).stdout ?? String(e)}`);
    }
  }
  return out.join('\n');
}

describe('types', () => {
  it('check in ESM and CommonJS consumers on the oldest stated TypeScript (5.7) and the workspace one', async () => {
    expect(await typecheckConsumers('typescript-5.7', ['node16'])).toBe('');
    expect(await typecheckConsumers('typescript', ['node16', 'bundler'])).toBe('');
  });
});

/** Runs an app from the installed tarballs in Node: ESM (node condition) or CommonJS. */
async function runInNode(app: string, format: 'esm' | 'cjs'): Promise<{ logits: number[]; error?: string }> {
  const dir = join(appsDir, app);
  let script: string;
  if (format === 'esm') {
    script = `await import(${JSON.stringify(join(dir, 'main.js'))});`;
  } else {
    // the same program through require(): the packages' CommonJS builds
    const cjs = APPS.find((a) => a.name === app)!.source
      .replace(/import \{ ([\w, ]+) \} from '([^']+)';/g, "const { $1 } = require('$2');")
      .replace(/^main\(\)/m, 'module.exports = main()');
    writeFileSync(join(dir, 'main.cjs'), cjs);
    script = `require(${JSON.stringify(join(dir, 'main.cjs'))});`;
  }
  const wait = 'while (!globalThis.cnnResult) await new Promise((r) => setTimeout(r, 10)); process.stdout.write(JSON.stringify(globalThis.cnnResult)); process.exit(0);';
  const body = format === 'esm' ? `${script} ${wait}` : `${script} (async () => { ${wait} })();`;
  const { stdout } = await run(process.execPath, [`--input-type=${format === 'esm' ? 'module' : 'commonjs'}`, '-e', body], {
    cwd: dir,
    maxBuffer: 64 << 20,
  });
  return JSON.parse(stdout);
}

const MIME: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };

/** Serves a bundle's output with the headers threads need. */
async function serve(dir: string): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = join(dir, path === '/' ? 'index.html' : path);
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cache-Control': 'no-store',
    };
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404, headers).end();
    res.writeHead(200, { ...headers, 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no server address');
  return { server, origin: `http://127.0.0.1:${address.port}` };
}

describe('bundled apps run', () => {
  it('in Node from the tarballs, as ESM and as CommonJS, with the same logits', async () => {
    const logits: Record<string, number[]> = {};
    for (const app of ['lenet-wasm', 'mobilenet-wasm', 'mobilenet-safetensors-wasm']) {
      const esm = await runInNode(app, 'esm');
      const cjs = await runInNode(app, 'cjs');
      expect(esm.error).toBeUndefined();
      expect(cjs.error).toBeUndefined();
      expect(esm.logits.length).toBe(app === 'lenet-wasm' ? 10 : 1000);
      expect(cjs.logits).toEqual(esm.logits);
      logits[app] = esm.logits;
    }
    // the weights read from the file are the generated ones the other app uses
    expect(logits['mobilenet-safetensors-wasm']).toEqual(logits['mobilenet-wasm']);
  });

  it('the cnn binary from the @cnn/cli tarball', async () => {
    const { stdout } = await run(join(appsDir, 'node_modules/.bin/cnn'), ['summary', 'lenet5', '--json'], { cwd: appsDir });
    expect(JSON.parse(stdout)).toMatchObject({ totalParameters: 61_706 });
  });

  it('in headless Chromium (Vite, webpack, esbuild + copied binaries): logits as in Node, one kernel binary downloaded', async () => {
    const profile = mkdtempSync(join(tmpdir(), 'cnn-bundle-check-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CNN_CHROMIUM ?? '/usr/bin/chromium', // machinePaths.chromium in @cnn/core/testing
      headless: true,
      args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const pages = [['mobilenet-wasm', 'vite'], ['lenet-wasm', 'webpack'], ['lenet-wasm', 'esbuild'], ['mobilenet-safetensors-wasm', 'esbuild'], ['mobilenet-safetensors-wasm', 'vite']] as const;
      for (const [app, bundler] of pages) {
        const b = builds.find((x) => x.app === app && x.bundler === bundler)!;
        if (app === 'mobilenet-safetensors-wasm') copyFileSync(join(appsDir, app, WEIGHTS_FILE), join(b.outDir, WEIGHTS_FILE));
        if (bundler === 'webpack') writeFileSync(join(b.outDir, 'index.html'), '<!doctype html><script src="main.js"></script>');
        if (bundler === 'esbuild') {
          // the kernels README's recipe for esbuild: copy the binaries beside the bundle
          const kernelsDist = join(appsDir, 'node_modules/@cnn/kernels/dist');
          for (const f of readdirSync(kernelsDist).filter((f) => f.endsWith('.wasm'))) copyFileSync(join(kernelsDist, f), join(b.outDir, f));
          writeFileSync(join(b.outDir, 'index.html'), '<!doctype html><script type="module" src="main.js"></script>');
        }
        const { server, origin } = await serve(b.outDir);
        try {
          const page = await context.newPage();
          const wasmRequests: string[] = [];
          page.on('request', (r) => void (r.url().endsWith('.wasm') && wasmRequests.push(new URL(r.url()).pathname)));
          await page.goto(`${origin}/`);
          await page.waitForFunction(() => (globalThis as { cnnResult?: unknown }).cnnResult !== undefined, null, { timeout: 120_000 });
          const result = (await page.evaluate(() => (globalThis as { cnnResult?: unknown }).cnnResult)) as {
            logits: number[];
            variant: string;
            error?: string;
          };
          await page.close();
          expect(result.error).toBeUndefined();
          expect(wasmRequests).toHaveLength(1);
          // webpack names emitted files by hash: identify the binary by its bytes
          const served = readFileSync(join(b.outDir, wasmRequests[0]));
          const kernelsDist = join(appsDir, 'node_modules/@cnn/kernels/dist');
          const which = readdirSync(kernelsDist).find((f) => f.endsWith('.wasm') && readFileSync(join(kernelsDist, f)).equals(served));
          expect({ app, bundler, which }).toEqual({
            app,
            bundler,
            which: result.variant === 'simd' ? 'cnn_kernels.wasm' : `cnn_kernels-${result.variant}.wasm`,
          });
          const node = await runInNode(app, 'esm');
          const scale = Math.max(...node.logits.map(Math.abs));
          const worst = Math.max(...result.logits.map((v, i) => Math.abs(v - node.logits[i])));
          // Chromium may pick the relaxed-SIMD binary (fused multiply-add) where Node runs simd128.
          expect({ app, bundler, variant: result.variant, relError: worst / scale < 1e-4 }).toMatchObject({ relError: true });
        } finally {
          server.close();
        }
      }
      // esbuild's default (iife) output has no import.meta.url: the error says what to do
      const iife = builds.find((x) => x.app === 'lenet-wasm' && x.bundler === 'esbuild-default')!;
      writeFileSync(join(iife.outDir, 'index.html'), '<!doctype html><script src="main.js"></script>');
      const { server, origin } = await serve(iife.outDir);
      try {
        const page = await context.newPage();
        await page.goto(`${origin}/`);
        await page.waitForFunction(() => (globalThis as { cnnResult?: unknown }).cnnResult !== undefined, null, { timeout: 60_000 });
        const result = (await page.evaluate(() => (globalThis as { cnnResult?: unknown }).cnnResult)) as { error?: string };
        expect(result.error).toMatch(/Cannot locate cnn_kernels.*no import\.meta\.url.*--format=esm.*createWasmBackend\(\{ wasm \}\)/s);
        await page.close();
      } finally {
        server.close();
      }
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
