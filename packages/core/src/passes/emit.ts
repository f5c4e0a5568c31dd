// Pass 9: the execution plan: surviving values become slots (numbered densely, in id order)
// at their buffer's arena offset, and every op's value ids become those slots.
import { OP_SLOTS, type ExecutionPlan, type PlanOp, type Slot } from '../plan.js';
import type { Draft, DraftOp, ValueRef } from './draft.js';
import type { Buffers } from './liveness.js';
import type { Arena } from './arena.js';
import { defineFoldedWeight } from '../folded-weights.js';

export function emitPlan(draft: Draft, { bufferOf }: Buffers, arena: Arena): ExecutionPlan {
  const slots: (Slot | undefined)[] = [];
  const ids: number[] = [];
  let id = 0;
  draft.values.forEach((v, ref) => {
    if (v) ids[ref] = id++;
  });
  const slotOf = (ref: ValueRef): Slot => {
    if (slots[ref]) return slots[ref];
    const v = draft.values[ref]!;
    const offset = arena.offsets[bufferOf[ref]] + (v.viewOf?.channelOffset ?? 0);
    const base = v.viewOf ? { base: slotOf(v.viewOf.base) } : {};
    return (slots[ref] = { id: ids[ref], shape: v.shape, offset, size: v.shape.reduce((a, b) => a * b, 1), ...base });
  };
  draft.values.forEach((v, ref) => {
    if (v) slotOf(ref);
  });
  return {
    batch: draft.batch,
    input: slots[draft.input]!,
    outputs: draft.outputs.map((v) => slots[v]!),
    ops: draft.ops.map((op) => withSlots(op, slots)),
    arenaSize: arena.size,
  };
}

function withSlots(op: DraftOp, slots: readonly (Slot | undefined)[]): PlanOp {
  const planOp: Record<string, unknown> = { ...op };
  delete planOp.fold;
  delete planOp.foldScale;
  const scale = (op as { foldScale?: Float64Array }).foldScale;
  if (scale) defineFoldedWeight(planOp, planOp.weight as Float32Array, scale);
  for (const field of OP_SLOTS[op.kind]) {
    const ref = planOp[field] as number | undefined;
    if (ref === undefined) delete planOp[field];
    else planOp[field] = slots[ref];
  }
  return planOp as unknown as PlanOp;
}
