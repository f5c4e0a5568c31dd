// Which binary the wasm backend picks, and the threaded binaries as a whole: identical results
// to one thread, workers that stop on dispose, and the single-thread fallback without shared memory.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validatePlan, type ExecutionPlan, type PlanOp, type Slot } from '@cnn/core';
import { createWasmBackend, hasRelaxedSimd, sharedMemoryUnavailableReason } from './index.js';
import { usesWinograd } from './op-plans.js';
import { wasmWorkers } from './threads.js';
import { ArenaBuilder, randomFloats } from '../test-helpers.js';

/**
 * A small MobileNet/ResNet-like network big enough that every op is shared between threads;
 * its two 3x3 stride-1 convolutions run by Winograd, the second with 8 weight blocks, so
 * threads transform weights into their own scratch at the same time.
 */
function mixedPlan(batch: number): ExecutionPlan {
  const a = new ArenaBuilder();
  const input = a.slot([batch, 40, 36, 3]);
  const stem = a.slot([batch, 20, 18, 24]);
  const expand = a.slot([batch, 20, 18, 96]);
  const dw = a.slot([batch, 20, 18, 96]);
  const project = a.slot([batch, 20, 18, 24]);
  const dw5 = a.slot([batch, 10, 9, 24]);
  const conv3 = a.slot([batch, 10, 9, 40]);
  const wide = a.slot([batch, 10, 9, 64]);
  const pooled = a.slot([batch, 5, 5, 40]);
  const gap = a.slot([batch, 1, 1, 40]);
  const logits = a.slot([batch, 1, 1, 37]);
  let seed = 11;
  const conv = (x: Slot, y: Slot, k: number, s: number, groups = 1, residual?: Slot): PlanOp => ({
    kind: 'conv2d', input: x, output: y, residual,
    weight: randomFloats((y.shape[3] * x.shape[3] * k * k) / groups, seed++, -0.3, 0.3),
    bias: randomFloats(y.shape[3], seed++, -0.1, 0.1),
    kernel: [k, k], stride: [s, s], padding: [(k - 1) / 2, (k - 1) / 2], dilation: [1, 1], groups,
    activation: 'relu6',
  });
  const ops: PlanOp[] = [
    conv(input, stem, 3, 2),
    conv(stem, expand, 1, 1),
    conv(expand, dw, 3, 1, 96),
    conv(dw, project, 1, 1, 1, stem),
    conv(project, dw5, 5, 2, 24),
    conv(dw5, conv3, 3, 1),
    conv(conv3, wide, 3, 1),
    { kind: 'pool2d', mode: 'max', input: conv3, output: pooled, kernel: [3, 3], stride: [2, 2], padding: [1, 1], countIncludePad: true, activation: 'none' },
    { kind: 'adaptiveAvgPool2d', input: pooled, output: gap },
    { kind: 'linear', input: gap, output: logits, weight: randomFloats(40 * 37, seed++), bias: randomFloats(37, seed++), activation: 'none' },
  ];
  return validatePlan({ batch, input, outputs: [logits, dw, conv3, wide], ops, arenaSize: a.size });
}

const sharedMemory = sharedMemoryUnavailableReason() === undefined;

describe('wasm backend variant selection', () => {
  it('defaults to one thread on the simd128 binary unless relaxed SIMD validates', () => {
    const backend = createWasmBackend();
    expect(backend.threads).toBe(1);
    expect(backend.threadsFallbackReason).toBeUndefined();
    expect(backend.variant).toBe(hasRelaxedSimd() ? 'relaxed-simd' : 'simd');
    expect(createWasmBackend({ relaxedSimd: false }).variant).toBe('simd');
  });

  it.runIf(sharedMemory)('picks the threaded binary for threads > 1, and resolves threads: auto', async () => {
    const backend = createWasmBackend({ threads: 2, relaxedSimd: false });
    expect(backend.variant).toBe('simd-threads');
    expect(backend.threads).toBe(2);
    const exe = await backend.compile(mixedPlan(1));
    expect(exe.variant).toBe('simd-threads');
    expect(exe.threads).toBe(2);
    exe.dispose();
    const auto = createWasmBackend({ threads: 'auto' });
    expect(auto.threads).toBeGreaterThanOrEqual(1);
    expect(auto.threads).toBeLessThanOrEqual(8);
  });

  it.runIf(sharedMemory)('runs threads on the worker pool passed as options.workers, bit for bit like Node\'s own', async () => {
    const input = randomFloats(mixedPlan(1).input.size, 5);
    const own = await createWasmBackend({ threads: 2, relaxedSimd: false }).compile(mixedPlan(1));
    const [expected] = await own.run(input);
    own.dispose();
    const backend = createWasmBackend({ threads: 2, relaxedSimd: false, workers: wasmWorkers });
    expect(backend.threadsFallbackReason).toBeUndefined();
    const first = await backend.compile(mixedPlan(1));
    expect(first.threads).toBe(2);
    expect(Array.from((await first.run(input))[0])).toEqual(Array.from(expected));
    const exited = first.workersExited;
    first.dispose();
    // the next compile takes the parked workers over: the first executable's never exit
    const second = await backend.compile(mixedPlan(1));
    const settled = await Promise.race([exited.then(() => 'exited'), new Promise((r) => setTimeout(() => r('parked'), 50))]);
    expect(settled).toBe('parked');
    expect(Array.from((await second.run(input))[0])).toEqual(Array.from(expected));
    second.dispose();
    backend.releaseSpareMemory();
    await second.workersExited;
  });

  it('falls back to one thread, with the reason, without shared memory', async () => {
    const backend = createWasmBackend({ threads: 4, sharedMemory: false, relaxedSimd: false });
    expect(backend.threads).toBe(1);
    expect(backend.variant).toBe('simd');
    expect(backend.threadsFallbackReason).toMatch(/shared memory was turned off/);
    const plan = mixedPlan(1);
    const exe = await backend.compile(plan);
    expect(exe.threads).toBe(1);
    const [logits] = await exe.run(randomFloats(plan.input.size, 1));
    expect(logits.every(Number.isFinite)).toBe(true);
    exe.dispose();
  });

  it('runs a single-threaded binary given in the options on one thread, saying why', async () => {
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(new URL('../../wasm/cnn_kernels.wasm', import.meta.url));
    const backend = createWasmBackend({ wasm: bytes, threads: 2 });
    const exe = await backend.compile(mixedPlan(1));
    expect(exe.threads).toBe(1);
    expect(backend.variant).toBe('simd');
    if (sharedMemory) expect(backend.threadsFallbackReason).toMatch(/single-threaded/);
    exe.dispose();
  });

  it('rejects invalid thread counts', () => {
    expect(() => createWasmBackend({ threads: 0 })).toThrow(/threads must be 'auto' or an integer/);
    expect(() => createWasmBackend({ threads: 1.5 })).toThrow(/threads must be/);
  });

  it.runIf(!hasRelaxedSimd())('refuses relaxedSimd: true where the engine lacks relaxed SIMD', () => {
    expect(() => createWasmBackend({ relaxedSimd: true })).toThrow(/--experimental-wasm-relaxed-simd/);
  });
});

