// Op-local scratch inside the activation arena. Some kernels need a temporary buffer while
// one op runs (the wasm Winograd convolution's transformed input and weights); the arena
// usually has room for it, because at any one op only some of the activations it was sized
// for are live. Placing scratch there keeps peak memory at the arena's size instead of
// arena + the largest scratch.
import type { ExecutionPlan, PlanOp, Slot } from './plan.js';

/** The arena slots an op reads or writes, by field name. */
export function opSlotEntries(op: PlanOp): [string, Slot][] {
  const slots: [string, Slot][] = op.kind === 'add' ? [['a', op.a], ['b', op.b], ['output', op.output]] : [['input', op.input], ['output', op.output]];
  if (op.kind === 'scaleChannels') slots.push(['scale', op.scale]);
  if ((op.kind === 'conv2d' || op.kind === 'linear') && op.residual) slots.push(['residual', op.residual]);
  return slots;
}

/** Where each op's scratch lies, in floats from the arena start, and the arena size that holds them. */
export interface ScratchPlacement {
  /** per op: the scratch offset, or -1 where the op asked for none */
  readonly offsets: readonly number[];
  /** plan.arenaSize, or more where some scratch found no room inside it */
  readonly arenaSize: number;
}

const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;

/** Per op, the [start, end) float ranges of the slots live at it, sorted by start. */
function busyRanges(plan: ExecutionPlan): (readonly (readonly [number, number])[])[] {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const bySlot = new Map<number, Slot>();
  const touch = (s: Slot, i: number) => {
    bySlot.set(s.id, s);
    if (!first.has(s.id)) first.set(s.id, i);
    last.set(s.id, Math.max(last.get(s.id) ?? -Infinity, i));
  };
  touch(plan.input, -1);
  plan.ops.forEach((op, i) => opSlotEntries(op).forEach(([, s]) => touch(s, i)));
  for (const s of plan.outputs) touch(s, Infinity);
  const slots = [...bySlot.values()];
  return plan.ops.map((_, i) =>
    slots
      .filter((s) => first.get(s.id)! <= i && i <= last.get(s.id)!)
      .map((s) => [s.offset, s.offset + s.size] as const)
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
export function arenaGaps(plan: ExecutionPlan, align = 16): number[] {
  return busyRanges(plan).map((busy) => Math.max(0, ...freeRuns(busy, plan.arenaSize, align).map(([lo, hi]) => hi - lo)));
}

/**
 * Places `floats[i]` floats of scratch for each op i (0: none) in arena space that no slot
 * live at op i occupies (a slot lives from its first op to its last; the input from the start,
 * the outputs to the end), at the lowest such offset aligned to `align` floats. Scratch that
 * fits nowhere inside goes right after the arena, which grows by the largest such scratch.
 * Scratch is only valid while its op runs: ops never share it.
 */
export function placeScratch(plan: ExecutionPlan, floats: readonly number[], align = 16): ScratchPlacement {
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
  return { offsets, arenaSize };
}
