// pnpm bench:train — training throughput (images/s) of LeNet-5 (batch 64 and 256) and a
// ResNet-18 step at 64x64 on @cnn/train (1 and 2 threads), TensorFlow.js (tfjs-core with tfjs-backend-cpu, and
// tfjs-backend-wasm, which cannot train convolutions: it has no Conv2DBackpropFilter kernel; the
// same LeNet-5 and torchvision's ResNet-18 written in tfjs ops) and PyTorch CPU (Debian's
// python3-torch, the native ceiling), with ratios.
//
// Each engine trains with AdamW (tfjs: Adam, it has no AdamW) on batches of the stated size;
// @cnn reads real Fashion-MNIST, the others random images of the same shape (speed does not
// depend on the pixels). Numbers on a shared machine are noisy: the load average is printed.
//
// Run: pnpm bench:train [--images N] [--tfjs-images N] [--resnet-steps N] [--resnet-batch N] [--tfjs-resnet-batch N] [--rounds N] [--json]
// (build first: pnpm exec turbo run build)
import { execFileSync } from 'node:child_process';
import { loadavg, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { lenet5Architecture } from '@cnn/lenet';
import { resnet18 } from '@cnn/resnet';
import { AdamW, TrainableNetwork, createWasmTrainKernels, softmaxCrossEntropy } from '@cnn/train';
import { loadFashionMnist } from '@cnn/train/node';

const { values: opts } = parseArgs({
    // pnpm passes the '--' of `pnpm run x -- --flag` through
    args: process.argv.slice(2).filter((a, i) => i > 0 || a !== '--'),
  options: {
    images: { type: 'string', default: '6400' },
    'tfjs-images': { type: 'string', default: '256' },
    'resnet-steps': { type: 'string', default: '2' },
    'resnet-batch': { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
    'tfjs-resnet-batch': { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opts.help) {
  console.log('pnpm bench:train [--images N] [--tfjs-images N] [--resnet-steps N] [--resnet-batch N] [--tfjs-resnet-batch N] [--rounds N] [--json]\n  @cnn on 1 and 2 threads and PyTorch on 1 and 2 threads run interleaved, --rounds times (default 3); medians are printed, ratios are medians of per-round ratios');
  process.exit(0);
}
const IMAGES = Number(opts.images);
const TFJS_IMAGES = Number(opts['tfjs-images']);
const RESNET_STEPS = Number(opts['resnet-steps']);
const RESNET_BATCH = Number(opts['resnet-batch']);
const ROUNDS = Number(opts.rounds);
for (const [name, v] of Object.entries({ images: IMAGES, 'tfjs-images': TFJS_IMAGES, 'resnet-steps': RESNET_STEPS, 'resnet-batch': RESNET_BATCH, rounds: ROUNDS })) {
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`--${name} must be a positive integer, got '${opts[name]}'`);
}
// tfjs-backend-cpu takes seconds per ResNet-18 image: one timed step on a small batch
const TFJS_RESNET_BATCH = Number(opts['tfjs-resnet-batch']);

async function cnnLenet(batch, kernels, data) {
  const net = TrainableNetwork.fromArchitecture(lenet5Architecture, { seed: 1, kernels });
  const opt = new AdamW(net.parameters(), { lr: 1e-3, kernels });
  const size = 1024;
  const step = (start) => {
    const x = data.images.subarray(start * size, (start + batch) * size);
    const loss = softmaxCrossEntropy(net.forward(x, batch, { training: true }), data.labels.subarray(start, start + batch));
    net.zeroGrad();
    loss.backward();
    opt.step();
  };
  step(0); // warm-up
  const steps = Math.max(1, Math.floor(IMAGES / batch));
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) step((s * batch) % (data.count - batch));
  return (steps * batch) / ((performance.now() - t0) / 1000);
}

async function cnnResnet(kernels) {
  const arch = resnet18().architecture;
  const net = TrainableNetwork.fromArchitecture(arch, { seed: 1, kernels, inputShape: [3, 64, 64] });
  const opt = new AdamW(net.parameters(), { lr: 1e-3, kernels });
  const x = Float32Array.from({ length: RESNET_BATCH * 3 * 64 * 64 }, (_, i) => Math.sin(i));
  const labels = Array.from({ length: RESNET_BATCH }, (_, i) => i % 1000);
  const step = () => {
    const loss = softmaxCrossEntropy(net.forward(x, RESNET_BATCH, { training: true }), labels);
    net.zeroGrad();
    loss.backward();
    opt.step();
  };
  step();
  const t0 = performance.now();
  for (let s = 0; s < RESNET_STEPS; s++) step();
  return (RESNET_STEPS * RESNET_BATCH) / ((performance.now() - t0) / 1000);
}

/**
 * tfjs-core's Node bundle registers no gradients, and its ESM gradient modules use extensionless
 * imports Node cannot resolve; esbuild bundles them once into benchmarks/.cache. They register
 * into tfjs's global registry, which every copy of tfjs-core shares.
 */
async function registerTfjsGradients() {
  const { buildSync } = await import('esbuild');
  const require = createRequire(import.meta.url);
  const entry = join(dirname(require.resolve('@tensorflow/tfjs-core/package.json')), 'dist', 'register_all_gradients.js');
  const out = join(dirname(fileURLToPath(import.meta.url)), '.cache', 'tfjs-gradients.mjs');
  mkdirSync(dirname(out), { recursive: true });
  buildSync({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', outfile: out, logLevel: 'error' });
  await import(pathToFileURL(out).href);
}

/** tfjs-core with one backend ('cpu' or 'wasm'), gradients registered. */
async function tfjsWith(backend) {
  const tf = await import('@tensorflow/tfjs-core');
  if (backend === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  else {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'))}/dist/`);
  }
  await registerTfjsGradients();
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend '${backend}' did not initialise`);
  return tf;
}

/** LeNet-5 as @cnn/lenet defines it, NHWC. */
function tfjsLenetModel(tf) {
  const u = (shape, fanIn) => tf.variable(tf.randomUniform(shape, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn)));
  const v = {
    c1w: u([5, 5, 1, 6], 25), c1b: u([6], 25), c3w: u([5, 5, 6, 16], 150), c3b: u([16], 150),
    c5w: u([5, 5, 16, 120], 400), c5b: u([120], 400), f6w: u([120, 84], 120), f6b: u([84], 120), ow: u([84, 10], 84), ob: u([10], 84),
  };
  return {
    inputShape: [32, 32, 1],
    classes: 10,
    forward(x) {
      let y = tf.avgPool(tf.tanh(tf.add(tf.conv2d(x, v.c1w, 1, 'valid'), v.c1b)), 2, 2, 'valid');
      y = tf.avgPool(tf.tanh(tf.add(tf.conv2d(y, v.c3w, 1, 'valid'), v.c3b)), 2, 2, 'valid');
      y = tf.reshape(tf.tanh(tf.add(tf.conv2d(y, v.c5w, 1, 'valid'), v.c5b)), [-1, 120]);
      y = tf.tanh(tf.add(tf.matMul(y, v.f6w), v.f6b));
      return tf.add(tf.matMul(y, v.ow), v.ob);
    },
  };
}

/** torchvision's resnet18 (BasicBlock [2, 2, 2, 2], batch norm in training mode), NHWC, at 64x64. */
function tfjsResnet18Model(tf) {
  const conv = (cin, cout, k) => tf.variable(tf.randomNormal([k, k, cin, cout], 0, Math.sqrt(2 / (k * k * cout))));
  const bn = (c) => ({ gamma: tf.variable(tf.ones([c])), beta: tf.variable(tf.zeros([c])) });
  const batchNorm = (x, p) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return tf.batchNorm(x, mean, variance, p.beta, p.gamma, 1e-5);
  };
  const stem = { w: conv(3, 64, 7), bn: bn(64) };
  const blocks = [];
  let cin = 64;
  for (const [cout, stride] of [[64, 1], [128, 2], [256, 2], [512, 2]]) {
    for (let i = 0; i < 2; i++) {
      const s = i === 0 ? stride : 1;
      const down = s !== 1 || cin !== cout ? { w: conv(cin, cout, 1), bn: bn(cout) } : null;
      blocks.push({ stride: s, w1: conv(cin, cout, 3), bn1: bn(cout), w2: conv(cout, cout, 3), bn2: bn(cout), down });
      cin = cout;
    }
  }
  const fcW = tf.variable(tf.randomUniform([512, 1000], -1 / Math.sqrt(512), 1 / Math.sqrt(512)));
  const fcB = tf.variable(tf.zeros([1000]));
  return {
    inputShape: [64, 64, 3],
    classes: 1000,
    forward(x) {
      let y = tf.relu(batchNorm(tf.conv2d(x, stem.w, 2, [[0, 0], [3, 3], [3, 3], [0, 0]]), stem.bn));
      y = tf.maxPool(tf.pad(y, [[0, 0], [1, 1], [1, 1], [0, 0]], -Infinity), 3, 2, 'valid');
      for (const b of blocks) {
        const pad = [[0, 0], [1, 1], [1, 1], [0, 0]];
        let h = tf.relu(batchNorm(tf.conv2d(y, b.w1, b.stride, pad), b.bn1));
        h = batchNorm(tf.conv2d(h, b.w2, 1, pad), b.bn2);
        const skip = b.down ? batchNorm(tf.conv2d(y, b.down.w, b.stride, 'valid'), b.down.bn) : y;
        y = tf.relu(tf.add(h, skip));
      }
      return tf.add(tf.matMul(tf.mean(y, [1, 2]), fcW), fcB);
    },
  };
}

/** images/s of `steps` Adam steps (tfjs has no AdamW) after one warm-up step, or the error that stopped it. */
async function tfjsTrain(backend, build, batch, steps) {
  try {
    const tf = await tfjsWith(backend);
    const model = build(tf);
    const opt = tf.train.adam(1e-3);
    const x = tf.randomUniform([batch, ...model.inputShape], -1, 1);
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % model.classes), 'int32'), model.classes);
    const step = () => tf.tidy(() => opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.forward(x)), false));
    step();
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) step();
    return (steps * batch) / ((performance.now() - t0) / 1000);
  } catch (e) {
    return `failed: ${String(e.message ?? e).split('\n')[0]}`;
  }
}

const TORCH = `
import sys, time, torch, torchvision
from torch import nn
what, batch, threads, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
if what == 'lenet':
    net = nn.Sequential(nn.Conv2d(1,6,5), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6,16,5), nn.Tanh(), nn.AvgPool2d(2),
                        nn.Conv2d(16,120,5), nn.Tanh(), nn.Flatten(), nn.Linear(120,84), nn.Tanh(), nn.Linear(84,10))
    x = torch.rand(batch, 1, 32, 32) * 2 - 1; classes = 10
else:
    net = torchvision.models.resnet18(); x = torch.rand(batch, 3, 64, 64) * 2 - 1; classes = 1000
y = torch.arange(batch) % classes
opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
def step():
    loss = nn.functional.cross_entropy(net(x), y); opt.zero_grad(); loss.backward(); opt.step()
step()
steps = max(1, count // batch)
t0 = time.perf_counter()
for _ in range(steps): step()
print(steps * batch / (time.perf_counter() - t0))
`;
function torch(what, batch, threads, count) {
  try {
    return Number(execFileSync('/usr/bin/python3', ['-c', TORCH, what, String(batch), String(threads), String(count)], { encoding: 'utf8' }).trim());
  } catch (e) {
    return `failed: ${e.message.split('\n')[0]}`;
  }
}

const load = loadavg()[0];
const kernels = await createWasmTrainKernels();
const kernels2 = await createWasmTrainKernels({ threads: 2 });
const data = await loadFashionMnist('train');

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  return v.length === 0 ? (xs[0] ?? null) : v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
/**
 * ROUNDS rounds of @cnn 1t, torch 1t, @cnn 2t, torch 2t back to back, so each ratio compares
 * runs seconds apart under the same load; a row reports the medians, and the ratios are the
 * medians of the per-round ratios.
 */
async function interleaved(cnn1, torch1, cnn2, torch2) {
  const r = { cnn1: [], torch1: [], cnn2: [], torch2: [] };
  for (let i = 0; i < ROUNDS; i++) {
    r.cnn1.push(await cnn1());
    r.torch1.push(torch1());
    r.cnn2.push(await cnn2());
    r.torch2.push(torch2());
  }
  const ratios = (a, b) => median(a.map((x, i) => (typeof x === 'number' && typeof b[i] === 'number' ? x / b[i] : null)).filter((x) => x !== null));
  return { cnn1: median(r.cnn1), torch1: median(r.torch1), cnn2: median(r.cnn2), torch2: median(r.torch2), ratio1: ratios(r.cnn1, r.torch1), ratio2: ratios(r.cnn2, r.torch2), rounds: r };
}

const rows = [];
for (const batch of [64, 256]) {
  const m = await interleaved(
    () => cnnLenet(batch, kernels, data),
    () => torch('lenet', batch, 1, IMAGES),
    () => cnnLenet(batch, kernels2, data),
    () => torch('lenet', batch, 2, IMAGES),
  );
  const steps = Math.max(1, Math.floor(TFJS_IMAGES / batch));
  const tfjs = await tfjsTrain('cpu', tfjsLenetModel, batch, steps);
  const tfjsWasm = await tfjsTrain('wasm', tfjsLenetModel, batch, steps);
  rows.push({ workload: `LeNet-5 epoch, batch ${batch}`, ...m, tfjs, tfjsWasm });
}
const rn = await interleaved(
  () => cnnResnet(kernels),
  () => torch('resnet', RESNET_BATCH, 1, RESNET_BATCH * RESNET_STEPS),
  () => cnnResnet(kernels2),
  () => torch('resnet', RESNET_BATCH, 2, RESNET_BATCH * RESNET_STEPS),
);
kernels2.dispose();
rows.push({
  workload: `ResNet-18 step 64x64, batch ${RESNET_BATCH} (tfjs: ${TFJS_RESNET_BATCH})`,
  ...rn,
  tfjs: await tfjsTrain('cpu', tfjsResnet18Model, TFJS_RESNET_BATCH, 1),
  tfjsWasm: await tfjsTrain('wasm', tfjsResnet18Model, TFJS_RESNET_BATCH, 1),
});

if (opts.json) {
  console.log(JSON.stringify({ loadAverage: load, cpu: cpus()[0]?.model, kernels: [kernels.name, kernels2.name], rows }, null, 2));
} else {
  const f = (x) => (x === null ? 'n/a' : typeof x === 'number' ? (x < 10 ? x.toPrecision(2) : x.toFixed(0)) : x);
  const r = (a, b) => (typeof a === 'number' && typeof b === 'number' ? (a / b).toFixed(2) : 'n/a');
  const rr = (x) => (typeof x === 'number' ? x.toFixed(2) : 'n/a');
  console.log(`images/s (higher is better), medians of ${ROUNDS} interleaved rounds; load average ${load.toFixed(1)} on ${cpus().length} cores (${cpus()[0]?.model}); @cnn kernels ${kernels.name} and ${kernels2.name}`);
  const header = ['workload', '@cnn 1t', '@cnn 2t', 'tfjs-cpu', 'tfjs-wasm', 'torch 1t', 'torch 2t', '@cnn/torch 1t', '@cnn/torch 2t', '@cnn/tfjs-cpu'];
  const wasmErrors = new Set(rows.map((x) => x.tfjsWasm).filter((v) => typeof v === 'string'));
  const table = rows.map((x) => [x.workload, f(x.cnn1), f(x.cnn2), f(x.tfjs), typeof x.tfjsWasm === 'string' ? 'fails (below)' : f(x.tfjsWasm), f(x.torch1), f(x.torch2), rr(x.ratio1), rr(x.ratio2), r(x.cnn1, x.tfjs)]);
  const w = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  console.log(header.map((h, i) => h.padEnd(w[i])).join('  '));
  for (const t of table) console.log(t.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  '));
  for (const e of wasmErrors) console.log(`tfjs-wasm: ${e}`);
}
