import { describe, expect, it } from 'vitest';
import { bufferLiveness, lifetimes } from './liveness.js';
import { conv, draftOf, relu } from './fixture.test-helper.js';

describe('bufferLiveness', () => {
  it('lives from the first write to the last read; the input from -1, outputs to the end', () => {
    const d = draftOf([2, 2, 2], [conv(0, 1, 2), relu(1, 2)], [2]);
    const b = bufferLiveness(d);
    expect(b.bufferOf).toEqual([0, 1, 2]);
    expect(b.start).toEqual([-1, 0, 1]);
    expect(b.end).toEqual([0, 1, Infinity]);
    expect(b.size).toEqual([8, 8, 8]);
  });

  it('gives a flatten alias its source buffer and skips removed values', () => {
    // value 3 flattens value 1; value 4 was fused away
    const d = draftOf([2, 2, 2, 2, 2], [conv(0, 1, 2), relu(3, 2)], [2]);
    d.values[3] = { shape: [1, 1, 1, 8], aliasOf: 1 };
    d.values[4] = undefined;
    const b = bufferLiveness(d);
    expect(b.bufferOf).toEqual([0, 1, 2, 1, -1]);
    expect(b.end[1]).toBe(1);
  });
});

describe('lifetimes', () => {
  it('works over any key', () => {
    const lives = lifetimes('x', [['x', 'a'], ['a', 'y']], ['y']);
    expect(Object.fromEntries(lives)).toEqual({ x: { first: -1, last: 0 }, a: { first: 0, last: 1 }, y: { first: 1, last: Infinity } });
  });
});
