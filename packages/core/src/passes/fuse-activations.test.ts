import { describe, expect, it } from 'vitest';
import { fuseActivations } from './fuse-activations.js';
import { add, conv, draftOf, relu } from './fixture.test-helper.js';

describe('fuseActivations', () => {
  it('moves an activation into the epilogue of the op that produces its input', () => {
    const d = draftOf([2, 2, 2, 2], [conv(0, 1, 2), relu(1, 2), add(2, 0, 3)], [3]);
    fuseActivations(d);
    expect(d.ops.map((o) => [o.kind, 'activation' in o ? o.activation : ''])).toEqual([['conv2d', 'relu'], ['add', 'none']]);
    expect((d.ops[1] as { a: number }).a).toBe(1);
  });

  it('fuses into an add, but not into another activation or an op that has one', () => {
    const d = draftOf([2, 2, 2, 2], [add(0, 0, 1), relu(1, 2), relu(2, 3)], [3]);
    fuseActivations(d);
    expect(d.ops.map((o) => o.kind)).toEqual(['add', 'activation']);
    expect(d.outputs).toEqual([3]);
  });

  it('leaves a value that another op reads, or that was asked for, unfused', () => {
    const twice = draftOf([2, 2, 2, 2], [conv(0, 1, 2), relu(1, 2), add(1, 2, 3)], [3]);
    fuseActivations(twice);
    expect(twice.ops.map((o) => o.kind)).toEqual(['conv2d', 'activation', 'add']);
    const tapped = draftOf([2, 2, 2], [conv(0, 1, 2), relu(1, 2)], [1, 2]);
    fuseActivations(tapped);
    expect(tapped.ops.map((o) => o.kind)).toEqual(['conv2d', 'activation']);
  });
});
