// Lowering a graph with weights into an ExecutionPlan, as a list of passes over one draft
// (passes/draft.ts): prune to the requested outputs, lower each node, fold channel affines
// (batch norm, layer scale) into convolutions, fuse activations and residual additions into
// the producing kernel, then any passes the architecture asks for (the concat models: channel
// views instead of copies), then plan the activation arena by liveness so buffers are reused.
import type { Graph } from './graph.js';
import type { Activation, ExecutionPlan } from './plan.js';
import type { WeightTensor } from './weights.js';
import type { Draft } from './passes/draft.js';
import { pruneGraph } from './passes/prune.js';
import { lowerNodes } from './passes/lower.js';
import { foldChannelAffines } from './passes/fold-affine.js';
import { fuseActivations } from './passes/fuse-activations.js';
import { fuseResidualAdds } from './passes/fuse-residual.js';
import { bufferLiveness } from './passes/liveness.js';
import { placeBuffers } from './passes/arena.js';
import { emitPlan } from './passes/emit.js';
import { markPlanChecked } from './plan-check.js';

export interface LowerOptions {
  batch: number;
  /** names from graph.outputs, in the order the runner returns them */
  outputs: readonly string[];
  /** rewrites after the standard ones (FUSION_PASSES), in order: an Architecture's planPasses */
  passes?: readonly PlanPass[];
}

/** A rewrite of the draft between lowering and arena planning (passes/). */
export type PlanPass = (draft: Draft) => void;

/** The rewrites between lowering and arena planning that every plan takes, in order (each one reads the last one's draft). */
export const FUSION_PASSES: readonly PlanPass[] = [foldChannelAffines, fuseActivations, fuseResidualAdds];

export function lowerGraph(graph: Graph, weights: ReadonlyMap<string, WeightTensor>, options: LowerOptions): ExecutionPlan {
  const draft = lowerNodes(graph, weights, pruneGraph(graph, options.outputs), options.batch);
  for (const pass of [...FUSION_PASSES, ...(options.passes ?? [])]) pass(draft);
  const buffers = bufferLiveness(draft);
  return markPlanChecked(emitPlan(draft, buffers, placeBuffers(buffers)));
}

export { planArena } from './passes/arena.js';
/**
 * Concatenation without copies (passes/channel-views.ts): an opt-in pass, listed in the
 * `planPasses` of the architectures that concatenate (DenseNet, GoogLeNet, Inception), so that
 * apps of the other models do not bundle it.
 */
export { viewConcatInputs } from './passes/channel-views.js';
export type { Activation };
