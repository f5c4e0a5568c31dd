// Soak: does memory stay put? Many forward passes on one runner, then many compile/dispose
// cycles, on the wasm backend at 1 and 2 threads (and WebGPU through Dawn with --webgpu),
// printing RSS, JS heap, external memory and the backend's counters (memoryStats: wasm memory,
// GPU buffer bytes) at intervals, and whether RSS stayed within a bound after warm-up.
// Run: pnpm --filter @cnn/benchmarks bench:soak [-- --model mobilenet_v3_small --passes 10000 --cycles 300 --threads 1,2 --bound 32 --webgpu]
// WebGPU without a GPU: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (slow; use fewer passes).
import { parseArgs } from 'node:util';
import { Tensor, counterInput } from '@cnn/core';
import { createWasmBackend } from '@cnn/kernels/wasm';
import { createWebGpuBackend } from '@cnn/kernels/webgpu';
import { findModel } from '@cnn/cli';

const USAGE = 'usage: node --expose-gc soak.mjs [--model NAME] [--passes N] [--cycles N] [--threads 1,2] [--bound MiB] [--every N] [--webgpu]';
let opts;
try {
  opts = parseArgs({
    // pnpm passes the '--' of `pnpm run x -- --flag` through
    args: process.argv.slice(2).filter((a, i) => i > 0 || a !== '--'),
    options: {
      model: { type: 'string', default: 'mobilenet_v3_small' },
      passes: { type: 'string', default: '10000' },
      cycles: { type: 'string', default: '300' },
      threads: { type: 'string', default: '1,2' },
      bound: { type: 'string', default: '32' },
      every: { type: 'string', default: '1000' },
      webgpu: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  }).values;
} catch (e) {
  console.error(`${e.message}\n${USAGE}`);
  process.exit(2);
}
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
const int = (name) => {
  if (!/^\d+$/.test(opts[name])) {
    console.error(`--${name} must be a non-negative integer, got '${opts[name]}'\n${USAGE}`);
    process.exit(2);
  }
  return Number(opts[name]);
};
const passes = int('passes');
const cycles = int('cycles');
const bound = int('bound');
const every = Math.max(1, int('every'));
const threadCounts = opts.threads.split(',').map(Number);
if (!threadCounts.every((t) => Number.isInteger(t) && t >= 1)) {
  console.error(`--threads must be a comma-separated list of positive integers, got '${opts.threads}'`);
  process.exit(2);
}
if (!globalThis.gc) console.error('note: run with node --expose-gc to collect garbage before each sample (the bench:soak script does)');

const MiB = (b) => (b / 2 ** 20).toFixed(1);
const model = findModel(opts.model).create().useGeneratedWeights(1);
const [c, h, w] = model.architecture.inputShape;
const input = new Tensor([1, c, h, w], counterInput([1, c, h, w], 1));

function sample(backend) {
  globalThis.gc?.();
  const m = process.memoryUsage();
  const s = backend.memoryStats();
  // wasm: memory held by live executables plus the one kept for reuse; WebGPU: GPU buffer bytes
  const device = s.gpuBytes ?? s.liveBytes + s.spareBytes;
  return { rss: m.rss, heap: m.heapUsed, external: m.external, device, live: s.liveExecutables };
}
const row = (label, s) => console.log(`${label.padStart(12)}  ${MiB(s.rss).padStart(8)}  ${MiB(s.heap).padStart(7)}  ${MiB(s.external).padStart(8)}  ${MiB(s.device).padStart(8)}  ${String(s.live).padStart(4)}`);
let deviceColumn = 'wasm MiB';
const header = (what) => console.log(`${what.padStart(12)}  ${'RSS MiB'.padStart(8)}  ${'heap'.padStart(7)}  ${'external'.padStart(8)}  ${deviceColumn.padStart(8)}  live`);

/** Max minus min RSS of the samples after the first (warm-up), against the bound. */
function verdict(samples) {
  const after = samples.slice(1).map((s) => s.rss);
  if (after.length === 0) return 'too few samples';
  const spread = Math.max(...after) - Math.min(...after);
  return `RSS spread after warm-up ${MiB(spread)} MiB: ${spread <= bound * 2 ** 20 ? 'flat' : 'NOT flat'} within ${bound} MiB`;
}

const configs = threadCounts.map((threads) => async () => {
  const backend = createWasmBackend({ threads });
  return { backend, title: `wasm ${backend.variant}, ${backend.threads} thread(s)`, column: 'wasm MiB' };
});
if (opts.webgpu) {
  configs.push(async () => {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const backend = await createWebGpuBackend({ gpu: create([]) });
    return { backend, title: `WebGPU (${backend.adapter?.description || backend.adapter?.vendor || "Dawn"})`, column: 'GPU MiB' };
  });
}

let failed = false;
for (const make of configs) {
  const { backend, title, column } = await make();
  deviceColumn = column;
  console.log(`\n== ${opts.model}, ${title}`);
  header('passes');
  const runner = await model.compile(backend);
  const passSamples = [];
  for (let i = 1; i <= passes; i++) {
    await runner.run(input);
    if (i % every === 0) {
      passSamples.push(sample(backend));
      row(String(i), passSamples.at(-1));
    }
  }
  runner.dispose();
  console.log(verdict(passSamples));
  failed ||= verdict(passSamples).includes('NOT');

  header('cycles');
  const cycleEvery = Math.max(1, Math.round(cycles / 6));
  const cycleSamples = [];
  for (let i = 1; i <= cycles; i++) {
    const r = await model.compile(backend);
    await r.run(input);
    r.dispose();
    if (i % cycleEvery === 0) {
      cycleSamples.push(sample(backend));
      row(String(i), cycleSamples.at(-1));
    }
  }
  console.log(verdict(cycleSamples));
  failed ||= verdict(cycleSamples).includes('NOT');
}
process.exitCode = failed ? 1 : 0;
