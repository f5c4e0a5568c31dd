import { describe, expect, it } from 'vitest';
import { planArena, placeBuffers } from './arena.js';
import { LIMITS } from '../limits.js';
import { ShapeError } from '../errors.js';

describe('planArena', () => {
  it('reuses floats between buffers whose lifetimes do not overlap', () => {
    // a chain a -> b -> c -> d: a and c can share, b and d can share
    const offsets = planArena([100, 100, 100, 100], [-1, 0, 1, 2], [0, 1, 2, Infinity]);
    expect(offsets).toEqual([0, 112, 0, 112]);
  });

  it('leaves never-touched buffers out of the arena size', () => {
    expect(placeBuffers({ bufferOf: [], size: [10, 1000], start: [-1, Infinity], end: [0, -Infinity] }).size).toBe(10);
  });

  it('refuses an arena over LIMITS.arenaBytes with a typed error', () => {
    const floats = LIMITS.arenaBytes / 4 + 1;
    expect(() => placeBuffers({ bufferOf: [0], size: [floats], start: [-1], end: [Infinity] })).toThrow(ShapeError);
  });
});
