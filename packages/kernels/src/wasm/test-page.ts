// Browser page for browser.test.ts: runs a small plan on the wasm backend with 1 and 2 threads
// (Web Workers from a Blob URL, shared memory) and publishes what happened as `cnnResult`.
// The first convolution (16 -> 32 channels, 3x3) runs by Winograd, so the workers transform
// weights into their own scratch.
import { validatePlan, type ExecutionPlan, type PlanOp, type Slot } from '@cnn/core';
import { createWasmBackend } from './index.js';
import { wasmWorkers } from './threads.js';
import { ArenaBuilder, randomFloats } from '../test-helpers.js';

function plan(): ExecutionPlan {
  const a = new ArenaBuilder();
  const input = a.slot([1, 24, 20, 16]);
  const mid = a.slot([1, 24, 20, 32]);
  const dw = a.slot([1, 24, 20, 32]);
  const out = a.slot([1, 24, 20, 16]);
  let seed = 3;
  const conv = (x: Slot, y: Slot, k: number, groups = 1): PlanOp => ({
    kind: 'conv2d', input: x, output: y,
    weight: randomFloats((y.shape[3] * x.shape[3] * k * k) / groups, seed++, -0.3, 0.3),
    bias: randomFloats(y.shape[3], seed++, -0.1, 0.1),
    kernel: [k, k], stride: [1, 1], padding: [(k - 1) / 2, (k - 1) / 2], dilation: [1, 1], groups, activation: 'relu6',
  });
  return validatePlan({ batch: 1, input, outputs: [out], ops: [conv(input, mid, 3), conv(mid, dw, 3, 32), conv(dw, out, 1)], arenaSize: a.size });
}

async function main() {
  const p = plan();
  const input = randomFloats(p.input.size, 1);
  const single = await createWasmBackend().compile(p);
  const [ref] = await single.run(input);
  single.dispose();
  const backend = createWasmBackend({ threads: 2, shareTinyOps: true, workers: wasmWorkers });
  const exe = await backend.compile(p);
  const [got] = await exe.run(input);
  exe.dispose();
  let withoutWorkers = 'no error';
  try {
    createWasmBackend({ threads: 2 });
  } catch (e) {
    withoutWorkers = `${(e as Error).name}: ${(e as Error).message}`;
  }
  return {
    withoutWorkers,
    crossOriginIsolated: globalThis.crossOriginIsolated,
    variant: exe.variant,
    threads: exe.threads,
    fallback: backend.threadsFallbackReason ?? null,
    identical: got.length === ref.length && got.every((v, i) => v === ref[i]),
  };
}

(globalThis as { cnnResult?: Promise<unknown> }).cnnResult = main().catch((e: Error) => ({ error: `${e.message}\n${e.stack}` }));
