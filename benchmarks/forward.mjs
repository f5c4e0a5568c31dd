// ms per forward pass (batch 1) for lenet5, resnet18 and resnet50 on the js and wasm backends.
// Run: pnpm bench [-- --models resnet18 --backends wasm --reps 10]
// The machine is shared and noisy: compare rows of the same run, not numbers across runs.
import { Tensor, counterInput, summarize } from '@cnn/core';
import { createJsBackend } from '@cnn/kernels/js';
import { createWasmBackend } from '@cnn/kernels/wasm';
import { lenet5 } from '@cnn/lenet';
import { resnet18, resnet50 } from '@cnn/resnet';
import { writeFileSync, mkdirSync } from 'node:fs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const factories = { lenet5, resnet18, resnet50 };
const models = (args.models ?? 'lenet5,resnet18,resnet50').split(',');
const backendNames = (args.backends ?? 'wasm,js').split(',');
const timeBudgetMs = Number(args.budget ?? 4000);

const backends = { js: async () => createJsBackend(), wasm: () => createWasmBackend() };
const rows = [];
for (const name of models) {
  const model = factories[name]().useGeneratedWeights(1);
  const summary = summarize(model);
  const shape = [1, ...model.architecture.inputShape];
  const input = new Tensor(shape, counterInput(shape, 1));
  for (const b of backendNames) {
    const t0 = performance.now();
    const runner = await model.compile(await backends[b]());
    await runner.run(input);
    const first = performance.now() - t0;
    const times = [];
    const reps = Number(args.reps ?? 50);
    const start = performance.now();
    while (times.length < reps && (times.length < 3 || performance.now() - start < timeBudgetMs)) {
      const s = performance.now();
      await runner.run(input);
      times.push(performance.now() - s);
    }
    times.sort((a, c) => a - c);
    const min = times[0];
    const median = times[Math.floor(times.length / 2)];
    rows.push({
      model: name,
      backend: b,
      runs: times.length,
      minMs: +min.toFixed(2),
      medianMs: +median.toFixed(2),
      spreadPct: +((100 * (times[times.length - 1] - min)) / min).toFixed(1),
      gflops: +((2 * summary.totalMultiplyAdds) / (min * 1e6)).toFixed(2),
      firstInferenceMs: +first.toFixed(1),
      arenaMB: +(runner.arenaBytes / 2 ** 20).toFixed(1),
    });
    runner.dispose();
  }
}

const header = ['model', 'backend', 'runs', 'min ms', 'median ms', 'spread %', 'GFLOP/s', 'first ms', 'arena MiB'];
const table = rows.map((r) => [r.model, r.backend, r.runs, r.minMs, r.medianMs, r.spreadPct, r.gflops, r.firstInferenceMs, r.arenaMB].map(String));
const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
console.log(header.map((h, i) => h.padStart(widths[i])).join('  '));
for (const t of table) console.log(t.map((c, i) => c.padStart(widths[i])).join('  '));
for (const name of models) {
  const js = rows.find((r) => r.model === name && r.backend === 'js');
  const wasm = rows.find((r) => r.model === name && r.backend === 'wasm');
  if (js && wasm) console.log(`${name}: wasm is ${(js.minMs / wasm.minMs).toFixed(1)}x faster than js`);
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/forward.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2));
