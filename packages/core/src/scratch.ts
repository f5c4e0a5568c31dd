// Op-local scratch inside the activation arena. Some kernels need a temporary buffer while
// one op runs (the wasm Winograd convolution's transformed input and weights); the arena
// usually has room for it, because at any one op only some of the activations it was sized
// for are live. A backend asks for it through the contract (Backend.scratchFloats) and
// compilePlan places it, which keeps peak memory at the arena's size instead of
// arena + the largest scratch.
import { opSlotEntries, type Backend, type Executable, type ExecutionPlan, type Slot } from './plan.js';
import { lifetimes } from './passes/liveness.js';
import { ShapeError, describeValue } from './errors.js';

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
  // only backends that ask for scratch load the placement code (an on-demand chunk in bundles)
  const { arenaGaps, placeScratch } = await import('./scratch-place.js');
  const floats = await backend.scratchFloats(plan, arenaGaps(plan));
  return backend.compile({ ...plan, scratch: placeScratch(plan, floats) });
}
