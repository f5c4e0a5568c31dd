// Overlapping forward passes give exactly the results of sequential ones: 8 at once on one
// runner, and 8 spread over two runners sharing one backend, on wasm (2 threads) and WebGPU
// (Dawn on SwiftShader). Also: WebGPU run() reads its input at call time, and a WebGPU
// executable disposed during a pass rejects it saying so.
import { afterAll, describe, expect, it } from 'vitest';
import { DisposedError, Model, Tensor, counterInput, type Architecture, type Backend } from '@cnn/core';
import { createWasmBackend } from './wasm/index.js';
import { createWebGpuBackend } from './webgpu/index.js';
import { nodeGpu } from './webgpu/test-gpu.js';

// Winograd-sized 3x3 convolutions, a residual addition, a depthwise stage, gating and a classifier
const mixed: Architecture = {
  name: 'mixed',
  inputShape: [3, 32, 32],
  metadata: { parameters: 0 },
  define(b, x) {
    const stem = b.relu(b.conv2d(x, 'stem', { outChannels: 16, kernelSize: 3, stride: 2, padding: 1 }));
    const body = b.relu(b.add(b.conv2d(b.relu(b.conv2d(stem, 'c1', { outChannels: 16, kernelSize: 3, padding: 1 })), 'c2', { outChannels: 16, kernelSize: 3, padding: 1 }), stem));
    const dw = b.activation(b.conv2d(body, 'dw', { outChannels: 16, kernelSize: 3, padding: 1, groups: 16 }), 'hardswish');
    const gate = b.activation(b.conv2d(b.adaptiveAvgPool2d(dw, 1), 'se', { outChannels: 16, kernelSize: 1 }), 'sigmoid');
    const pw = b.relu(b.conv2d(b.scaleChannels(dw, gate), 'pw', { outChannels: 32, kernelSize: 1 }));
    b.output('logits', b.linear(b.flatten(b.adaptiveAvgPool2d(pw, 1)), 'fc', 10));
  },
};

const bits = (t: Tensor) => [...new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length)];
const inputs = Array.from({ length: 8 }, (_, i) => new Tensor([1, 3, 32, 32], counterInput([1, 3, 32, 32], i + 1)));

// one WebGPU backend for the file: SwiftShader compiles each pipeline once per device, slowly
let webgpu: ReturnType<typeof createWebGpuBackend> | undefined;
const gpuBackend = () => (webgpu ??= nodeGpu().then((gpu) => createWebGpuBackend({ gpu, warmup: false })));

const backends: [string, () => Promise<Backend>][] = [
  ['wasm, 2 threads', async () => createWasmBackend({ threads: 2 })],
  ['WebGPU (Dawn on SwiftShader)', gpuBackend],
];

const disposers: (() => void)[] = [];
afterAll(() => disposers.forEach((d) => d()));

describe.each(backends)('overlapping runs on %s', (_, make) => {
  it('match sequential runs bit for bit, on one runner and on two sharing the backend', async () => {
    const backend = await make();
    const model = new Model(mixed).useGeneratedWeights(5);
    const one = await model.compile(backend);
    const two = await model.compile(backend);
    disposers.push(() => one.dispose(), () => two.dispose());
    const sequential: number[][] = [];
    for (const x of inputs) sequential.push(bits(await one.run(x)));
    // distinct inputs give distinct logits, so a swapped or mixed result cannot pass
    expect(new Set(sequential.map((s) => s.join())).size).toBe(8);
    const overlapping = await Promise.all(inputs.map((x) => one.run(x)));
    expect(overlapping.map(bits)).toEqual(sequential);
    const shared = await Promise.all(inputs.map((x, i) => (i % 2 === 0 ? one : two).run(x)));
    expect(shared.map(bits)).toEqual(sequential);
  });
});

describe('WebGPU executable inputs and disposal', () => {
  it('reads its input when run() is called, so the caller may reuse the buffer at once', async () => {
    const backend = await gpuBackend();
    const plan = new Model(mixed).useGeneratedWeights(5).plan();
    const exe = await backend.compile(plan);
    disposers.push(() => exe.dispose());
    const a = Float32Array.from({ length: plan.input.size }, (_, i) => Math.sin(i));
    const expected = (await exe.run(a.slice()))[0];
    const buffer = a.slice();
    const pending = [exe.run(buffer), exe.run(buffer)];
    buffer.fill(0); // before either pass has started on the GPU
    for (const r of await Promise.all(pending)) expect([...r[0]]).toEqual([...expected]);
  });

  it('counts GPU buffer bytes per executable and returns to the same total after dispose, cycle after cycle', async () => {
    const backend = (await gpuBackend()) as Awaited<ReturnType<typeof createWebGpuBackend>>;
    const plan = new Model(mixed).useGeneratedWeights(5).plan();
    const before = backend.memoryStats();
    for (let cycle = 0; cycle < 5; cycle++) {
      const exe = await backend.compile(plan);
      const during = backend.memoryStats();
      expect(during.liveExecutables).toBe(before.liveExecutables + 1);
      expect(during.gpuBytes - before.gpuBytes).toBeGreaterThanOrEqual(exe.weightBytes + exe.arenaBytes);
      exe.dispose();
      expect(backend.memoryStats()).toEqual(before);
    }
  });

  it('rejects a pass whose executable is disposed while it runs, saying so', async () => {
    const backend = await gpuBackend();
    const plan = new Model(mixed).useGeneratedWeights(5).plan();
    const exe = await backend.compile(plan);
    const running = exe.run(new Float32Array(plan.input.size));
    const queued = exe.run(new Float32Array(plan.input.size));
    // after these microtasks the first pass has started and is waiting on the GPU, however fast it is
    await Promise.resolve();
    await Promise.resolve();
    exe.dispose();
    await expect(running).rejects.toThrow(/disposed during the forward pass/);
    await expect(running).rejects.toBeInstanceOf(DisposedError);
    await expect(queued).rejects.toThrow(/disposed/);
  });
});
