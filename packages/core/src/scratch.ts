// Op-local scratch inside the activation arena. Some kernels need a temporary buffer while
// one op runs (the wasm Winograd convolution's transformed input and weights); the arena
// usually has room for it, because at any one op only some of the activations it was sized
// for are live. A backend asks for it through the contract (Backend.scratchFloats) and
// compilePlan places it, which keeps peak memory at the arena's size instead of
// arena + the largest scratch.
import type { Backend, Executable, ExecutionPlan } from './plan.js';
import { ShapeError, describeValue } from './errors.js';
import { isPlanChecked, markPlanChecked } from './plan-check.js';
import { arenaGaps, placeScratch } from './scratch-place.js';

export { slotLifetimes } from './scratch-place.js';

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
  if (!Array.isArray(floats) || floats.length !== plan.ops.length || !floats.every((f) => Number.isSafeInteger(f) && f >= 0)) {
    throw new ShapeError(`compile: the backend's scratchFloats must return one non-negative integer per op (${plan.ops.length}), got ${describeValue(floats)}`);
  }
  // placeScratch keeps every range inside the arena, so a checked plan stays checked
  const placed = { ...plan, scratch: placeScratch(plan, floats) };
  return backend.compile(isPlanChecked(plan) ? markPlanChecked(placed) : placed);
}
