// Pass 8: every live buffer gets an offset in one activation arena; buffers whose lifetimes
// overlap never share floats.
import { ShapeError } from '../errors.js';
import { LIMITS, formatBytes } from '../limits.js';
import type { Buffers } from './liveness.js';

/** Arena offsets are aligned to this many floats (64 bytes) for vector loads. */
export const ARENA_ALIGN = 16;

export interface Arena {
  /** per buffer, in floats from the arena start */
  readonly offsets: readonly number[];
  /** floats the arena must hold */
  readonly size: number;
}

/** Places the buffers and checks the arena against LIMITS.arenaBytes. */
export function placeBuffers({ size, start, end }: Buffers): Arena {
  const offsets = planArena(size, start, end);
  let arenaSize = 0;
  for (let b = 0; b < size.length; b++) if (start[b] !== Infinity) arenaSize = Math.max(arenaSize, offsets[b] + size[b]);
  if (arenaSize * 4 > LIMITS.arenaBytes) {
    throw new ShapeError(
      `the activation arena would take ${formatBytes(arenaSize * 4)}, over the limit of ${formatBytes(LIMITS.arenaBytes)} (LIMITS.arenaBytes); use a smaller inputSize or batch`,
      { code: 'limit' },
    );
  }
  return { offsets, size: arenaSize };
}

/**
 * Greedy by size: the largest buffers are placed first, each at the lowest aligned offset
 * that does not collide with an already placed buffer whose lifetime overlaps.
 */
export function planArena(size: readonly number[], start: readonly number[], end: readonly number[]): number[] {
  const order = size.map((_, i) => i).filter((i) => start[i] !== Infinity).sort((a, b) => size[b] - size[a] || start[a] - start[b]);
  const offsets = new Array<number>(size.length).fill(0);
  const placed: number[] = [];
  for (const b of order) {
    const conflicts = placed
      .filter((p) => start[p] <= end[b] && start[b] <= end[p])
      .map((p) => [offsets[p], offsets[p] + size[p]] as const)
      .sort((x, y) => x[0] - y[0]);
    let offset = 0;
    for (const [lo, hi] of conflicts) {
      if (offset + size[b] <= lo) break;
      offset = Math.max(offset, Math.ceil(hi / ARENA_ALIGN) * ARENA_ALIGN);
    }
    offsets[b] = offset;
    placed.push(b);
  }
  return offsets;
}
