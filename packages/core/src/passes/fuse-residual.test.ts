import { describe, expect, it } from 'vitest';
import { fuseResidualAdds } from './fuse-residual.js';
import { add, conv, draftOf, relu } from './fixture.test-helper.js';

describe('fuseResidualAdds', () => {
  it('adds the other operand in the epilogue of the layer that produces the later one', () => {
    // 0 -> conv -> 1 -> conv -> 2; 3 = 2 + 1: conv #2 is later, 1 becomes its residual
    const d = draftOf([2, 2, 2, 2], [conv(0, 1, 2), conv(1, 2, 2), add(1, 2, 3)], [3]);
    fuseResidualAdds(d);
    expect(d.ops).toHaveLength(2);
    expect(d.ops[1]).toMatchObject({ kind: 'conv2d', input: 1, output: 2, residual: 1 });
    expect(d.outputs).toEqual([2]);
  });

  it("hands the add's activation to the layer", () => {
    const d = draftOf([2, 2, 2], [conv(0, 1, 2), { ...add(1, 0, 2), activation: 'relu' } as ReturnType<typeof add>], [2]);
    fuseResidualAdds(d);
    expect(d.ops).toEqual([expect.objectContaining({ kind: 'conv2d', residual: 0, activation: 'relu' })]);
  });

  it('keeps x + x, adds whose later operand comes from a non-layer or an activated layer', () => {
    for (const ops of [
      [conv(0, 1, 2), add(1, 1, 2)],
      [relu(0, 1), add(1, 0, 2)],
      [{ ...conv(0, 1, 2), activation: 'relu' } as ReturnType<typeof conv>, add(1, 0, 2)],
    ]) {
      const d = draftOf([2, 2, 2], ops, [2]);
      fuseResidualAdds(d);
      expect(d.ops.map((o) => o.kind)).toContain('add');
    }
  });
});
