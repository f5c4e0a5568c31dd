// ms per forward pass on the WebGPU backend (Dawn for Node, the 'webgpu' package): resnet50,
// mobilenet_v2, efficientnet_b0, convnext_tiny and vgg16 at batch 1 and 8, f32 and f16 (f16 only
// where the adapter has 'shader-f16'), min and median, with the adapter's description.
//
// Times the compiled executable (NHWC input upload, every dispatch in one command buffer, one
// read-back), so the JS NCHW<->NHWC conversions of Runner are not counted. At batch 1 the logits
// are also checked against torchvision's golden fixture, and f16 logits against f32's.
//
// With 'timestamp-query', one extra pass per model and precision at the first batch is profiled
// and the kernels that take most GPU time are listed (--profile off to skip).
//
// Run: pnpm build && node benchmarks/webgpu.mjs [--models resnet50,vgg16] [--batches 1,8]
//        [--precisions f32,f16] [--size 224] [--reps 50] [--budget 3000] [--json out.json]
// On a GPU machine without Node: benchmarks/gpu/prepare.sh here, benchmarks/gpu/run.sh there.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { counterInput, nchwToNhwc } from '@cnn/core';
import { relativeError } from '@cnn/core/testing';
import { createWebGpuBackend, describeAdapter } from '@cnn/kernels/webgpu';
import { resnet50 } from '@cnn/resnet';
import { mobilenet_v2 } from '@cnn/mobilenet';
import { efficientnet_b0 } from '@cnn/efficientnet';
import { convnext_tiny } from '@cnn/convnext';
import { vgg16 } from '@cnn/vgg';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const MODELS = {
  resnet50: ['resnet', resnet50],
  mobilenet_v2: ['mobilenet', mobilenet_v2],
  efficientnet_b0: ['efficientnet', efficientnet_b0],
  convnext_tiny: ['convnext', convnext_tiny],
  vgg16: ['vgg', vgg16],
};
const models = (args.models ?? Object.keys(MODELS).join(',')).split(',');
const batches = (args.batches ?? '1,8').split(',').map(Number);
const precisions = (args.precisions ?? 'f32,f16').split(',');
const size = Number(args.size ?? 224);
const maxReps = Number(args.reps ?? 50);
const budgetMs = Number(args.budget ?? 3000);
/** where the repository's packages are: fixtures are read from there when present */
const repoRoot = args.repo ?? new URL('..', import.meta.url).pathname;

const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
const gpu = create((args.dawn ?? '').split(',').filter(Boolean));
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) {
  console.error('No WebGPU adapter: check the Vulkan loader and driver (VK_ICD_FILENAMES / VK_DRIVER_FILES).');
  process.exit(1);
}
const info = adapter.info;
const hasF16 = adapter.features.has('shader-f16');
console.log(`adapter: ${[info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ')}${adapter.info.isFallbackAdapter ? ' (fallback adapter)' : ''}`);
console.log(
  `features: shader-f16 ${hasF16 ? 'yes' : 'no'}, subgroups ${adapter.features.has('subgroups') ? 'yes' : 'no'}; ` +
    `limits: maxStorageBufferBindingSize ${adapter.limits.maxStorageBufferBindingSize}, maxBufferSize ${adapter.limits.maxBufferSize}, ` +
    `maxComputeWorkgroupsPerDimension ${adapter.limits.maxComputeWorkgroupsPerDimension}`,
);
console.log(`node ${process.version}; input ${size}x${size}; up to ${maxReps} runs or ${budgetMs} ms per row\n`);

const backends = {};
for (const p of precisions) {
  if (p === 'f16' && !hasF16) continue;
  backends[p] = await createWebGpuBackend({ adapter: await gpu.requestAdapter({ powerPreference: 'high-performance' }), precision: p, profiling: args.profile !== 'off' });
}

function fixtureFor(pkg, name) {
  const file = `${repoRoot}/packages/${pkg}/fixtures/${name}_${size}.json`;
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
}

/** GPU time per kernel template (summed over dispatches), the largest first. */
function summarizeProfile(times, wallMs) {
  const byKernel = new Map();
  for (const t of times) {
    const key = `${t.kind}: ${t.kernel}`;
    const e = byKernel.get(key) ?? { kernel: key, ms: 0, dispatches: 0 };
    e.ms += t.ms;
    e.dispatches++;
    byKernel.set(key, e);
  }
  const total = times.reduce((s, t) => s + t.ms, 0);
  const top = [...byKernel.values()].sort((a, b) => b.ms - a.ms);
  const lines = top.slice(0, 8).map((e) => `    ${e.ms.toFixed(3).padStart(8)} ms ${((100 * e.ms) / total).toFixed(1).padStart(5)}%  x${e.dispatches}  ${e.kernel}`);
  return {
    gpuMs: total,
    top,
    text: `  profile: ${times.length} dispatches, ${total.toFixed(3)} ms of GPU time (one pass per dispatch) vs ${wallMs.toFixed(3)} ms wall median\n${lines.join('\n')}`,
  };
}

