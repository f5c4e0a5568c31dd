// Int8 against fp32, kernel by kernel, one thread: the int8 wasm kernels (cnn_q8.wasm, and
// cnn_q8-relaxed.wasm where the engine runs relaxed SIMD) and @cnn's fp32 wasm kernels on the
// same layer shapes (ResNet-50 1x1 and 3x3, MobileNetV2 depthwise), interleaved round by round
// so that load from other processes hits every row alike. Prints the best ms per op, GOPS
// (2 ops per multiply-add) and fp32 ms / int8 ms.
// Run: pnpm --filter @cnn/benchmarks bench:q8 [-- --rounds 5 --shapes 1x1,dw]
// Relaxed SIMD in Node 20: node --experimental-wasm-relaxed-simd kernels-q8.mjs
// The int8 relaxed rows use input codes in [0, 127] (what its i7 operand needs: torch fbgemm's
// reduce_range); "q8-relaxed, codes to 255" shows its plain-SIMD fallback.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { validatePlan } from '@cnn/core';
import { q8 } from '@cnn/kernels/js';
import { createWasmBackend, hasRelaxedSimd } from '@cnn/kernels/wasm';
import { instantiateQ8Kernels } from '@cnn/kernels/wasm/q8';
import { randomFloats } from '@cnn/kernels/testing';

const HELP = `Usage: kernels-q8.mjs [--rounds N] [--repeat N] [--shapes LIST]
  --rounds N     interleaved rounds; each row reports its best (default 5)
  --repeat N     kernel calls per timing (default 4)
  --shapes LIST  comma-separated families: 1x1, 3x3, dw (default all)
  --help         this text`;
let opts;
try {
  opts = parseArgs({
    // pnpm passes the '--' of `pnpm run x -- --flag` through
    args: process.argv.slice(2).filter((a, i) => i > 0 || a !== '--'),
    options: { rounds: { type: 'string', default: '5' }, repeat: { type: 'string', default: '4' }, shapes: { type: 'string', default: '1x1,3x3,dw' }, help: { type: 'boolean' } },
    strict: true,
  }).values;
} catch (e) {
  console.error(`kernels-q8: ${e.message}\n${HELP}`);
  process.exit(2);
}
if (opts.help) {
  console.log(HELP);
  process.exit(0);
}
const rounds = Number(opts.rounds);
const repeat = Number(opts.repeat);
for (const [name, v] of [['rounds', rounds], ['repeat', repeat]]) {
  if (!(Number.isInteger(v) && v >= 1)) {
    console.error(`kernels-q8: --${name} expects a positive integer, got '${opts[name]}'`);
    process.exit(2);
  }
}

// [label, family, h(=w), inC, outC, kernel, stride]
const SHAPES = [
  ['ResNet-50 56x56x64->256 1x1', '1x1', 56, 64, 256, 1, 1],
  ['ResNet-50 28x28x512->128 1x1', '1x1', 28, 512, 128, 1, 1],
  ['ResNet-50 14x14x1024->256 1x1', '1x1', 14, 1024, 256, 1, 1],
  ['ResNet-50 28x28x128->128 3x3', '3x3', 28, 128, 128, 3, 1],
  ['MobileNetV2 56x56x144 dw s1', 'dw', 56, 144, 144, 3, 1],
  ['MobileNetV2 112x112x96 dw s2', 'dw', 112, 96, 96, 3, 2],
];
const families = opts.shapes.split(',');
const unknown = families.filter((f) => !SHAPES.some((s) => s[1] === f));
if (unknown.length) {
  console.error(`kernels-q8: --shapes expects 1x1, 3x3 or dw, got '${unknown.join(',')}'`);
  process.exit(2);
}


const require = createRequire(import.meta.url);
const binary = (file) => readFileSync(require.resolve(`@cnn/kernels/wasm/${file}`));

/** The fp32 op in a plan that runs it `repeat` times (as kernels.mjs does). */
function fp32Plan([, family, hw, inC, outC, k, s]) {
  const p = (k - 1) / 2;
  const o = Math.floor((hw + 2 * p - k) / s) + 1;
  const groups = family === 'dw' ? inC : 1;
  const x = { id: 0, shape: [1, hw, hw, inC], offset: 0, size: hw * hw * inC };
  const yOff = Math.ceil(x.size / 16) * 16;
  const y = { id: 1, shape: [1, o, o, outC], offset: yOff, size: o * o * outC };
  const fanIn = (inC / groups) * k * k;
  const op = {
    kind: 'conv2d', input: x, output: y, weight: randomFloats(outC * fanIn, 3, -0.1, 0.1), bias: randomFloats(outC, 4, -0.1, 0.1),
    kernel: [k, k], stride: [s, s], padding: [p, p], dilation: [1, 1], groups, activation: 'relu',
  };
  // backends run checked plans only (plan-check.ts)
  return { plan: validatePlan({ batch: 1, input: x, outputs: [y], ops: Array(repeat).fill(op), arenaSize: yOff + y.size }), macs: y.size * fanIn };
}

