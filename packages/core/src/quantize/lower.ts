// The float plan an int8 plan is made from: the fp32 passes, except that an activation fuses
// into a layer only where an int8 epilogue applies it as a clamp (none, relu, relu6), so every
// other function keeps a value of its own to calibrate and becomes a 256-entry table; and no
// channel views (a concat stays a float copy).
import type { Graph } from '../graph.js';
import { Q8_ACTIVATIONS, type Activation, type ExecutionPlan } from '../plan.js';
import type { WeightTensor } from '../weights.js';
import type { LowerOptions } from '../compile.js';
import { pruneGraph } from '../passes/prune.js';
import { lowerNodes } from '../passes/lower.js';
import { foldChannelAffines } from '../passes/fold-affine.js';
import { fuseResidualAdds } from '../passes/fuse-residual.js';
import { bufferLiveness } from '../passes/liveness.js';
import { placeBuffers } from '../passes/arena.js';
import { emitPlan } from '../passes/emit.js';
import { markPlanChecked } from '../plan-check.js';
import { Fuser, type Draft, type DraftOp } from '../passes/draft.js';

const clampFuses = (p: DraftOp, a: Activation) =>
  (p.kind === 'conv2d' || p.kind === 'linear' || p.kind === 'add') && (Q8_ACTIVATIONS as readonly Activation[]).includes(a);

/** fuse-activations.ts's pass, for the activations clampFuses allows only. */
function fuseClampActivations(draft: Draft): void {
  const fuser = new Fuser(draft);
  draft.ops.forEach((op, i) => {
    if (op.kind !== 'activation') return;
    const p = fuser.producer(op.input);
    if (!p || !('activation' in p) || p.activation !== 'none' || !clampFuses(p, op.activation) || !fuser.fusable(op.input)) return;
    p.activation = op.activation;
    fuser.absorb(i, op.input);
  });
  fuser.finish();
}

/** The fusion passes of an int8 plan's float source, in order. */
export const INT8_FUSION_PASSES: readonly ((draft: Draft) => void)[] = [foldChannelAffines, fuseClampActivations, fuseResidualAdds];


export interface Int8LowerOptions extends LowerOptions {
  /**
   * make every value a plan output with floats of its own (after the requested outputs, in
   * slot id order), for calibration: plan.outputs[i].id says which slot each one is. Slot ids
   * are the same as without it.
   */
  readonly observeAll?: boolean;
  /**
   * 'fused' (default): a residual add runs in the epilogue of the layer that produces its later
   * operand, one rounding; 'separate': that layer rounds to its own scale and a q8add follows,
   * as torch's eager-mode quantised models do (add_relu, skip_add).
   */
  readonly residualAdds?: ResidualAdds;
}

export type ResidualAdds = 'fused' | 'separate';

export function lowerForInt8(graph: Graph, weights: ReadonlyMap<string, WeightTensor>, options: Int8LowerOptions): ExecutionPlan {
  const draft = lowerNodes(graph, weights, pruneGraph(graph, options.outputs), options.batch);
  for (const pass of INT8_FUSION_PASSES) if (pass !== fuseResidualAdds || options.residualAdds !== 'separate') pass(draft);
  if (options.observeAll) {
    const requested = new Set(draft.outputs);
    draft.values.forEach((v, ref) => {
      if (v && !requested.has(ref)) draft.outputs.push(ref);
    });
  }
  const buffers = bufferLiveness(draft);
  return markPlanChecked(emitPlan(draft, buffers, placeBuffers(buffers)));
}
