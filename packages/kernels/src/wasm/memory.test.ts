// Repeated compile/dispose on one wasm backend reuses one instance and memory instead of leaving
// a memory per cycle for the garbage collector; the backend's counters say what is held.
import { describe, expect, it } from 'vitest';
import { Model, Tensor, counterInput, type Architecture } from '@cnn/core';
import { createWasmBackend } from './index.js';

const net = (width: number): Architecture => ({
  name: `net${width}`,
  inputShape: [3, 24, 24],
  metadata: { parameters: 0 },
  define(b, x) {
    const y = b.relu(b.conv2d(b.relu(b.conv2d(x, 'c1', { outChannels: width, kernelSize: 3, padding: 1 })), 'c2', { outChannels: width, kernelSize: 3, padding: 1 }));
    b.output('logits', b.linear(b.flatten(b.adaptiveAvgPool2d(y, 1)), 'fc', 10));
  },
});
const input = new Tensor([1, 3, 24, 24], counterInput([1, 3, 24, 24], 2));
const bits = (t: Tensor) => [...new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length)];

describe.each([1, 2])('wasm memory over compile/dispose cycles, %i thread(s)', (threads) => {
  it('holds one memory across 40 cycles, with the same results as a fresh backend', async () => {
    const small = new Model(net(16)).useGeneratedWeights(1);
    const big = new Model(net(64)).useGeneratedWeights(1);
    const fresh = async (m: Model) => {
      const r = await m.compile(createWasmBackend({ threads }));
      const out = bits(await r.run(input));
      r.dispose();
      return out;
    };
    const expected = { small: await fresh(small), big: await fresh(big) };
    const backend = createWasmBackend({ threads });
    expect(backend.threads).toBe(threads);
    const sizes = new Set<number>();
    for (let cycle = 0; cycle < 40; cycle++) {
      // alternate sizes: a reused memory must serve a bigger plan (it grows) and a smaller one
      const [model, want] = cycle % 3 === 2 ? [big, expected.big] : [small, expected.small];
      const runner = await model.compile(backend);
      expect(backend.memoryStats()).toMatchObject({ liveExecutables: 1, spareBytes: 0 });
      expect(bits(await runner.run(input))).toEqual(want);
      runner.dispose();
      const stats = backend.memoryStats();
      expect(stats).toMatchObject({ liveExecutables: 0, liveBytes: 0 });
      sizes.add(stats.spareBytes);
    }
    // after the first big plan the one memory only ever has that size
    expect(sizes.size).toBeLessThanOrEqual(2);
    expect(Math.max(...sizes)).toBeLessThan(8 * 2 ** 20);
  });

  it('counts executables that are alive at once, and their bytes', async () => {
    const backend = createWasmBackend({ threads });
    const model = new Model(net(16)).useGeneratedWeights(1);
    const a = await model.compile(backend);
    const b = await model.compile(backend);
    const stats = backend.memoryStats();
    expect(stats.liveExecutables).toBe(2);
    expect(stats.liveBytes).toBeGreaterThan(2 * a.weightBytes);
    a.dispose();
    a.dispose(); // a second dispose changes nothing
    expect(backend.memoryStats().liveExecutables).toBe(1);
    b.dispose();
    expect(backend.memoryStats()).toMatchObject({ liveExecutables: 0, liveBytes: 0 });
    expect(backend.memoryStats().spareBytes).toBeGreaterThan(0);
    backend.releaseSpareMemory();
    expect(backend.memoryStats().spareBytes).toBe(0);
    // and compiling afterwards still works, on a fresh instance
    const c = await model.compile(backend);
    expect(bits(await c.run(input)).length).toBe(10);
    c.dispose();
  });
});
