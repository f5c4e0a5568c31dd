// The wasm backend as a whole: a small network through run(), loading, and clear errors.
import { describe, it, expect } from 'vitest';
import { readFile } from 'node:fs/promises';
import { DisposedError, type ExecutionPlan, type PlanOp, type Slot, validatePlan } from '@cnn/core';
import { createJsBackend } from '../js/index.js';
import { createWasmBackend, loadKernelModule } from './index.js';
import { ArenaBuilder, randomFloats } from '../test-helpers.js';

const binaryUrl = new URL('../../wasm/cnn_kernels.wasm', import.meta.url);

/** A tiny ResNet-like network: stem, max pool, a residual block, global pool, classifier. */
function tinyResNetPlan(batch: number): ExecutionPlan {
  const a = new ArenaBuilder();
  const input = a.slot([batch, 16, 14, 3]);
  const stem = a.slot([batch, 8, 7, 16]);
  const pooled = a.slot([batch, 4, 4, 16]);
  const mid = a.slot([batch, 4, 4, 16]);
  const block = a.slot([batch, 4, 4, 16]);
  const gap = a.slot([batch, 1, 1, 16]);
  const logits = a.slot([batch, 1, 1, 10]);
  let seed = 7;
  const conv = (x: Slot, y: Slot, k: number, s: number, p: number, residual?: Slot): PlanOp => ({
    kind: 'conv2d',
    input: x,
    output: y,
    residual,
    weight: randomFloats(y.shape[3] * x.shape[3] * k * k, seed++, -0.3, 0.3),
    bias: randomFloats(y.shape[3], seed++, -0.1, 0.1),
    kernel: [k, k],
    stride: [s, s],
    padding: [p, p],
    dilation: [1, 1],
    groups: 1,
    activation: 'relu',
  });
  const ops: PlanOp[] = [
    conv(input, stem, 7, 2, 3),
    { kind: 'pool2d', mode: 'max', input: stem, output: pooled, kernel: [3, 3], stride: [2, 2], padding: [1, 1], countIncludePad: true, activation: 'none' },
    conv(pooled, mid, 3, 1, 1),
    conv(mid, block, 3, 1, 1, pooled),
    { kind: 'adaptiveAvgPool2d', input: block, output: gap },
    { kind: 'linear', input: gap, output: logits, weight: randomFloats(160, seed++), bias: randomFloats(10, seed++), activation: 'none' },
  ];
  return validatePlan({ batch, input, outputs: [logits, block], ops, arenaSize: a.size });
}

function maxRelativeError(got: Float32Array, ref: Float32Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(got[i] - ref[i]));
    m = Math.max(m, Math.abs(ref[i]));
  }
  return d / m;
}

describe('wasm backend', () => {
  it('runs a small ResNet-like plan like the js backend (max |diff| / max |ref| <= 1e-5), repeatedly', async () => {
    const plan = tinyResNetPlan(2);
    const js = await createJsBackend().compile(plan);
    const wasm = await createWasmBackend().compile(plan);
    for (const seed of [1, 2]) {
      const input = randomFloats(plan.input.size, seed);
      const ref = await js.run(input);
      const got = await wasm.run(input);
      expect(got.map((g) => g.length)).toEqual(plan.outputs.map((s) => s.size));
      got.forEach((g, i) => expect(maxRelativeError(g, ref[i])).toBeLessThanOrEqual(1e-5));
    }
    expect(wasm.arenaBytes).toBe(plan.arenaSize * 4);
    expect(wasm.weightBytes).toBeGreaterThan(0);
    wasm.dispose();
    await expect(wasm.run(randomFloats(plan.input.size, 3))).rejects.toThrow(/disposed/);
    await expect(wasm.run(randomFloats(plan.input.size, 3))).rejects.toBeInstanceOf(DisposedError);
    js.dispose();
    await expect(js.run(randomFloats(plan.input.size, 3))).rejects.toBeInstanceOf(DisposedError);
  });

  it('accepts the binary as bytes, as a file URL, as a path, and as a compiled module', async () => {
    const bytes = await readFile(binaryUrl);
    const module = await loadKernelModule(bytes);
    const plan = tinyResNetPlan(1);
    const input = randomFloats(plan.input.size, 9);
    const ref = await (await createJsBackend().compile(plan)).run(input);
    for (const backend of [
      createWasmBackend({ wasm: bytes }),
      createWasmBackend({ wasm: binaryUrl }),
      createWasmBackend({ wasm: binaryUrl.href }),
      createWasmBackend({ wasm: binaryUrl.pathname }),
      createWasmBackend({ module }),
    ]) {
      const [logits] = await (await backend.compile(plan)).run(input);
      expect(maxRelativeError(logits, ref[0])).toBeLessThanOrEqual(1e-5);
    }
  });

  it('keeps executables independent (each has its own memory)', async () => {
    const backend = createWasmBackend();
    const p1 = tinyResNetPlan(1);
    const p2 = tinyResNetPlan(3);
    const [e1, e2] = await Promise.all([backend.compile(p1), backend.compile(p2)]);
    const x1 = randomFloats(p1.input.size, 4);
    const before = await e1.run(x1);
    await e2.run(randomFloats(p2.input.size, 5));
    expect(await e1.run(x1)).toEqual(before);
  });
});

