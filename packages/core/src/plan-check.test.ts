import { describe, expect, it } from 'vitest';
import { GraphBuilder } from './graph.js';
import { lowerGraph } from './compile.js';
import { validatePlan } from './validate-plan.js';
import { assertPlanChecked, isPlanChecked } from './plan-check.js';
import { compilePlan } from './scratch.js';
import { counterParameter } from './counter-weights.js';
import { ShapeError } from './errors.js';
import type { ExecutionPlan } from './plan.js';
import type { WeightTensor } from './weights.js';

function tinyPlan(): ExecutionPlan {
  const b = new GraphBuilder();
  const x = b.input([3, 8, 8]);
  b.output('logits', b.relu(b.conv2d(x, 'conv', { outChannels: 4, kernelSize: 3, padding: 1 })));
  const graph = b.build();
  const weights = new Map<string, WeightTensor>();
  for (const p of graph.parameters) weights.set(p.key, { shape: p.shape, data: counterParameter(p.key, p.shape) });
  return lowerGraph(graph, weights, { batch: 1, outputs: ['logits'] });
}

describe('checked plans', () => {
  it('the compiler marks and freezes its plans; a copy is not checked until validatePlan passes it', () => {
    const plan = tinyPlan();
    expect(isPlanChecked(plan)).toBe(true);
    expect(Object.isFrozen(plan) && Object.isFrozen(plan.ops[0]) && Object.isFrozen(plan.input)).toBe(true);
    expect(() => {
      (plan.ops[0] as { output: unknown }).output = plan.input;
    }).toThrow(TypeError);
    const copy: ExecutionPlan = { ...plan, ops: [...plan.ops] };
    expect(() => assertPlanChecked(copy, 'wasm')).toThrow(ShapeError);
    expect(() => assertPlanChecked(copy, 'wasm')).toThrow(/wasm: expected a plan made by Model.plan, lowerGraph or compilePlan, or one that validatePlan\(plan\) accepted/);
    validatePlan(copy);
    expect(() => assertPlanChecked(copy, 'wasm')).not.toThrow();
  });

  it('validatePlan does not mark a plan it rejects', () => {
    const plan = tinyPlan();
    const bad: ExecutionPlan = { ...plan, arenaSize: -1 };
    expect(() => validatePlan(bad)).toThrow(ShapeError);
    expect(isPlanChecked(bad)).toBe(false);
  });

  it('compilePlan keeps a checked plan checked after placing scratch, and rejects malformed scratch requests', async () => {
    const plan = tinyPlan();
    const seen: ExecutionPlan[] = [];
    const backend = (floats: unknown) => ({
      name: 'probe',
      scratchFloats: async () => floats as number[],
      compile: async (p: ExecutionPlan) => (seen.push(p), { dispose() {} }) as never,
    });
    await compilePlan(backend(plan.ops.map(() => 16)), plan);
    expect(seen[0].scratch?.floats).toEqual(plan.ops.map(() => 16));
    expect(isPlanChecked(seen[0])).toBe(true);
    for (const bad of [[Number.NaN], plan.ops.map(() => -1), plan.ops.map(() => 1.5), 'x']) {
      await expect(compilePlan(backend(bad), plan)).rejects.toThrow(/scratchFloats must return one non-negative integer per op/);
    }
  });
});