const rows = [];
const fmt = (v, d = 2) => (v === undefined ? '-' : typeof v === 'number' ? v.toFixed(d) : String(v));
for (const name of models) {
  const [pkg, build] = MODELS[name] ?? [];
  if (!build) throw new Error(`unknown model ${name}; choose from ${Object.keys(MODELS).join(', ')}`);
  const fx = fixtureFor(pkg, name);
  const seed = fx?.seed ?? 1;
  const model = build().useGeneratedWeights(seed);
  const macs = model.summary([size, size]).totalMultiplyAdds;
  for (const batch of batches) {
    const plan = model.plan({ batch, inputSize: [size, size] });
    const shape = [batch, 3, size, size];
    const input = nchwToNhwc(counterInput(shape, seed), ...shape);
    const logitsBy = {};
    for (const precision of precisions) {
      const row = { model: name, batch, precision };
      rows.push(row);
      if (!backends[precision]) {
        row.note = `skipped: adapter has no ${precision === 'f16' ? 'shader-f16' : precision}`;
        continue;
      }
      try {
        const t0 = performance.now();
        const exe = await backends[precision].compile(plan); // pipelines, upload and one warm-up pass
        row.compileMs = performance.now() - t0;
        const t1 = performance.now();
        const [logits] = await exe.run(input);
        row.firstRunMs = performance.now() - t1;
        logitsBy[precision] = logits;
        const times = [];
        const start = performance.now();
        while (times.length < maxReps && (times.length < 5 || performance.now() - start < budgetMs)) {
          const s = performance.now();
          await exe.run(input);
          times.push(performance.now() - s);
        }
        times.sort((a, b) => a - b);
        Object.assign(row, {
          runs: times.length,
          minMs: times[0],
          medianMs: times[Math.floor(times.length / 2)],
          imagesPerS: (batch * 1000) / times[Math.floor(times.length / 2)],
          tflops: (2 * macs * batch) / (times[0] * 1e9),
          weightMiB: exe.weightBytes / 2 ** 20,
          arenaMiB: exe.arenaBytes / 2 ** 20,
          dispatches: exe.dispatchCount,
          pipelines: exe.pipelineCount,
        });
        if (fx && batch === fx.input.shape[0]) row.vsTorch = relativeError(logits, fx.logits.data);
        if (precision !== 'f32' && logitsBy.f32) row.vsF32 = relativeError(logits, logitsBy.f32);
        if (batch === batches[0] && args.profile !== 'off' && backends[precision].device.features.has('timestamp-query')) {
          row.profile = summarizeProfile(await exe.profile(input), row.medianMs);
        }
        exe.dispose();
      } catch (e) {
        row.note = `failed: ${String(e.message ?? e).split('\n')[0]}`;
      }
      const r = row;
      if (r.profile) console.log(r.profile.text);
      console.log(
        `${name} b${batch} ${precision}: ${r.note ?? `min ${fmt(r.minMs)} ms, median ${fmt(r.medianMs)} ms, compile+warm-up ${fmt(r.compileMs, 0)} ms` +
          (r.vsTorch !== undefined ? `, vs torchvision ${r.vsTorch.toExponential(2)}` : '') + (r.vsF32 !== undefined ? `, vs f32 ${r.vsF32.toExponential(2)}` : '')}`,
      );
    }
  }
}

const header = ['model', 'batch', 'prec', 'runs', 'min ms', 'median ms', 'img/s', 'TFLOP/s', 'compile ms', 'first ms', 'vs torch', 'vs f32', 'weights MiB', 'arena MiB', 'dispatches', 'pipelines', 'note'];
const table = rows.map((r) => [
  r.model, r.batch, r.precision, fmt(r.runs, 0), fmt(r.minMs), fmt(r.medianMs), fmt(r.imagesPerS, 1), fmt(r.tflops), fmt(r.compileMs, 0), fmt(r.firstRunMs, 1),
  r.vsTorch === undefined ? '-' : r.vsTorch.toExponential(1), r.vsF32 === undefined ? '-' : r.vsF32.toExponential(1),
  fmt(r.weightMiB, 1), fmt(r.arenaMiB, 1), fmt(r.dispatches, 0), fmt(r.pipelines, 0), r.note ?? '',
].map(String));
const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
console.log(`\nWebGPU forward pass on ${describeAdapter(Object.values(backends)[0]?.adapter ?? { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description })}`);
console.log(header.map((h, i) => h.padStart(widths[i])).join('  '));
for (const t of table) console.log(t.map((c, i) => c.padStart(widths[i])).join('  '));
if (args.json) writeFileSync(args.json, JSON.stringify({ adapter: { ...Object.fromEntries(['vendor', 'architecture', 'device', 'description'].map((k) => [k, info[k]])), hasF16 }, size, rows }, null, 2));
for (const b of Object.values(backends)) b.destroy();
