// ms per forward pass (batch 1) of whole models on each wasm variant and thread count, with the
// speed-up over the single-threaded simd128 row of the same model. Every configuration is timed
// in interleaved rounds, so load from other processes hits all of them alike.
// Run: pnpm --filter @cnn/benchmarks bench:variants [-- --models resnet50,mobilenet_v2 --threads 1,2 --rounds 5]
// (relaxed-SIMD rows need the flag in Node 20: node --experimental-wasm-relaxed-simd wasm-variants.mjs)
// --winograd on,off adds rows with Winograd 3x3 convolutions turned off (the direct igemm path).
import { Tensor, counterInput, summarize } from '@cnn/core';
import { createWasmBackend, hasRelaxedSimd } from '@cnn/kernels/wasm';
import { resnet18, resnet50 } from '@cnn/resnet';
import { mobilenet_v2, mobilenet_v3_large } from '@cnn/mobilenet';
import { vgg16 } from '@cnn/vgg';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const factories = { resnet18, resnet50, mobilenet_v2, mobilenet_v3_large, vgg16 };
const winogradModes = (args.winograd ?? 'on').split(',');
const models = (args.models ?? 'resnet50,mobilenet_v2').split(',');
const threadCounts = (args.threads ?? '1,2').split(',').map(Number);
const isas = (args.isa ?? (hasRelaxedSimd() ? 'simd,relaxed-simd' : 'simd')).split(',');
const rounds = Number(args.rounds ?? 5);
const repsPerRound = Number(args.reps ?? 3);

const rows = [];
for (const name of models) {
  const model = factories[name]().useGeneratedWeights(1);
  const macs = summarize(model).totalMultiplyAdds;
  const shape = [1, ...model.architecture.inputShape];
  const input = new Tensor(shape, counterInput(shape, 1));
  const configs = [];
  for (const isa of isas) {
    for (const threads of threadCounts) {
      for (const mode of winogradModes) {
        const backend = createWasmBackend({ relaxedSimd: isa === 'relaxed-simd', threads, winograd: mode !== 'off' });
        const runner = await model.compile(backend);
        const logits = (await runner.run(input)).data;
        const reason = [backend.threadsFallbackReason, mode === 'off' ? 'winograd off' : undefined].filter(Boolean).join('; ') || undefined;
        configs.push({ isa, threads, mode, variant: backend.variant, runner, times: [], reason, logits });
      }
    }
  }
  for (let r = 0; r < rounds; r++) {
    for (const c of configs) {
      for (let i = 0; i < repsPerRound; i++) {
        const t = performance.now();
        await c.runner.run(input);
        c.times.push(performance.now() - t);
      }
    }
  }
  const base = configs[0];
  // Threads change no arithmetic: their logits must equal the one-thread run of the same binary.
  for (const c of configs) {
    const single = configs.find((o) => o.isa === c.isa && o.mode === c.mode && o.threads === 1);
    if (single && c !== single && !c.logits.every((v, i) => v === single.logits[i])) c.reason = `${c.reason ?? ''} LOGITS DIFFER FROM 1 THREAD`.trim();
  }
  const min = (c) => Math.min(...c.times);
  const median = (c) => [...c.times].sort((a, b) => a - b)[Math.floor(c.times.length / 2)];
  for (const c of configs) {
    rows.push([name, c.variant, c.threads, min(c).toFixed(1), median(c).toFixed(1), ((2 * macs) / min(c) / 1e6).toFixed(1),
      (min(base) / min(c)).toFixed(2), (median(base) / median(c)).toFixed(2), c.reason ?? '']);
    c.runner.dispose();
  }
}
const header = ['model', 'variant', 'threads', 'min ms', 'median ms', 'GFLOP/s', 'x (min)', 'x (median)', 'note'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
console.log(header.map((h, i) => h.padStart(widths[i])).join('  '));
for (const r of rows) console.log(r.map((c, i) => String(c).padStart(widths[i])).join('  '));