function q8Params([, family, hw, inC, outC, k, s], maxCode) {
  const groups = family === 'dw' ? inC : 1;
  const fanIn = (inC / groups) * k * k;
  const data = Uint8Array.from(randomFloats(hw * hw * inC, 5, 0, maxCode + 1), Math.floor);
  const input = { data, shape: [1, hw, hw, inC], quant: { scale: 0.02, zeroPoint: Math.min(maxCode, 64) } };
  const { weight, scales } = q8.quantizeWeightsPerChannel(randomFloats(outC * fanIn, 3, -0.1, 0.1), outC);
  const output = { scale: 0.05, zeroPoint: 10 };
  const p = (k - 1) / 2;
  return {
    input, weight, weightScales: scales, bias: q8.quantizeBias(randomFloats(outC, 4, -0.1, 0.1), 0.02, scales), outChannels: outC,
    kernel: [k, k], stride: [s, s], padding: [p, p], groups, output, clamp: q8.activationBounds('relu', output),
  };
}

const relaxed = hasRelaxedSimd();
const contenders = [];
for (const isa of relaxed ? ['simd', 'relaxed-simd'] : ['simd']) {
  const backend = createWasmBackend({ relaxedSimd: isa === 'relaxed-simd', threads: 1 });
  contenders.push({ name: `fp32 ${isa}`, kind: 'fp32', backend });
}
contenders.push({ name: 'q8 (simd128)', kind: 'q8', kernels: await instantiateQ8Kernels(binary('cnn_q8.wasm')), maxCode: 255 });
if (relaxed) {
  const kernels = await instantiateQ8Kernels(binary('cnn_q8-relaxed.wasm'));
  contenders.push({ name: 'q8-relaxed, codes to 127', kind: 'q8', kernels, maxCode: 127, wantRelaxed: true });
  contenders.push({ name: 'q8-relaxed, codes to 255', kind: 'q8', kernels: await instantiateQ8Kernels(binary('cnn_q8-relaxed.wasm')), maxCode: 255 });
}

const pad = (s, n, left = false) => (left ? String(s).padEnd(n) : String(s).padStart(n));
console.log(`one thread, best of ${rounds} interleaved rounds, ${repeat} calls per timing; relaxed SIMD ${relaxed ? 'on' : 'unavailable (node --experimental-wasm-relaxed-simd)'}`);
console.log(`${pad('shape', 31, true)} ${pad('contender', 25, true)} ${pad('ms/op', 8)} ${pad('GOPS', 7)} ${pad('fp32 simd / this', 17)}`);
for (const shape of SHAPES.filter((s) => families.includes(s[1]))) {
  const runners = [];
  let macs = 0;
  for (const c of contenders) {
    if (c.kind === 'fp32') {
      const { plan, macs: m } = fp32Plan(shape);
      macs = m;
      const exe = await c.backend.compile(plan);
      const input = randomFloats(plan.input.size, 5, 0, 1);
      runners.push({ c, time: async () => { const t = performance.now(); await exe.run(input); return (performance.now() - t) / repeat; }, dispose: () => exe.dispose() });
    } else {
      c.kernels.reset();
      const prepared = c.kernels.prepareConv2d(q8Params(shape, c.maxCode));
      const usedRelaxed = prepared.execute();
      if (c.wantRelaxed && !usedRelaxed && prepared.kernel === 'igemm') throw new Error(`${c.name}: expected the relaxed-SIMD path`);
      runners.push({ c, time: async () => { const t = performance.now(); for (let i = 0; i < repeat; i++) prepared.execute(); return (performance.now() - t) / repeat; }, dispose() {} });
    }
  }
  const best = runners.map(() => Infinity);
  for (const r of runners) await r.time(); // warm up (tier-up)
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < runners.length; i++) best[i] = Math.min(best[i], await runners[i].time());
  }
  runners.forEach((r) => r.dispose());
  const fp32Simd = best[0];
  runners.forEach((r, i) => {
    console.log(`${pad(i === 0 ? shape[0] : '', 31, true)} ${pad(r.c.name, 25, true)} ${pad(best[i].toFixed(3), 8)} ${pad(((2 * macs) / best[i] / 1e6).toFixed(1), 7)} ${pad((fp32Simd / best[i]).toFixed(2) + 'x', 17)}`);
  });
}
