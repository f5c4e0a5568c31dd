// Int8 against fp32 end to end on the wasm kernels, one thread, same process, alternating:
//   node benchmarks/int8-e2e.mjs [--models resnet18,mobilenet_v2] [--runs 15] [--size 224]
// Both plans come from the same generated weights; the int8 one is calibrated on two generated
// inputs (cnn quantize does the same from images). Prints min and median ms and fp32/int8.
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { calibrate } from '@cnn/core';
import { createWasmBackend } from '@cnn/kernels/wasm';
import { createInt8WasmBackend } from '@cnn/kernels/wasm/q8';
import { resnet18, resnet50 } from '@cnn/resnet';
import { mobilenet_v2 } from '@cnn/mobilenet';

const MODELS = { resnet18, resnet50, mobilenet_v2 };
let opts;
try {
  ({ values: opts } = parseArgs({
    // pnpm passes the '--' of `pnpm run x -- --flag` through
    args: process.argv.slice(2).filter((a, i) => i > 0 || a !== '--'), options: { models: { type: 'string', default: 'resnet18,mobilenet_v2' }, runs: { type: 'string', default: '15' }, size: { type: 'string', default: '224' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
} catch (e) {
  console.error(`int8-e2e: ${e.message}\nexpected: --models a,b (of ${Object.keys(MODELS).join(', ')}) --runs N --size PX`);
  process.exit(2);
}
if (opts.help) {
  console.log('node benchmarks/int8-e2e.mjs [--models resnet18,mobilenet_v2] [--runs 15] [--size 224]');
  process.exit(0);
}
const runs = Number(opts.runs), size = Number(opts.size);
const binary = await readFile(new URL(import.meta.resolve('@cnn/kernels/wasm/q8').replace(/dist\/.*$/, 'dist/cnn_q8.wasm')));
function input(n, seed) {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
}
const stats = (t) => { const s = [...t].sort((a, b) => a - b); return { min: s[0], median: s[s.length >> 1] }; };
for (const name of opts.models.split(',')) {
  const make = MODELS[name];
  if (!make) { console.error(`int8-e2e: unknown model '${name}', expected one of ${Object.keys(MODELS).join(', ')}`); process.exit(2); }
  const model = make().useGeneratedWeights(1);
  const fp32Backend = createWasmBackend({ threads: 1 });
  const n = 3 * size * size;
  const { plan } = await calibrate(model, fp32Backend, [input(n, 1), input(n, 2)], { inputSize: [size, size] });
  const fp32 = await fp32Backend.compile(model.plan({ inputSize: [size, size] }));
  const int8 = await createInt8WasmBackend(binary).compile(plan);
  const x = input(n, 3);
  const [a] = await fp32.run(x), [b] = await int8.run(x);
  let worst = 0, top = 0;
  for (let i = 0; i < a.length; i++) { worst = Math.max(worst, Math.abs(a[i] - b[i])); top = Math.max(top, Math.abs(a[i])); }
  const argmax = (v) => v.indexOf(Math.max(...v));
  const t = { fp32: [], int8: [] };
  for (let r = 0; r < runs; r++) for (const [k, exe] of r % 2 ? [['int8', int8], ['fp32', fp32]] : [['fp32', fp32], ['int8', int8]]) {
    const s = performance.now(); await exe.run(x); t[k].push(performance.now() - s);
  }
  const f = stats(t.fp32), q = stats(t.int8);
  console.log(`${name} @${size}: fp32 min ${f.min.toFixed(1)} / median ${f.median.toFixed(1)} ms, int8 min ${q.min.toFixed(1)} / median ${q.median.toFixed(1)} ms, fp32/int8 ${(f.min / q.min).toFixed(2)} (median ${(f.median / q.median).toFixed(2)}); int8 vs fp32 logits: max err ${(worst / top).toExponential(1)} of max |logit|, top-1 ${argmax(a) === argmax(b) ? 'same' : 'differs'}`);
  fp32.dispose(); int8.dispose();
}
