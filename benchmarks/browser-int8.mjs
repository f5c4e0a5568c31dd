// Int8 against fp32 end to end in a browser: headless Chromium (Debian's /usr/bin/chromium,
// as the browser tests use), one thread, the wasm kernels of this checkout's built packages.
// Each model runs in a fresh page: generated weights, calibration on two generated inputs with
// 7-bit activation codes (reduce_range, what relaxed SIMD's i8 dot product takes), then fp32 and
// int8 forward passes alternately. In a browser, unlike Node 20, relaxed SIMD is on and the
// int8 kernels' probe can turn on the fused dot-add (vpdpbusd where the CPU has AVX-VNNI).
// Prints min and median ms, fp32 ms / int8 ms, and the int8 logits' error against fp32.
// Run: pnpm --filter @cnn/benchmarks bench:int8-browser [-- --models resnet18,mobilenet_v2,resnet50 --runs 15 --size 224 --json]
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const HELP = `Usage: browser-int8.mjs [--models LIST] [--runs N] [--size PX] [--chromium PATH] [--profile] [--json]
  --models LIST    comma-separated, of resnet18, resnet50, mobilenet_v2 (default resnet18,mobilenet_v2,resnet50)
  --runs N         timed runs of each precision, alternating (default 15)
  --size PX        input side (default 224)
  --chromium PATH  the browser (default /usr/bin/chromium)
  --profile        also ms by op family (best of 5 passes timed op by op), fp32 beside int8, in a
                   cross-origin isolated page (a finer timer)
  --profile-ops    --profile, and each precision's 12 slowest ops
  --json           one JSON object per model instead of the table`;
const MODELS = ['resnet18', 'resnet50', 'mobilenet_v2'];
let opts;
try {
  opts = parseArgs({
    // pnpm passes the '--' of `pnpm run x -- --flag` through
    args: process.argv.slice(2).filter((a, i) => i > 0 || a !== '--'),
    options: {
      models: { type: 'string', default: 'resnet18,mobilenet_v2,resnet50' },
      runs: { type: 'string', default: '15' },
      size: { type: 'string', default: '224' },
      chromium: { type: 'string', default: '/usr/bin/chromium' },
      json: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'profile-ops': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values;
} catch (e) {
  console.error(`browser-int8: ${e.message}\n${HELP}`);
  process.exit(2);
}
if (opts.help) {
  console.log(HELP);
  process.exit(0);
}
const runs = Number(opts.runs);
const size = Number(opts.size);
const models = opts.models.split(',');
const bad = [
  ...models.filter((m) => !MODELS.includes(m)).map((m) => `--models: unknown model '${m}', expected one of ${MODELS.join(', ')}`),
  ...(Number.isInteger(runs) && runs >= 1 ? [] : [`--runs expects a positive integer, got '${opts.runs}'`]),
  ...(Number.isInteger(size) && size >= 32 ? [] : [`--size expects an integer of at least 32, got '${opts.size}'`]),
  ...(existsSync(opts.chromium) ? [] : [`--chromium: no browser at ${opts.chromium} (install Debian's chromium)`]),
];
if (bad.length) {
  console.error(`browser-int8: ${bad.join('\n')}`);
  process.exit(2);
}

const here = fileURLToPath(new URL('.', import.meta.url));
const dist = join(here, '..', 'packages', 'kernels', 'dist');
const { chromium } = await import('playwright-core');
// ESM, so that the kernels find their binaries beside the page (new URL('../x.wasm', import.meta.url))
const { outputFiles } = await build({ entryPoints: [join(here, 'browser', 'int8-page.mjs')], bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'warning',
  // not the packages' tsconfig "paths", which point their Node-only imports at the sources
  tsconfigRaw: {} });
const script = outputFiles[0].text;
const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  // --profile: a cross-origin isolated page, whose timer ticks in microseconds (else 100 us)
  if (opts.profile || opts['profile-ops']) for (const [k, v] of [['Cross-Origin-Opener-Policy', 'same-origin'], ['Cross-Origin-Embedder-Policy', 'require-corp']]) res.setHeader(k, v);
  if (path === '/') return res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><script type="module" src="/page.js"></script>');
  if (path === '/page.js') return res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(script);
  const file = join(dist, path.slice(1));
  if (/^\/[\w.-]+\.wasm$/.test(path) && existsSync(file)) return res.writeHead(200, { 'Content-Type': 'application/wasm' }).end(readFileSync(file));
  res.writeHead(404).end();
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({ executablePath: opts.chromium, args: ['--no-sandbox'] });
const pad = (s, n) => String(s).padStart(n);
try {
  if (!opts.json) {
    console.log(`${browser.version()} on ${cpus()[0]?.model ?? 'an unknown CPU'}, one thread, ${runs} alternating runs each, input ${size}x${size}`);
    console.log(`${'model'.padEnd(13)} ${pad('fp32 kernels', 14)} ${pad('int8 dot', 9)} ${pad('fp32 min', 9)} ${pad('int8 min', 9)} ${pad('fp32/int8', 10)} ${pad('(median)', 9)}  int8 vs fp32 logits`);
  }
  for (const name of models) {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(origin);
    await page.waitForFunction(() => typeof globalThis.runInt8 === 'function', undefined, { timeout: 30_000 }).catch(() => {
      throw new Error(`browser-int8: the page did not load${errors.length ? `: ${errors.join('; ')}` : ''}`);
    });
    const r = await page.evaluate((a) => globalThis.runInt8(a), { name, runs, size, profile: opts['profile-ops'] ? 'ops' : opts.profile });
    await page.close();
    if (opts.json) {
      console.log(JSON.stringify({ ...r, browser: browser.version(), cpu: cpus()[0]?.model }));
      continue;
    }
    const dot = r.fusedDot ? 'fused' : 'split';
    console.log(
      `${name.padEnd(13)} ${pad(r.fp32Variant, 14)} ${pad(dot, 9)} ${pad(r.fp32.min.toFixed(1), 9)} ${pad(r.int8.min.toFixed(1), 9)} ${pad((r.fp32.min / r.int8.min).toFixed(2), 10)} ${pad((r.fp32.median / r.int8.median).toFixed(2), 9)}  ` +
        `max err ${r.logitsError.toExponential(1)} of max |logit|, top-1 ${r.top1Same ? 'same' : 'differs'}`,
    );
    if (r.ops) {
      for (const k of ['fp32', 'int8']) {
        console.log(`  ${k}, slowest ops:`);
        for (const o of [...r.ops[k]].sort((p, q) => q.ms - p.ms).slice(0, 12)) console.log(`    ${o.op.padEnd(40)} ${o.ms.toFixed(3)} ms`);
      }
    }
    if (r.families) {
      const names = [...new Set([...Object.keys(r.families.fp32), ...Object.keys(r.families.int8)])].sort((p, q) => (r.families.int8[q] ?? 0) - (r.families.int8[p] ?? 0));
      for (const f of names) {
        const [fp, q] = [r.families.fp32[f], r.families.int8[f]];
        console.log(`    ${f.padEnd(22)} fp32 ${pad(fp === undefined ? '-' : fp.toFixed(2), 7)} ms   int8 ${pad(q === undefined ? '-' : q.toFixed(2), 7)} ms${fp && q ? `   ${(fp / q).toFixed(2)}x` : ''}`);
      }
    }
  }
} finally {
  await browser.close();
  server.close();
}
