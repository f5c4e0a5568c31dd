import { describe, expect, it } from 'vitest';
import { compilePlan } from './scratch.js';
import { arenaGaps, placeScratch } from './scratch-place.js';
import { validatePlan } from './validate-plan.js';
import type { Backend, ExecutionPlan, PlanOp, Slot } from './plan.js';

let nextId = 0;
const slot = (offset: number, size: number): Slot => ({ id: nextId++, shape: [1, 1, 1, size], offset, size });
const act = (input: Slot, output: Slot): PlanOp => ({ kind: 'activation', input, output, activation: 'relu' });

describe('placeScratch', () => {
  // A chain x -> a -> b -> y over an arena of 100 floats: x [0, 40), a [40, 70), b [0, 30), y [30, 60).
  const x = slot(0, 40);
  const a = slot(40, 30);
  const b = slot(0, 30);
  const y = slot(30, 30);
  const plan: ExecutionPlan = { batch: 1, input: x, outputs: [y], ops: [act(x, a), act(a, b), act(b, y)], arenaSize: 100 };

  it('puts scratch where no live activation lies at its op, aligned, and leaves the arena size alone', () => {
    const { offsets, arenaSize } = placeScratch(plan, [16, 20, 8], 16);
    expect(arenaSize).toBe(100);
    // op 0: x [0, 40) and a [40, 70) are live -> first aligned room at 80
    // op 1: a [40, 70) and b [0, 30) -> the gap [30, 40) is too small for 20 -> 80
    // op 2: b [0, 30) and y [30, 60) -> 64
    expect(offsets).toEqual([80, 80, 64]);
  });

  it('uses a gap between live slots when it fits', () => {
    const { offsets } = placeScratch(plan, [0, 8, 0], 4);
    expect(offsets).toEqual([-1, 32, -1]);
  });

  it('grows the arena only by the largest scratch that fits nowhere inside', () => {
    const { offsets, arenaSize } = placeScratch(plan, [50, 0, 45], 16);
    expect(offsets).toEqual([112, -1, 112]);
    expect(arenaSize).toBe(112 + 50);
  });

  it('keeps the input live before the first op and the outputs after the last', () => {
    // y is a plan output: scratch for the last op may not reuse [30, 60) even though no later op reads y.
    const { offsets } = placeScratch(plan, [0, 0, 30], 1);
    expect(offsets[2]).toBe(60);
  });

  it('reports the largest free run at each op (aligned), what placeScratch can use without growing the arena', () => {
    // op 0: x [0, 40), a [40, 70) live; op 1: a, b [0, 30); op 2: b, y [30, 60).
    expect(arenaGaps(plan, 1)).toEqual([30, 30, 40]);
    expect(arenaGaps(plan, 16)).toEqual([20, 20, 36]);
    const gaps = arenaGaps(plan, 16);
    expect(placeScratch(plan, gaps, 16).arenaSize).toBe(100);
    expect(placeScratch(plan, gaps.map((g) => g + 1), 16).arenaSize).toBeGreaterThan(100);
  });

  it('hands a backend that asks for scratch the plan with it placed, and others the plan as it is', async () => {
    const seen: ExecutionPlan[] = [];
    const asked: (readonly number[])[] = [];
    const backend = (scratchFloats?: Backend['scratchFloats']): Backend => ({
      name: 'recorder',
      scratchFloats,
      async compile(p) {
        seen.push(p);
        return { run: async () => [], weightBytes: 0, arenaBytes: 0, dispose() {} };
      },
    });
    await compilePlan(backend(async (_p, free) => (asked.push(free), [0, 20, 0])), plan);
    expect(asked).toEqual([[20, 20, 36]]);
    expect(seen[0].scratch).toEqual({ floats: [0, 20, 0], offsets: [-1, 80, -1], arenaSize: 100 });
    await compilePlan(backend(), plan);
    expect(seen[1]).toBe(plan);
  });

  it('refuses scratch that does not lie in the arena', () => {
    const [u, v] = [slot(0, 30), slot(32, 30)];
    const valid: ExecutionPlan = { batch: 1, input: u, outputs: [u], ops: [act(u, v), act(v, u), act(u, v)], arenaSize: 100 };
    expect(() => validatePlan({ ...valid, scratch: { floats: [0, 20, 0], offsets: [-1, 64, -1], arenaSize: 100 } })).not.toThrow();
    expect(() => validatePlan({ ...valid, scratch: { floats: [0, 20, 0], offsets: [-1, 90, -1], arenaSize: 100 } })).toThrow(/plan.scratch \(op 1\): 20 floats at 90/);
    expect(() => validatePlan({ ...valid, scratch: { floats: [0], offsets: [-1], arenaSize: 100 } })).toThrow(/one entry per op/);
  });
});
