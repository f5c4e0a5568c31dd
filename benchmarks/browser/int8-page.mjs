// The page of browser-int8.mjs: one model's fp32 and int8 forward passes on the wasm kernels in
// this browser, one thread, timed alternately. Bundled by browser-int8.mjs; not run directly.
import { calibrate } from '@cnn/core';
import { createWasmBackend } from '@cnn/kernels/wasm';
import { createInt8WasmBackend } from '@cnn/kernels/wasm/q8';
import { mobilenet_v2 } from '@cnn/mobilenet';
import { resnet18, resnet50 } from '@cnn/resnet';

const MODELS = { resnet18, resnet50, mobilenet_v2 };

function input(n, seed) {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
}

const stats = (t) => {
  const s = [...t].sort((a, b) => a - b);
  return { min: s[0], median: s[s.length >> 1] };
};

/** An op's family for the --profile table: convolutions by shape, other ops by kind. */
function family(op) {
  if (op.kind !== 'conv2d' && op.kind !== 'q8conv2d') return op.kind.replace(/^q8/, '');
  const inC = op.input.shape[3];
  const k = `${op.kernel[0]}x${op.kernel[1]}`;
  if (op.groups > 1 && op.groups === inC) return `depthwise ${k}`;
  if (k === '1x1') return 'conv 1x1';
  return inC < 8 ? `stem ${k}` : `conv ${k}`;
}

/** Each op's best time of `passes` profiled passes, op by op: ms by family, and each op with its shape. */
async function profileOps(exe, plan, x, passes) {
  const best = plan.ops.map(() => Infinity);
  for (let p = 0; p < passes; p++) (await exe.profile(x)).forEach((ms, i) => (best[i] = Math.min(best[i], ms)));
  const families = {};
  plan.ops.forEach((op, i) => (families[family(op)] = (families[family(op)] ?? 0) + best[i]));
  const ops = plan.ops.map((op, i) => ({ op: `${family(op)} ${op.input?.shape?.slice(1).join('x') ?? ''}->${op.output?.shape?.[3] ?? ''}${op.stride?.[0] > 1 ? ' s2' : ''}`, ms: best[i] }));
  return { families, ops };
}

globalThis.runInt8 = async ({ name, runs, size, profile }) => {
  const model = MODELS[name]().useGeneratedWeights(1);
  const fp32Backend = createWasmBackend({ threads: 1 });
  const n = 3 * size * size;
  // reduce_range: 7-bit activation codes, the operand relaxed SIMD's i8 dot product takes
  const { plan } = await calibrate(model, fp32Backend, [input(n, 1), input(n, 2)], { inputSize: [size, size], reduceRange: true });
  const fp32Plan = model.plan({ inputSize: [size, size] });
  const fp32 = await fp32Backend.compile(fp32Plan);
  const binary = new Uint8Array(await (await fetch('/cnn_q8-relaxed.wasm')).arrayBuffer());
  const int8 = await createInt8WasmBackend(binary).compile(plan);
  const x = input(n, 3);
  const [a] = await fp32.run(x);
  const [b] = await int8.run(x);
  let worst = 0;
  let top = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    top = Math.max(top, Math.abs(a[i]));
  }
  const argmax = (v) => v.indexOf(Math.max(...v));
  const t = { fp32: [], int8: [] };
  for (let r = 0; r < runs; r++) {
    for (const [k, exe] of r % 2 ? [['int8', int8], ['fp32', fp32]] : [['fp32', fp32], ['int8', int8]]) {
      const s = performance.now();
      await exe.run(x);
      t[k].push(performance.now() - s);
    }
  }
  const profiled = profile ? { fp32: await profileOps(fp32, fp32Plan, x, 5), int8: await profileOps(int8, plan, x, 5) } : undefined;
  const result = {
    model: name,
    size,
    fp32Variant: fp32Backend.variant,
    fusedDot: int8.fusedDot === true,
    fp32: stats(t.fp32),
    int8: stats(t.int8),
    logitsError: worst / top,
    top1Same: argmax(a) === argmax(b),
    families: profiled && { fp32: profiled.fp32.families, int8: profiled.int8.families },
    ops: profile === 'ops' ? { fp32: profiled.fp32.ops, int8: profiled.int8.ops } : undefined,
  };
  fp32.dispose();
  int8.dispose();
  return result;
};
