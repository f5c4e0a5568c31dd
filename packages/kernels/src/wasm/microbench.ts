// Microbenchmark of the wasm kernels on ResNet-50's layer shapes (224x224, batch 1): prints a
// table of per-shape times and GFLOP/s, then the whole network end to end.
// Run: bundle with esbuild (alias @cnn/core to its source) and `node out.mjs [path/to/cnn_kernels.wasm]`.
import type { Activation, Backend, Conv2dOp, ExecutionPlan, PlanOp, Slot } from '@cnn/core';
import { createWasmBackend } from './backend.js';
import { randomFloats } from './test-helpers.js';

class PlanBuilder {
  size = 0;
  ops: PlanOp[] = [];
  private id = 0;
  private seed = 1;
  slot(shape: [number, number, number, number]): Slot {
    const offset = Math.ceil(this.size / 16) * 16;
    const size = shape[0] * shape[1] * shape[2] * shape[3];
    this.size = offset + size;
    return { id: this.id++, shape, offset, size };
  }
  conv(x: Slot, outC: number, k: number, s: number, activation: Activation, residual?: Slot, groups = 1): Slot {
    const [n, h, w, c] = x.shape;
    const p = (k - 1) / 2;
    const oh = Math.floor((h + 2 * p - k) / s) + 1;
    const ow = Math.floor((w + 2 * p - k) / s) + 1;
    const y = this.slot([n, oh, ow, outC]);
    const fanIn = (c / groups) * k * k;
    const op: Conv2dOp = {
      kind: 'conv2d', input: x, output: y, residual,
      weight: randomFloats(outC * fanIn, this.seed++, -Math.sqrt(3 / fanIn), Math.sqrt(3 / fanIn)),
      bias: randomFloats(outC, this.seed++, -0.1, 0.1),
      kernel: [k, k], stride: [s, s], padding: [p, p], dilation: [1, 1], groups, activation,
    };
    this.ops.push(op);
    return y;
  }
}

function resnet50(): { plan: ExecutionPlan; convs: Conv2dOp[] } {
  const b = new PlanBuilder();
  const input = b.slot([1, 224, 224, 3]);
  const stem = b.conv(input, 64, 7, 2, 'relu');
  let x = b.slot([1, 56, 56, 64]);
  b.ops.push({ kind: 'pool2d', mode: 'max', input: stem, output: x, kernel: [3, 3], stride: [2, 2], padding: [1, 1], countIncludePad: true, activation: 'none' });
  for (const [width, blocks, stride] of [[64, 3, 1], [128, 4, 2], [256, 6, 2], [512, 3, 2]]) {
    for (let i = 0; i < blocks; i++) {
      const s = i === 0 ? stride : 1;
      const shortcut = i === 0 ? b.conv(x, width * 4, 1, s, 'none') : x;
      const a = b.conv(x, width, 1, 1, 'relu');
      const m = b.conv(a, width, 3, s, 'relu');
      x = b.conv(m, width * 4, 1, 1, 'relu', shortcut);
    }
  }
  const gap = b.slot([1, 1, 1, 2048]);
  b.ops.push({ kind: 'adaptiveAvgPool2d', input: x, output: gap });
  const logits = b.slot([1, 1, 1, 1000]);
  b.ops.push({ kind: 'linear', input: gap, output: logits, weight: randomFloats(2048000, 99, -0.02, 0.02), bias: new Float32Array(1000), activation: 'none' });
  const plan = { batch: 1, input, outputs: [logits], ops: b.ops, arenaSize: b.size };
  return { plan, convs: b.ops.filter((op): op is Conv2dOp => op.kind === 'conv2d') };
}

async function timeIt(f: () => Promise<unknown>, runs: number): Promise<number> {
  await f();
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await f();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

function convKey(op: Conv2dOp): string {
  const [, h, w, c] = op.input.shape;
  const g = op.groups === 1 ? '' : op.groups === c ? ' dw' : ` g${op.groups}`;
  return `${op.kernel[0]}x${op.kernel[1]}/s${op.stride[0]}${g} ${h}x${w}x${c} -> ${op.output.shape[3]}`;
}

/** Depthwise and grouped shapes from MobileNetV2 / EfficientNet-B0 / ConvNeXt-T / ResNeXt-50 (224x224). */
function otherConvs(): Conv2dOp[] {
  const b = new PlanBuilder();
  const dw = (hw: number, c: number, k: number, s: number) => b.conv(b.slot([1, hw, hw, c]), c, k, s, 'relu6', undefined, c);
  dw(112, 32, 3, 1);
  dw(112, 96, 3, 2);
  dw(56, 144, 3, 1);
  dw(28, 192, 3, 1);
  dw(14, 576, 3, 1);
  dw(56, 144, 5, 2);
  dw(14, 480, 5, 1);
  dw(56, 96, 7, 1);
  dw(14, 384, 7, 1);
  b.conv(b.slot([1, 56, 56, 128]), 128, 3, 1, 'relu', undefined, 32);
  b.conv(b.slot([1, 14, 14, 512]), 512, 3, 1, 'relu', undefined, 32);
  return b.ops as Conv2dOp[];
}

const REPEAT = 8;

async function printTable(backend: Backend, convs: Conv2dOp[]): Promise<number> {
  const shapes = new Map<string, { op: Conv2dOp; count: number }>();
  for (const op of convs) {
    const k = convKey(op);
    const e = shapes.get(k);
    if (e) e.count++;
    else shapes.set(k, { op, count: 1 });
  }
  console.log('shape                                    count   ms/op  GFLOP/s  ms total');
  let total = 0;
  for (const [key, { op, count }] of shapes) {
    const a = new PlanBuilder();
    const x = a.slot([...op.input.shape]);
    const y = a.slot([...op.output.shape]);
    const r = op.residual ? a.slot([...op.output.shape]) : undefined;
    const single: Conv2dOp = { ...op, input: x, output: y, residual: r };
    // The op repeated, so that copying the input into wasm memory is amortised away.
    const ops = Array.from({ length: REPEAT }, () => single);
    const exe = await backend.compile({ batch: 1, input: x, outputs: [], ops, arenaSize: a.size });
    const input = randomFloats(x.size, 3);
    const ms = (await timeIt(() => exe.run(input), 5)) / REPEAT;
    exe.dispose();
    const flops = 2 * y.size * (op.input.shape[3] / op.groups) * op.kernel[0] * op.kernel[1];
    total += ms * count;
    console.log(
      `${key.padEnd(40)} ${String(count).padStart(5)} ${ms.toFixed(3).padStart(7)} ${(flops / ms / 1e6).toFixed(1).padStart(8)} ${(ms * count).toFixed(2).padStart(9)}`,
    );
  }
  return total;
}

async function main(): Promise<void> {
  const wasm = process.argv[2];
  const backend = createWasmBackend(wasm ? { wasm } : {});
  const { plan, convs } = resnet50();
  const total = await printTable(backend, convs);
  console.log(`sum of conv layers: ${total.toFixed(1)} ms\n`);
  await printTable(backend, otherConvs());
  const exe = await backend.compile(plan);
  const input = randomFloats(plan.input.size, 5);
  const ms = await timeIt(() => exe.run(input), 5);
  console.log(`\nResNet-50 end to end (best of 5): ${ms.toFixed(1)} ms; weights ${(exe.weightBytes / 2 ** 20).toFixed(1)} MiB, arena ${(exe.arenaBytes / 2 ** 20).toFixed(1)} MiB`);
}

await main();
