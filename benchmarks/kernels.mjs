// Microbenchmark of the wasm kernel families (conv 1x1 / 3x3 / 7x7, depthwise 3x3 / 5x5,
// linear) on the layer shapes of ResNet-50, MobileNetV2 and EfficientNet-B0 at 224x224,
// batch 1, for each variant binary. Prints ms per op, GFLOP/s, and the share of the ceiling:
// what the same binary's igemm microkernel reaches on L1-resident operands (times the threads).
// Also prints the bare multiply-add peak of each instruction set (what relaxed SIMD can gain here).
// Run: pnpm --filter @cnn/benchmarks bench:kernels [-- --variants simd,simd-threads --threads 2 --families dw3x3]
// Relaxed-SIMD variants need the engine flag in Node 20: node --experimental-wasm-relaxed-simd kernels.mjs
// The machine may be shared and noisy: compare rows of one run, and repeat.
// --winograd on,off times each variant twice, the second time with Winograd 3x3 convolutions off.
import { validatePlan } from '@cnn/core';
import { createWasmBackend, hasRelaxedSimd, loadKernelModule } from '@cnn/kernels/wasm';
import { randomFloats } from '@cnn/kernels/testing';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const threads = Number(args.threads ?? 2);
const defaultVariants = hasRelaxedSimd() ? 'simd,relaxed-simd,simd-threads,relaxed-simd-threads' : 'simd,simd-threads';
const variants = (args.variants ?? defaultVariants).split(',');
const repeat = Number(args.repeat ?? 8);
const runs = Number(args.runs ?? 5);


// [label, h(=w), inC, outC, kernel, stride, groups ('dw' = depthwise), residual]
const FAMILIES = {
  'conv 1x1': [
    ['ResNet-50 layer1 expand', 56, 64, 256, 1, 1, 1, true],
    ['ResNet-50 layer2 reduce', 28, 512, 128, 1, 1],
    ['ResNet-50 layer3 reduce', 14, 1024, 256, 1, 1],
    ['ResNet-50 layer4 reduce', 7, 2048, 512, 1, 1],
    ['ResNet-50 downsample s2', 56, 256, 512, 1, 2],
    ['MobileNetV2 expand 24->144', 56, 24, 144, 1, 1],
    ['MobileNetV2 project 960->160', 7, 960, 160, 1, 1],
  ],
  'conv 3x3': [
    ['ResNet-50 layer1', 56, 64, 64, 3, 1],
    ['ResNet-50 layer2', 28, 128, 128, 3, 1],
    ['ResNet-50 layer3', 14, 256, 256, 3, 1],
    ['ResNet-50 layer4', 7, 512, 512, 3, 1],
    ['VGG-16 conv1_2', 224, 64, 64, 3, 1],
    ['DenseNet-121 block1 128->32', 56, 128, 32, 3, 1],
    ['DenseNet-121 block4 128->32', 7, 128, 32, 3, 1],
    ['GoogLeNet 3a 16->32', 28, 16, 32, 3, 1],
    ['ResNet-50 layer3 s2', 28, 256, 256, 3, 2],
    ['MobileNetV2 stem s2', 224, 3, 32, 3, 2],
  ],
  'conv 7x7': [['ResNet-50 stem s2', 224, 3, 64, 7, 2]],
  'dw 3x3': [
    ['MobileNetV2 112x112x32', 112, 32, 32, 3, 1, 'dw'],
    ['MobileNetV2 112x112x96 s2', 112, 96, 96, 3, 2, 'dw'],
    ['MobileNetV2 56x56x144', 56, 144, 144, 3, 1, 'dw'],
    ['MobileNetV2 28x28x192', 28, 192, 192, 3, 1, 'dw'],
    ['MobileNetV2 14x14x576', 14, 576, 576, 3, 1, 'dw'],
    ['MobileNetV2 7x7x960', 7, 960, 960, 3, 1, 'dw'],
  ],
  'dw 5x5': [
    ['EfficientNet-B0 56x56x144 s2', 56, 144, 144, 5, 2, 'dw'],
    ['EfficientNet-B0 28x28x240', 28, 240, 240, 5, 1, 'dw'],
    ['EfficientNet-B0 14x14x480', 14, 480, 480, 5, 1, 'dw'],
    ['EfficientNet-B0 7x7x1152', 7, 1152, 1152, 5, 1, 'dw'],
  ],
  linear: [
    ['ResNet-50 fc 2048->1000', 1, 2048, 1000, 0],
    ['MobileNetV2 fc 1280->1000', 1, 1280, 1000, 0],
  ],
};
const families = (args.families ? args.families.split(',') : Object.keys(FAMILIES)).map((f) => f.replace(/^dw(\d)/, 'dw $1'));

function slot(state, shape) {
  const offset = Math.ceil(state.size / 16) * 16;
  const size = shape.reduce((a, b) => a * b, 1);
  state.size = offset + size;
  return { id: state.id++, shape, offset, size };
}

