// The WebGPU backend as a whole: a small network through run() (repeatedly, concurrently, with
// several outputs), warm-up, clear errors, precision selection and fallback to another backend.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ShapeError, type Backend, type ExecutionPlan, type PlanOp, type Slot, validatePlan } from '@cnn/core';
import { createJsBackend } from '../js/index.js';
import { createWebGpuBackend, WebGpuUnavailableError, type WebGpuBackend, type WebGpuExecutable } from './index.js';
import { nodeGpu } from './test-gpu.js';
import { ArenaBuilder, randomFloats } from '../test-helpers.js';

/** A tiny ResNet-like network: stem, max pool, a residual block, SE gating, global pool, classifier. */
function tinyResNetPlan(batch: number): ExecutionPlan {
  const a = new ArenaBuilder();
  const input = a.slot([batch, 16, 14, 3]);
  const stem = a.slot([batch, 8, 7, 16]);
  const pooled = a.slot([batch, 4, 4, 16]);
  const mid = a.slot([batch, 4, 4, 16]);
  const block = a.slot([batch, 4, 4, 16]);
  const gap = a.slot([batch, 1, 1, 16]);
  const gate = a.slot([batch, 1, 1, 16]);
  const gated = a.slot([batch, 4, 4, 16]);
  const gap2 = a.slot([batch, 1, 1, 16]);
  const logits = a.slot([batch, 1, 1, 10]);
  let seed = 7;
  const conv = (x: Slot, y: Slot, k: number, s: number, p: number, residual?: Slot): PlanOp => ({
    kind: 'conv2d', input: x, output: y, residual,
    weight: randomFloats(y.shape[3] * x.shape[3] * k * k, seed++, -0.3, 0.3),
    bias: randomFloats(y.shape[3], seed++, -0.1, 0.1),
    kernel: [k, k], stride: [s, s], padding: [p, p], dilation: [1, 1], groups: 1, activation: 'relu',
  });
  const ops: PlanOp[] = [
    conv(input, stem, 7, 2, 3),
    { kind: 'pool2d', mode: 'max', input: stem, output: pooled, kernel: [3, 3], stride: [2, 2], padding: [1, 1], countIncludePad: true, activation: 'none' },
    conv(pooled, mid, 3, 1, 1),
    conv(mid, block, 3, 1, 1, pooled),
    { kind: 'adaptiveAvgPool2d', input: block, output: gap },
    { kind: 'activation', input: gap, output: gate, activation: 'sigmoid' },
    { kind: 'scaleChannels', input: block, scale: gate, output: gated },
    { kind: 'adaptiveAvgPool2d', input: gated, output: gap2 },
    { kind: 'linear', input: gap2, output: logits, weight: randomFloats(160, seed++), bias: randomFloats(10, seed++), activation: 'none' },
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

const noAdapterGpu = { requestAdapter: async () => null } as unknown as GPU;

let backend: WebGpuBackend;
beforeAll(async () => {
  backend = await createWebGpuBackend({ gpu: await nodeGpu() });
});
afterAll(() => backend.destroy());

describe('webgpu backend', () => {
  it('reports the adapter, precision and effective limits', () => {
    expect(backend.name).toBe('webgpu');
    expect(backend.fallbackReason).toBeUndefined();
    expect(backend.precision).toBe('f32');
    expect(backend.adapter?.architecture).toBe('swiftshader');
    expect(backend.limits!.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
  });

  it('runs a small network with two outputs like the js backend (<= 1e-5), repeatedly and concurrently', async () => {
    const plan = tinyResNetPlan(2);
    const js = await createJsBackend().compile(plan);
    const gpu = await backend.compile(plan); // warms up: pipelines exist and one pass has run
    expect(gpu.weightBytes).toBeGreaterThan(0);
    expect(gpu.arenaBytes).toBeGreaterThanOrEqual(plan.arenaSize * 4);
    const inputs = [1, 2, 3].map((s) => randomFloats(plan.input.size, s));
    const [r0, r1, r2] = await Promise.all(inputs.map((x) => gpu.run(x)));
    for (const [i, got] of [r0, r1, r2].entries()) {
      const ref = await js.run(inputs[i]);
      expect(got.map((o) => o.length)).toEqual([20, 2 * 4 * 4 * 16]);
      for (let o = 0; o < ref.length; o++) expect(maxRelativeError(got[o], ref[o])).toBeLessThanOrEqual(1e-5);
    }
    const again = await gpu.run(inputs[0]);
    expect(Array.from(again[0])).toEqual(Array.from(r0[0]));
    gpu.dispose();
    await expect(gpu.run(inputs[0])).rejects.toThrow(/disposed/);
  });

  it('rejects a bad plan or input with a ShapeError naming the field', async () => {
    const plan = tinyResNetPlan(1);
    const bad = { ...plan, ops: plan.ops.map((op, i) => (i === 2 ? ({ ...op, bias: new Float32Array(3) } as PlanOp) : op)) };
    // the backend takes only checked plans; validatePlan names what is wrong with this one
    await expect(backend.compile(bad)).rejects.toThrow(ShapeError);
    await expect(backend.compile(bad)).rejects.toThrow(/webgpu: expected a plan made by Model\.plan, lowerGraph or compilePlan/);
    expect(() => validatePlan(bad)).toThrow(/plan\.ops\[2\] \(conv2d\): bias has 3 floats, expected 16/);
    const exe = await backend.compile(plan);
    await expect(exe.run(new Float32Array(5))).rejects.toThrow(/expects a Float32Array of 672 floats/);
    exe.dispose();
  });
});

describe('webgpu profiling', () => {
  it('times every dispatch with GPU timestamps when created with profiling (SwiftShader has timestamp-query)', async () => {
    const plan = tinyResNetPlan(1);
    const x = randomFloats(plan.input.size, 3);
    const plain = (await backend.compile(plan)) as WebGpuExecutable;
    await expect(plain.profile(x)).rejects.toThrow(/needs the 'timestamp-query' feature/);
    plain.dispose();
    const profiling = await createWebGpuBackend({ gpu: await nodeGpu(), profiling: true, warmup: false });
    const exe = (await profiling.compile(plan)) as WebGpuExecutable;
    const times = await exe.profile(x);
    expect(times).toHaveLength(exe.dispatchCount);
    expect(times.map((t) => t.kind)).toEqual(plan.ops.map((op) => op.kind));
    expect(times[0].kernel).toBe('conv.general 32x16 7x7');
    expect(times.every((t) => t.ms >= 0)).toBe(true);
    exe.dispose();
    profiling.destroy();
  });
});

describe('webgpu availability, precision and fallback', () => {
  it('without any GPU: a clear error, or the fallback when asked for', async () => {
    vi.stubGlobal('navigator', undefined);
    try {
      const error = await createWebGpuBackend().catch((e) => e);
      expect(error).toBeInstanceOf(WebGpuUnavailableError);
      expect(error.reason).toBe('no-webgpu');
      expect(error.message).toMatch(/expected options\.gpu, options\.adapter, options\.device or navigator\.gpu, found none/);
      const reasons: string[] = [];
      const js = createJsBackend();
      const fallen = await createWebGpuBackend({ fallback: js, onFallback: (r) => reasons.push(r) });
      expect(fallen.name).toBe('js');
      expect(fallen.fallbackReason).toMatch(/WebGPU is not available/);
      expect(reasons).toEqual([fallen.fallbackReason]);
      const plan = tinyResNetPlan(1);
      const x = randomFloats(plan.input.size, 9);
      expect(await (await fallen.compile(plan)).run(x)).toEqual(await (await js.compile(plan)).run(x));
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('with no adapter: a clear error, or the wasm backend (loaded on demand) when asked for', async () => {
    const error = await createWebGpuBackend({ gpu: noAdapterGpu }).catch((e) => e);
    expect(error).toBeInstanceOf(WebGpuUnavailableError);
    expect(error.reason).toBe('no-adapter');
    expect(error.message).toMatch(/requestAdapter\(\) returned null: expected a GPU adapter, found none/);
    const onFallback = vi.fn();
    const wasm = await createWebGpuBackend({ gpu: noAdapterGpu, fallback: 'wasm', onFallback });
    expect(wasm.name).toBe('wasm');
    expect(onFallback).toHaveBeenCalledWith(expect.stringMatching(/requestAdapter\(\) returned null/));
    const plan = tinyResNetPlan(1);
    const x = randomFloats(plan.input.size, 4);
    const [got] = await (await wasm.compile(plan)).run(x);
    const [ref] = await (await createJsBackend().compile(plan)).run(x);
    expect(maxRelativeError(got, ref)).toBeLessThanOrEqual(1e-5);
  });

  it("precision 'f16' without shader-f16 (SwiftShader has none): an error, f32 under 'auto', or the fallback", async () => {
    const gpu = await nodeGpu();
    const error = await createWebGpuBackend({ gpu, precision: 'f16' }).catch((e) => e);
    expect(error).toBeInstanceOf(WebGpuUnavailableError);
    expect(error.reason).toBe('missing-feature');
    expect(error.message).toMatch(/precision 'f16' needs the 'shader-f16' feature; the adapter \(google \/ swiftshader.*\) has no 'shader-f16' feature/);
    const auto = await createWebGpuBackend({ gpu, precision: 'auto', warmup: false });
    expect(auto.name).toBe('webgpu');
    expect(auto.precision).toBe('f32');
    expect(auto.precisionNote).toMatch(/no 'shader-f16' feature; using f32/);
    auto.destroy();
    const js: Backend = createJsBackend();
    const fallen = await createWebGpuBackend({ gpu, precision: 'f16', fallback: js });
    expect(fallen.name).toBe('js');
    expect(fallen.fallbackReason).toMatch(/shader-f16/);
  });

  it('a lost device: a clear error, or the fallback takes over the same executable', async () => {
    const gpu = await nodeGpu();
    const plan = tinyResNetPlan(1);
    const x = randomFloats(plan.input.size, 5);
    const [ref] = await (await createJsBackend().compile(plan)).run(x);

    const strict = await createWebGpuBackend({ gpu, warmup: false });
    const exe = await strict.compile(plan);
    strict.device!.destroy();
    await strict.device!.lost;
    await expect(exe.run(x)).rejects.toThrow(/The WebGPU device was lost \(destroyed/);
    await expect(strict.compile(plan)).rejects.toThrow(/Cannot compile: the WebGPU device was lost/);

    const reasons: string[] = [];
    const tolerant = await createWebGpuBackend({ gpu, warmup: false, fallback: createJsBackend(), onFallback: (r) => reasons.push(r) });
    const exe2 = await tolerant.compile(plan);
    expect(maxRelativeError((await exe2.run(x))[0], ref)).toBeLessThanOrEqual(1e-5);
    // the caller may refill its buffer once run() has returned, on the GPU and on the fallback
    // (which compiles the plan after awaits)
    const refilled = x.slice();
    const onGpu = exe2.run(refilled);
    refilled.fill(0);
    expect(maxRelativeError((await onGpu)[0], ref)).toBeLessThanOrEqual(1e-5);
    tolerant.device!.destroy();
    await tolerant.device!.lost;
    refilled.set(x);
    const onFallback = exe2.run(refilled);
    refilled.fill(0);
    expect(Array.from((await onFallback)[0])).toEqual(Array.from(ref));
    expect(Array.from((await exe2.run(x))[0])).toEqual(Array.from(ref));
    expect(tolerant.name).toBe('js');
    expect(reasons).toEqual([expect.stringMatching(/the WebGPU device was lost \(destroyed/)]);
    expect(tolerant.fallbackReason).toBe(reasons[0]);
    exe2.dispose();
  });
});