describe('wasm backend errors', () => {
  it('rejects a truncated binary with a clear message', async () => {
    const bytes = await readFile(binaryUrl);
    const backend = createWasmBackend({ wasm: bytes.subarray(0, 1000) });
    const error = await backend.compile(tinyResNetPlan(1)).then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(/is not a valid WebAssembly module \(truncated or corrupt\?\)/);
    // npm users have no build script to run
    expect(error?.message).not.toMatch(/build\.sh/);
  });

  it('rejects a file that is not WebAssembly, showing what came instead', async () => {
    const notWasm = new TextEncoder().encode('<!doctype html><html>404</html>');
    await expect(loadKernelModule(notWasm)).rejects.toThrow(
      /expected the header 00 61 73 6d.*got 31 bytes starting \[3c 21 64.*\] \(text: a server answering with an HTML page/,
    );
  });

  it('rejects a valid module that is not the kernels, naming the missing exports', async () => {
    // (module (func (export "f")))
    const other = new Uint8Array([
      0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 4, 1, 2, 0, 11,
    ]);
    await expect(loadKernelModule(other)).rejects.toThrow(/missing exports memory, cnn_kernels_abi_version, .*it exports f/);
  });

  it('names the locations it tried when the binary is missing', async () => {
    const backend = createWasmBackend({ wasm: '/nonexistent/cnn_kernels.wasm' });
    await expect(backend.compile(tinyResNetPlan(1))).rejects.toThrow(/Could not read cnn_kernels\.wasm\. Tried:\n {2}\/nonexistent/);
  });

  it('rejects an input of the wrong length', async () => {
    const exe = await createWasmBackend().compile(tinyResNetPlan(1));
    await expect(exe.run(new Float32Array(5))).rejects.toThrow(/expects a Float32Array of 672 floats .*got 5 floats/);
  });

  it('rejects inconsistent ops at compile time, naming the op', async () => {
    const plan = tinyResNetPlan(1);
    const conv = plan.ops[2] as Extract<PlanOp, { kind: 'conv2d' }>;
    const bad = { ...plan, ops: plan.ops.map((op, i) => (i === 2 ? { ...conv, weight: new Float32Array(10) } : op)) };
    // the backend takes only checked plans; validatePlan names what is wrong with this one
    await expect(createWasmBackend().compile(bad)).rejects.toThrow(/wasm: expected a plan made by Model\.plan, lowerGraph or compilePlan, or one that validatePlan\(plan\) accepted/);
    expect(() => validatePlan(bad)).toThrow(/plan\.ops\[2\] \(conv2d\): weight has 10 floats, expected 2304 \(\[outC 16, inC\/groups 16, 3, 3\]\)/);
    const outside = { ...plan, arenaSize: 100 };
    await expect(createWasmBackend().compile(outside)).rejects.toThrow(/not checked/);
    expect(() => validatePlan(outside)).toThrow(/outside the arena of 100 floats/);
  });
});
