// Where a training step spends its time: per-kernel and per-op milliseconds of @cnn/train's wasm
// kernels on LeNet-5 or ResNet-18 (64x64), and with --wasm the time inside each Rust export.
// Kernels, ops and exports are wrapped with timers, so totals nest (an op includes its kernels,
// a kernel its exports); the first step is a warm-up and not counted.
//
// Run (build first: pnpm exec turbo run build):
//   node benchmarks/train-profile.mjs [--model resnet|lenet] [--batch N] [--steps N] [--threads N] [--wasm]
import { parseArgs } from 'node:util';
import { resnet18 } from '@cnn/resnet';
import { lenet5Architecture } from '@cnn/lenet';
import { AdamW, Autodiff, TrainableNetwork, createWasmTrainKernels, softmaxCrossEntropy } from '@cnn/train';

const { values: opts } = parseArgs({
    // pnpm passes the '--' of `pnpm run x -- --flag` through
    args: process.argv.slice(2).filter((a, i) => i > 0 || a !== '--'),
  options: {
    model: { type: 'string', default: 'resnet' },
    batch: { type: 'string', default: '16' },
    steps: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1' },
    wasm: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opts.help) {
  console.log('node benchmarks/train-profile.mjs [--model resnet|lenet] [--batch N] [--steps N] [--threads N] [--wasm]');
  process.exit(0);
}
if (opts.model !== 'resnet' && opts.model !== 'lenet') throw new RangeError(`--model must be resnet or lenet, got '${opts.model}'`);
const [batch, steps, threads] = [opts.batch, opts.steps, opts.threads].map(Number);
for (const [name, v] of Object.entries({ batch, steps, threads })) {
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`--${name} must be a positive integer, got '${opts[name]}'`);
}

const times = new Map();
const timed = (name, f) =>
  function (...args) {
    const t = performance.now();
    try {
      return f.apply(this, args);
    } finally {
      times.set(name, (times.get(name) ?? 0) + performance.now() - t);
    }
  };

// every Rust export, by wrapping the instances the kernels create
const Instance = WebAssembly.Instance;
WebAssembly.Instance = function (module, imports) {
  const exports = new Instance(module, imports).exports;
  return { exports: Object.fromEntries(Object.entries(exports).map(([k, v]) => [k, typeof v === 'function' ? timed(`wasm ${k}`, v) : v])) };
};
const base = await createWasmTrainKernels({ threads });
WebAssembly.Instance = Instance;
const kernels = Object.fromEntries(Object.entries(base).map(([k, v]) => [k, typeof v === 'function' ? timed(`kernel ${k}`, v) : v]));
for (const name of ['conv2d', 'linear', 'activation', 'pool2d', 'adaptiveAvgPool2d', 'add', 'batchNorm2d']) {
  Autodiff.prototype[name] = timed(`op ${name}`, Autodiff.prototype[name]);
}

const resnet = opts.model === 'resnet';
const net = TrainableNetwork.fromArchitecture(resnet ? resnet18().architecture : lenet5Architecture, { seed: 1, kernels, ...(resnet ? { inputShape: [3, 64, 64] } : {}) });
const opt = new AdamW(net.parameters(), { lr: 1e-3, kernels });
const [size, classes] = resnet ? [3 * 64 * 64, 1000] : [1024, 10];
const x = Float32Array.from({ length: batch * size }, (_, i) => Math.sin(i));
const labels = Array.from({ length: batch }, (_, i) => i % classes);
const phase = { forward: 0, backward: 0, optimiser: 0 };
const step = () => {
  let t = performance.now();
  const loss = softmaxCrossEntropy(net.forward(x, batch, { training: true }), labels);
  phase.forward += performance.now() - t;
  t = performance.now();
  net.zeroGrad();
  loss.backward();
  phase.backward += performance.now() - t;
  t = performance.now();
  opt.step();
  phase.optimiser += performance.now() - t;
};
step();
times.clear();
phase.forward = phase.backward = phase.optimiser = 0;
const t0 = performance.now();
for (let s = 0; s < steps; s++) step();
const total = performance.now() - t0;
base.dispose?.();
console.log(`${opts.model} batch ${batch}, ${threads} thread(s): ${((steps * batch) / (total / 1000)).toFixed(1)} images/s, ${(total / steps).toFixed(0)} ms/step`);
console.log(Object.entries(phase).map(([k, v]) => `${k} ${(v / steps).toFixed(0)} ms`).join(', '));
for (const [k, v] of [...times].filter(([k]) => opts.wasm || !k.startsWith('wasm ')).sort((a, b) => b[1] - a[1])) {
  console.log(`  ${k.padEnd(36)} ${(v / steps).toFixed(1).padStart(8)} ms`);
}