describe.runIf(sharedMemory)('wasm backend on threads', () => {
  it('gives the same results as one thread (within 1e-6 relative; in fact bit for bit), for 2 and 3 threads', async () => {
    const plan = mixedPlan(2);
    expect(plan.ops.filter((op) => op.kind === 'conv2d' && usesWinograd(op))).toHaveLength(2);
    const input = randomFloats(plan.input.size, 5);
    const single = await createWasmBackend({ relaxedSimd: false }).compile(plan);
    const ref = await single.run(input);
    single.dispose();
    for (const threads of [2, 3]) {
      for (const shareTinyOps of [false, true]) {
        const exe = await createWasmBackend({ relaxedSimd: false, threads, shareTinyOps }).compile(plan);
        expect(exe.threads).toBe(threads);
        for (let i = 0; i < 3; i++) {
          const got = await exe.run(input);
          got.forEach((g, j) => {
            let worst = 0;
            let scale = 0;
            g.forEach((v, e) => {
              worst = Math.max(worst, Math.abs(v - ref[j][e]));
              scale = Math.max(scale, Math.abs(ref[j][e]));
            });
            expect(worst / scale).toBeLessThanOrEqual(1e-6);
            expect(g).toEqual(ref[j]);
          });
        }
        exe.dispose();
      }
    }
  });

  it('terminates its workers on dispose, and refuses to run afterwards', async () => {
    const plan = mixedPlan(1);
    const exe = await createWasmBackend({ threads: 3 }).compile(plan);
    await exe.run(randomFloats(plan.input.size, 1));
    exe.dispose();
    await expect(
      Promise.race([exe.workersExited.then(() => 'exited'), new Promise((r) => setTimeout(() => r('timeout'), 10_000))]),
    ).resolves.toBe('exited');
    await expect(exe.run(new Float32Array(mixedPlan(1).input.size))).rejects.toThrow(/disposed/);
  });

  it('keeps executables with their own workers independent, also when run concurrently', async () => {
    const backend = createWasmBackend({ threads: 2 });
    const [p1, p2] = [mixedPlan(1), mixedPlan(2)];
    const [e1, e2] = await Promise.all([backend.compile(p1), backend.compile(p2)]);
    const x1 = randomFloats(p1.input.size, 4);
    const before = await e1.run(x1);
    await Promise.all([e2.run(randomFloats(p2.input.size, 5)), e1.run(x1)]);
    expect(await e1.run(x1)).toEqual(before);
    e1.dispose();
    e2.dispose();
  });

  // Plain node, outside vitest's worker: the built bundle (dist/wasm.js, made by the build that
  // precedes the tests), when it exists.
  const dist = fileURLToPath(new URL('../../dist/wasm.js', import.meta.url));
  const coreDist = fileURLToPath(new URL('../../../core/dist/index.js', import.meta.url));
  it.runIf(existsSync(dist))('lets a plain node process exit, with or without dispose', () => {
    for (const dispose of [true, false]) {
      const script = `
        import { createWasmBackend } from ${JSON.stringify(dist)};
        import { validatePlan } from ${JSON.stringify(coreDist)};
        const a = { id: 0, shape: [1, 1, 1, 64], offset: 0, size: 64 };
        const b = { id: 1, shape: [1, 1, 1, 64], offset: 64, size: 64 };
        const plan = validatePlan({ batch: 1, input: a, outputs: [b], arenaSize: 128,
          ops: [{ kind: 'activation', input: a, output: b, activation: 'relu' }] });
        const exe = await createWasmBackend({ threads: 2, shareTinyOps: true }).compile(plan);
        const [y] = await exe.run(new Float32Array(64).fill(-1));
        ${dispose ? 'exe.dispose();' : ''}
        console.log('ran', y[0], exe.threads);
      `;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('ran 0 2');
      expect(r.status).toBe(0);
    }
  });
});
