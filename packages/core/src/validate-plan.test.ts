import { describe, expect, it } from 'vitest';
import { validatePlan } from './validate-plan.js';
import { ShapeError } from './errors.js';
import type { ExecutionPlan, PlanOp, Slot } from './plan.js';

const slot = (id: number, offset: number, shape: [number, number, number, number]): Slot => ({ id, shape, offset, size: shape.reduce((a, b) => a * b, 1) });
const x = slot(0, 0, [1, 2, 2, 4]);
const y = slot(1, 16, [1, 2, 2, 4]);
const planOf = (op: PlanOp): ExecutionPlan => ({ batch: 1, input: x, outputs: [y], ops: [op], arenaSize: 64 });
const conv = (over: Partial<Extract<PlanOp, { kind: 'conv2d' }>> = {}): PlanOp => ({
  kind: 'conv2d', input: x, output: y, weight: new Float32Array(16), bias: new Float32Array(4),
  kernel: [1, 1], stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, activation: 'none', ...over,
});

describe('validatePlan', () => {
  it('accepts a consistent plan', () => {
    expect(() => validatePlan(planOf(conv()))).not.toThrow();
  });

  it('names the op, the field, what was expected and what came', () => {
    expect(() => validatePlan(planOf(conv({ groups: 3 })))).toThrow('plan.ops[0] (conv2d): groups 3 must divide inC 4 and outC 4');
    expect(() => validatePlan(planOf(conv({ weight: new Float32Array(15) })))).toThrow(/weight has 15 floats, expected 16/);
    expect(() => validatePlan(planOf(conv({ activation: 'swish' as never })))).toThrow(/unknown activation 'swish'/);
    expect(() => validatePlan(planOf({ kind: 'copyChannels', input: x, output: y, channelOffset: 2 }))).toThrow(/channels \[2, 6\) do not fit output channels 4/);
    expect(() => validatePlan(planOf({ kind: 'layerNorm', input: x, output: y, weight: new Float32Array(4), bias: new Float32Array(4), eps: -1, activation: 'none' }))).toThrow(/eps must be >= 0/);
  });

  it('checks fake quantisation parameters as torch does, and a positive finite scale', () => {
    const fq = (over: Partial<Extract<PlanOp, { kind: 'fakeQuantize' }>>): PlanOp => ({ kind: 'fakeQuantize', input: x, output: y, scale: 0.1, zeroPoint: 0, quantMin: -128, quantMax: 127, ...over });
    expect(() => validatePlan(planOf(fq({})))).not.toThrow();
    const got = (scale: number, zeroPoint: number, quantMin: number, quantMax: number) => `got scale ${scale}, zeroPoint ${zeroPoint}, quantMin ${quantMin}, quantMax ${quantMax}`;
    expect(() => validatePlan(planOf(fq({ scale: 0 })))).toThrow(
      `plan.ops[0] (fakeQuantize): expected a positive float32 scale and integers quantMin <= zeroPoint <= quantMax, quantMin < quantMax, within +-2^24; ${got(0, 0, -128, 127)}`,
    );
    expect(() => validatePlan(planOf(fq({ scale: 1e-50 })))).toThrow(got(1e-50, 0, -128, 127)); // 0 in float32
    expect(() => validatePlan(planOf(fq({ scale: 1e-39 })))).toThrow(got(1e-39, 0, -128, 127)); // 1 / scale overflows float32
    expect(() => validatePlan(planOf(fq({ scale: NaN })))).toThrow(got(NaN, 0, -128, 127));
    expect(() => validatePlan(planOf(fq({ zeroPoint: 128 })))).toThrow(got(0.1, 128, -128, 127));
    expect(() => validatePlan(planOf(fq({ zeroPoint: 0.5 })))).toThrow(got(0.1, 0.5, -128, 127));
    expect(() => validatePlan(planOf(fq({ quantMin: 5, quantMax: 5, zeroPoint: 5 })))).toThrow(got(0.1, 5, 5, 5));
    expect(() => validatePlan(planOf(fq({ quantMax: 2 ** 25 })))).toThrow(got(0.1, 0, -128, 2 ** 25));
    expect(() => validatePlan(planOf(fq({ output: slot(1, 16, [1, 2, 2, 3]) })))).toThrow(/input and output sizes differ \(16 vs 12\)/);
  });

  it('checks every slot of an op against the arena, the residual included', () => {
    const far = slot(2, 60, [1, 2, 2, 4]);
    expect(() => validatePlan(planOf(conv({ residual: far })))).toThrow(/residual \[60, 76\) lies outside the arena of 64 floats/);
  });

  it('takes channel views only where CHANNEL_VIEW_FIELDS allows, and only inside their base', () => {
    const wide = slot(2, 32, [1, 2, 2, 8]);
    const view = (offset: number, c: number): Slot => ({ ...slot(3, 32 + offset, [1, 2, 2, c]), base: wide });
    expect(() => validatePlan(planOf(conv({ output: view(4, 4) })))).not.toThrow();
    expect(() => validatePlan(planOf(conv({ output: view(4, 4), residual: y })))).toThrow(/output is a channel view .* which this op does not take/);
    expect(() => validatePlan(planOf(conv({ input: view(0, 4) })))).toThrow(/plan.ops\[0\] \(conv2d\): input is a channel view \(a strided slice of slot 2\)/);
    expect(() => validatePlan(planOf(conv({ output: view(6, 4) })))).toThrow(/output \[1, 2, 2, 4\] at channel 6 does not lie inside its base \[1, 2, 2, 8\]/);
    expect(() => validatePlan({ ...planOf(conv()), outputs: [view(0, 4)] })).toThrow(/an output must be a dense slot/);
  });

  it('refuses an op kind it does not know, as a ShapeError', () => {
    const unknown = { kind: 'gather', input: x, output: y } as unknown as PlanOp;
    expect(() => validatePlan(planOf(unknown))).toThrow(ShapeError);
    expect(() => validatePlan(planOf(unknown))).toThrow("plan.ops[0] (gather): unsupported op kind 'gather'");
  });
});
