// Where one model's time goes on the wasm backend: every op timed on its own (the best of
// several passes), summed by family (1x1 / 3x3 Winograd / 3x3 direct / depthwise k x k /
// linear / SE gating / ...), with each family's share, GFLOP/s, and the slowest single ops.
// Run: pnpm --filter @cnn/benchmarks bench:profile [-- --model efficientnet_b0 --passes 20 --top 12 --threads 1 --winograd accurate|fast|off --int8]
// --int8: the model calibrated with reduce_range on two generated inputs, on the int8 binary
// (cnn_q8-relaxed.wasm where relaxed SIMD runs: node --experimental-wasm-relaxed-simd in Node 20).
// Op-by-op timing adds a call per op, so the total is a little above a plain forward pass.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { calibrate, counterInput } from '@cnn/core';
import { findModel } from '@cnn/cli';
import { createWasmBackend, hasRelaxedSimd } from '@cnn/kernels/wasm';
import { createInt8WasmBackend } from '@cnn/kernels/wasm/q8';
import { winogradTileSides } from '@cnn/kernels/testing';

const usage = 'node benchmarks/profile.mjs [--model efficientnet_b0] [--passes 20] [--top 12] [--threads 1] [--winograd accurate|fast|off] [--int8]';
let args;
try {
  ({ values: args } = parseArgs({
    // `pnpm bench:profile -- --flag` hands the `--` on
    args: process.argv.slice(2).filter((a, i) => i > 0 || a !== '--'),
    options: {
      model: { type: 'string', default: 'efficientnet_b0' },
      passes: { type: 'string', default: '20' },
      top: { type: 'string', default: '12' },
      threads: { type: 'string', default: '1' },
      winograd: { type: 'string', default: 'accurate' },
      int8: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  }));
} catch (e) {
  console.error(`profile: ${e.message}\n${usage}`);
  process.exit(2);
}
if (args.help) {
  console.log(usage);
  process.exit(0);
}
const name = args.model;
const [passes, top, threads] = [args.passes, args.top, args.threads].map(Number);
for (const [flag, v] of [['--passes', passes], ['--top', top], ['--threads', threads]]) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(`profile: ${flag} expects a positive integer, got '${args[flag.slice(2)]}'\n${usage}`);
    process.exit(2);
  }
}
if (!['accurate', 'fast', 'off'].includes(args.winograd)) {
  console.error(`profile: --winograd expects accurate, fast or off, got '${args.winograd}'\n${usage}`);
  process.exit(2);
}
const winograd = args.winograd === 'off' ? false : args.winograd;

const model = findModel(name).create().useGeneratedWeights(1);
const backend = createWasmBackend({ threads, winograd });
const shape = [1, ...model.architecture.inputShape];
// The plan's input is NHWC and this is NCHW data: the values do not matter for timing.
const input = counterInput(shape, 1);
const int8 = args.int8;
const binaryFile = hasRelaxedSimd() ? 'cnn_q8-relaxed.wasm' : 'cnn_q8.wasm';
const plan = int8 ? (await calibrate(model, backend, [counterInput(shape, 2), counterInput(shape, 3)], { reduceRange: true })).plan : model.plan();
const exe = int8
  ? await createInt8WasmBackend(readFileSync(createRequire(import.meta.url).resolve(`@cnn/kernels/wasm/${binaryFile}`))).compile(plan)
  : await backend.compile(plan);
const tileSides = int8 ? plan.ops.map(() => undefined) : winogradTileSides(plan.ops, winograd);

/** Family and multiply-adds of one op. */
function describe(op, tileSide) {
  const out = op.output.shape;
  const outPixels = out.length === 4 ? out[0] * out[1] * out[2] : out[0];
  switch (op.kind.replace(/^q8/, '')) {
    case 'conv2d': {
      const [kh, kw] = op.kernel;
      const inC = op.input.shape[3];
      const outC = out[3];
      const macs = outPixels * outC * (inC / op.groups) * kh * kw;
      if (op.groups === inC && op.groups === outC && op.groups > 1) return [`depthwise ${kh}x${kw}${op.stride[0] > 1 ? ' s2' : ''}`, macs];
      if (kh === 1 && kw === 1) return ['conv 1x1', macs];
      if (tileSide) return [`conv 3x3 winograd F(${tileSide},3)`, macs];
      return [`conv ${kh}x${kw}${op.groups > 1 ? ' grouped' : ''}`, macs];
    }
    case 'linear':
      return [out[0] === 1 && op.input.shape.length === 4 ? 'linear (1x1 on pooled)' : 'linear', op.weight.length];
    case 'scaleChannels':
      return ['scale channels (SE gate)', 0];
    case 'pool2d':
      return [`${op.mode ?? 'pool'} pool`, 0];
    case 'activation':
      return [`activation ${op.activation}`, 0];
    default:
      return [op.kind, 0];
  }
}

await exe.run(input);
const best = new Array(plan.ops.length).fill(Infinity);
for (let p = 0; p < passes; p++) {
  const ms = await exe.profile(input);
  ms.forEach((m, i) => (best[i] = Math.min(best[i], m)));
}
const total = best.reduce((a, b) => a + b, 0);
const families = new Map();
const ops = plan.ops.map((op, i) => {
  const [family, macs] = describe(op, tileSides[i]);
  const f = families.get(family) ?? { ms: 0, macs: 0, count: 0 };
  f.ms += best[i];
  f.macs += macs;
  f.count++;
  families.set(family, f);
  return { i, family, macs, ms: best[i], shape: `${op.input.shape.join('x')} -> ${op.output.shape.join('x')}` };
});

const pad = (s, n) => String(s).padStart(n);
const engine = int8 ? `int8 ${binaryFile} (1 thread, 7-bit codes${exe.fusedDot ? ', fused dot' : ''})` : `${backend.variant} (${backend.threads} thread${backend.threads > 1 ? 's' : ''})`;
console.log(`${name} on ${engine}, ${plan.ops.length} ops, best of ${passes} op-by-op passes: ${total.toFixed(2)} ms`);
console.log(`${'family'.padEnd(28)} ${pad('ops', 4)} ${pad('ms', 8)} ${pad('share', 6)} ${pad('GMACs', 7)} ${pad(int8 ? 'GOPS' : 'GFLOP/s', 8)}`);
for (const [family, f] of [...families].sort((a, b) => b[1].ms - a[1].ms)) {
  const gflops = f.macs ? ((2 * f.macs) / f.ms / 1e6).toFixed(1) : '';
  console.log(`${family.padEnd(28)} ${pad(f.count, 4)} ${pad(f.ms.toFixed(3), 8)} ${pad(((100 * f.ms) / total).toFixed(1) + '%', 6)} ${pad((f.macs / 1e9).toFixed(3), 7)} ${pad(gflops, 8)}`);
}
console.log(`\nslowest ${top} ops`);
for (const o of [...ops].sort((a, b) => b.ms - a.ms).slice(0, top)) {
  const gflops = o.macs ? ((2 * o.macs) / o.ms / 1e6).toFixed(1) : '';
  console.log(`${pad(o.i, 4)} ${o.family.padEnd(28)} ${o.shape.padEnd(34)} ${pad(o.ms.toFixed(3), 7)} ms ${pad(gflops, 6)} ${int8 ? 'GOPS' : 'GFLOP/s'}`);
}
exe.dispose();
