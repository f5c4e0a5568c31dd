// Placing op-local scratch in the activation arena: where each op's scratch fits among the
// slots live at that op.
import { opSlotEntries, type ExecutionPlan, type ScratchPlacement, type Slot } from './plan.js';
import { lifetimes } from './passes/liveness.js';
import { ARENA_ALIGN } from './passes/arena.js';

/**
 * When each slot of a plan is live: from its first op to its last (the input from the start, the
 * outputs to the end). A channel view counts as its base, which it keeps alive whole.
 */
export function slotLifetimes(plan: ExecutionPlan): Map<Slot, { readonly first: number; readonly last: number }> {
  const byId = new Map<number, Slot>();
  const key = (s: Slot): Slot => {
    if (s.base) return key(s.base);
    if (!byId.has(s.id)) byId.set(s.id, s);
    return byId.get(s.id)!;
  };
  const touched = plan.ops.map((op) => opSlotEntries(op).map(([, s]) => key(s)));
  return lifetimes(key(plan.input), touched, plan.outputs.map(key));
}

const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;

/** Per op, the [start, end) float ranges of the slots live at it, sorted by start. */
function busyRanges(plan: ExecutionPlan): (readonly (readonly [number, number])[])[] {
  const lives = [...slotLifetimes(plan)];
  return plan.ops.map((_, i) =>
    lives
      .filter(([, life]) => life.first <= i && i <= life.last)
      .map(([s]) => [s.offset, s.offset + s.size] as const)
      .sort((x, y) => x[0] - y[0]),
  );
}

/** The free runs between `busy` ranges inside [0, size), as aligned [start, end) pairs. */
function freeRuns(busy: readonly (readonly [number, number])[], size: number, align: number): [number, number][] {
  const runs: [number, number][] = [];
  let at = 0;
  for (const [lo, hi] of [...busy, [size, size] as const]) {
    const start = alignUp(at, align);
    if (lo > start) runs.push([start, Math.min(lo, size)]);
    at = Math.max(at, hi);
  }
  return runs;
}

/**
 * The largest run of arena floats (starting at a multiple of `align`) that no slot live at
 * op i occupies, for each op: how much scratch op i can have without growing the arena.
 */
export function arenaGaps(plan: ExecutionPlan, align = ARENA_ALIGN): number[] {
  return busyRanges(plan).map((busy) => Math.max(0, ...freeRuns(busy, plan.arenaSize, align).map(([lo, hi]) => hi - lo)));
}

/**
 * Places `floats[i]` floats of scratch for each op i (0: none) in arena space that no slot
 * live at op i occupies, at the lowest such offset aligned to `align` floats. Scratch that
 * fits nowhere inside goes right after the arena, which grows by the largest such scratch.
 * Scratch is only valid while its op runs: ops never share it.
 */
export function placeScratch(plan: ExecutionPlan, floats: readonly number[], align = ARENA_ALIGN): ScratchPlacement {
  const busy = busyRanges(plan);
  const base = alignUp(plan.arenaSize, align);
  let arenaSize = plan.arenaSize;
  const offsets = plan.ops.map((_, i) => {
    const need = floats[i] ?? 0;
    if (need <= 0) return -1;
    const run = freeRuns(busy[i], plan.arenaSize, align).find(([lo, hi]) => hi - lo >= need);
    if (run) return run[0];
    arenaSize = Math.max(arenaSize, base + need);
    return base;
  });
  return { floats: plan.ops.map((_, i) => Math.max(0, floats[i] ?? 0)), offsets, arenaSize };
}
