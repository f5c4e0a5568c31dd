import { describe, expect, it } from 'vitest';
import { emitPlan } from './emit.js';
import { bufferLiveness } from './liveness.js';
import { placeBuffers } from './arena.js';
import { affine, conv, draftOf } from './fixture.test-helper.js';

describe('emitPlan', () => {
  it('numbers the surviving values densely, attaches slots and drops pass-only fields', () => {
    const d = draftOf([2, 2, 2, 2], [conv(0, 1, 2), affine(1, 3, 2, 2, 1)], [3]);
    d.values[2] = undefined;
    const buffers = bufferLiveness(d);
    const plan = emitPlan(d, buffers, placeBuffers(buffers));
    expect([plan.input.id, ...plan.ops.map((o) => o.output.id)]).toEqual([0, 1, 2]);
    expect(plan.outputs[0].id).toBe(2);
    expect(plan.ops[1]).not.toHaveProperty('fold');
    expect(plan.ops[0]).not.toHaveProperty('residual');
    expect(plan.ops[1]).toMatchObject({ kind: 'channelAffine', scale: new Float32Array([2, 2]), shift: new Float32Array([1, 1]) });
  });
});
