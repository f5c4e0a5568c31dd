// Which plans a backend may run without validating them again. The compiler's plans are valid by
// construction (every model's plan goes through validatePlan in the tests), so backends accept
// those, and any plan validatePlan accepted, by identity: an app that only compiles models never
// bundles the validator. A checked plan is frozen, so it cannot change after the check (typed
// arrays stay writable, but their lengths are fixed).
import type { ExecutionPlan } from './plan.js';
import { ShapeError } from './errors.js';

const checked = new WeakSet<ExecutionPlan>();

function freeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || Object.isFrozen(value)) return;
  Object.freeze(value);
  // data properties only: a folded `weight` is a getter that scales on first read (folded-weights.ts)
  for (const d of Object.values(Object.getOwnPropertyDescriptors(value))) freeze(d.value);
}

/** Records `plan` as valid and freezes it; only for plans the compiler made or validatePlan passed. */
export function markPlanChecked<P extends ExecutionPlan>(plan: P): P {
  freeze(plan);
  checked.add(plan);
  return plan;
}

export function isPlanChecked(plan: ExecutionPlan): boolean {
  return checked.has(plan);
}

/** What a backend calls first: throws a ShapeError unless `plan` came from the compiler or passed validatePlan. */
export function assertPlanChecked(plan: ExecutionPlan, backend: string): void {
  if (typeof plan !== 'object' || plan === null || !checked.has(plan)) {
    throw new ShapeError(
      `${backend}: expected a plan made by Model.plan, lowerGraph or compilePlan, or one that validatePlan(plan) accepted; got one that was not checked (call validatePlan on a plan you built or changed)`,
    );
  }
}