/** A plan running one layer `repeat` times, so copying the input in is amortised away. */
function layerPlan([, hw, inC, outC, k, s, groups = 1, residual = false]) {
  const st = { size: 0, id: 0 };
  if (k === 0) {
    const x = slot(st, [1, 1, 1, inC]);
    const y = slot(st, [1, 1, 1, outC]);
    const op = { kind: 'linear', input: x, output: y, weight: randomFloats(inC * outC, 1, -0.02, 0.02), bias: randomFloats(outC, 2), activation: 'none' };
    return { plan: validatePlan({ batch: 1, input: x, outputs: [y], ops: Array(repeat).fill(op), arenaSize: st.size }), flops: 2 * inC * outC };
  }
  const g = groups === 'dw' ? inC : groups;
  const p = (k - 1) / 2;
  const o = Math.floor((hw + 2 * p - k) / s) + 1;
  const x = slot(st, [1, hw, hw, inC]);
  const y = slot(st, [1, o, o, outC]);
  const r = residual ? slot(st, [1, o, o, outC]) : undefined;
  const fanIn = (inC / g) * k * k;
  const op = {
    kind: 'conv2d', input: x, output: y, residual: r,
    weight: randomFloats(outC * fanIn, 3, -Math.sqrt(3 / fanIn), Math.sqrt(3 / fanIn)), bias: randomFloats(outC, 4, -0.1, 0.1),
    kernel: [k, k], stride: [s, s], padding: [p, p], dilation: [1, 1], groups: g, activation: g === 1 ? 'relu' : 'relu6',
  };
  return { plan: validatePlan({ batch: 1, input: x, outputs: [y], ops: Array(repeat).fill(op), arenaSize: st.size }), flops: 2 * y.size * fanIn };
}

async function bestMs(exe, input) {
  await exe.run(input);
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await exe.run(input);
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

/**
 * GFLOP/s of one thread in the single-threaded binary of instruction set `isa`:
 * - igemm: the igemm microkernel on L1-resident operands (`bench_igemm_peak`: no memory
 *   traffic, no epilogue), the ceiling the kernels are measured against;
 * - madd: the bare multiply-add peak (`bench_madd_peak`: 12 register chains, no loads), what
 *   the CPU itself allows this instruction set (a multiply and an add, or relaxed SIMD's FMA).
 */
async function ceilingGflops(isa) {
  const instance = new WebAssembly.Instance(await loadKernelModule(undefined, isa));
  const { memory, __heap_base, bench_igemm_peak, bench_madd_peak } = instance.exports;
  const k = 256;
  const table = Math.ceil(__heap_base.value / 64) * 64;
  memory.grow(1);
  // Normal floats (denormal operands would measure the CPU's slow path instead).
  // 4 pixel rows of k floats, then k x 8 weights.
  new Float32Array(memory.buffer, table, (4 + 8) * k).fill(1e-3);
  const best = (f) => {
    let ms = Infinity;
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      f();
      ms = Math.min(ms, performance.now() - t);
    }
    return ms;
  };
  const iters = 20_000;
  const rounds = 2_000_000;
  return {
    igemm: (iters * 64 * k) / best(() => bench_igemm_peak(table, k, iters)) / 1e6,
    madd: (rounds * 96) / best(() => bench_madd_peak(rounds)) / 1e6,
  };
}

const pad = (s, n, left = false) => (left ? String(s).padEnd(n) : String(s).padStart(n));
const winogradModes = (args.winograd ?? 'on').split(',');
const peaksByIsa = {};
for (const [variant, mode] of variants.flatMap((v) => winogradModes.map((m) => [v, m]))) {
  const threaded = variant.endsWith('-threads');
  const isa = variant.replace(/-threads$/, '');
  const backend = createWasmBackend({ relaxedSimd: isa === 'relaxed-simd', threads: threaded ? threads : 1, winograd: mode !== 'off' });
  if (backend.variant !== variant) {
    console.log(`\n${variant}: unavailable here (got ${backend.variant}${backend.threadsFallbackReason ? `: ${backend.threadsFallbackReason}` : ''})`);
    continue;
  }
  const peaks = await ceilingGflops(isa);
  peaksByIsa[isa] = peaks;
  const ceiling = peaks.igemm * backend.threads;
  console.log(
    `\n${variant}${mode === 'off' ? ' (winograd off)' : ''}, ${backend.threads} thread${backend.threads > 1 ? 's' : ''}: ` +
      `ceiling ${ceiling.toFixed(1)} GFLOP/s (igemm microkernel on L1-resident operands${backend.threads > 1 ? `, x${backend.threads}` : ''}); ` +
      `bare multiply-add peak ${peaks.madd.toFixed(1)} GFLOP/s per thread`,
  );
  console.log(`${pad('family', 9, true)} ${pad('shape', 30, true)} ${pad('ms/op', 8)} ${pad('GFLOP/s', 8)} ${pad('% ceil', 7)}`);
  for (const family of families) {
    let flopsSum = 0;
    let msSum = 0;
    for (const layer of FAMILIES[family] ?? []) {
      const { plan, flops } = layerPlan(layer);
      const exe = await backend.compile(plan);
      const ms = (await bestMs(exe, randomFloats(plan.input.size, 5))) / repeat;
      exe.dispose();
      const gflops = flops / ms / 1e6;
      flopsSum += flops;
      msSum += ms;
      console.log(`${pad(family, 9, true)} ${pad(layer[0], 30, true)} ${pad(ms.toFixed(3), 8)} ${pad(gflops.toFixed(1), 8)} ${pad(((100 * gflops) / ceiling).toFixed(0), 7)}`);
    }
    const gflops = flopsSum / msSum / 1e6;
    console.log(`${pad(family, 9, true)} ${pad('(all shapes above)', 30, true)} ${pad(msSum.toFixed(3), 8)} ${pad(gflops.toFixed(1), 8)} ${pad(((100 * gflops) / ceiling).toFixed(0), 7)}`);
  }
}

if (peaksByIsa.simd && peaksByIsa['relaxed-simd']) {
  const r = peaksByIsa['relaxed-simd'];
  const p = peaksByIsa.simd;
  console.log(
    `\nrelaxed SIMD over simd128 on this CPU: bare multiply-add peak ${(r.madd / p.madd).toFixed(2)}x, ` +
      `igemm microkernel ${(r.igemm / p.igemm).toFixed(2)}x (FMA only pays where the CPU runs fewer multiply-adds ` +
      'per cycle as separate instructions than fused)',
  );
}
