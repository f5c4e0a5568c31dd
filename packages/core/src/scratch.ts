// Op-local scratch inside the activation arena. Some kernels need a temporary buffer while
// one op runs (the wasm Winograd convolution's transformed input and weights); the arena
// usually has room for it, because at any one op only some of the activations it was sized
// for are live. A backend asks for it through the contract (Backend.scratchFloats) and
// compilePlan places it, which keeps peak memory at the arena's size instead of
// arena + the largest scratch.
import { opSlotEntries, type Backend, type Executable, type ExecutionPlan, type ScratchPlacement, type Slot } from './plan.js';
import { lifetimes } from './passes/liveness.js';
import { ShapeError, describeValue } from './errors.js';
import { ARENA_ALIGN } from './passes/arena.js';

const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;

/** When each slot of a plan is live: from its first op to its last (the input from the start, the outputs to the end). */
export function slotLifetimes(plan: ExecutionPlan): Map<Slot, { readonly first: number; readonly last: number }> {
  const byId = new Map<number, Slot>();
  const key = (s: Slot) => {
    if (!byId.has(s.id)) byId.set(s.id, s);
    return byId.get(s.id)!;
  };
  const touched = plan.ops.map((op) => opSlotEntries(op).map(([, s]) => key(s)));
  return lifetimes(key(plan.input), touched, plan.outputs.map(key));
}

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

/** Throws a ShapeError unless `backend` looks like a Backend (a name and a compile method). */
export function assertBackend(backend: unknown): asserts backend is Backend {
  const b = backend as Partial<Backend> | null;
  if (b === null || typeof b !== 'object' || typeof b.compile !== 'function' || typeof b.name !== 'string') {
    throw new ShapeError(`compile: expected a backend (an object with a name and compile(plan), such as createWasmBackend()), got ${describeValue(backend)}`);
  }
}

/**
 * Compiles a plan on a backend. A backend that needs op-local scratch (Backend.scratchFloats)
 * gets the plan with it placed in the arena (`plan.scratch`).
 */
export async function compilePlan<E extends Executable>(backend: { compile(plan: ExecutionPlan): Promise<E> } & Pick<Backend, 'scratchFloats'>, plan: ExecutionPlan): Promise<E> {
  assertBackend(backend);
  if (!backend.scratchFloats || plan.scratch) return backend.compile(plan);
  const floats = await backend.scratchFloats(plan, arenaGaps(plan));
  return backend.compile({ ...plan, scratch: placeScratch(plan, floats) });
}
