// A model in int8: useInt8 makes its plans int8 (through Model.lowering, so the int8 pass is
// bundled only by apps that call it), int8SourcePlan is the float plan calibration observes.
import type { CompileOptions, Model, PlanLowering } from '../model.js';
import type { ExecutionPlan } from '../plan.js';
import type { WeightMap } from '../weights.js';
import { lowerForInt8, type ResidualAdds } from './lower.js';
import { quantizePlan, type QuantizedModel } from './plan.js';

/**
 * Plans of `model` are int8 from now on, with these parameters (a W.int8.safetensors file's:
 * decodeQuantizedModel; or calibrate's). The file holds no float weights: without loaded ones,
 * the float plan the int8 pass starts from is lowered over generated placeholders, which the
 * int8 parameters replace.
 */
export function useInt8(model: Model, parameters: QuantizedModel): Model {
  const lowering: PlanLowering = Object.assign(
    (...[graph, weights, options]: Parameters<PlanLowering>) => quantizePlan(lowerForInt8(graph, weights, { ...options, residualAdds: parameters.residualAdds }), parameters),
    { int8: parameters },
  );
  if (!model.hasWeights) model.useGeneratedWeights(1);
  model.lowering = lowering;
  return model;
}

/** Whether `model` plans in int8 (useInt8). */
export function isInt8(model: Model): boolean {
  return model.lowering?.int8 !== undefined;
}

/**
 * The float plan int8 quantisation starts from (lowerForInt8) for these compile options; with
 * `observeAll`, every value is an output of its own (what calibration observes). The model's
 * weights stay as they are (load them with keepWeights to plan more than once).
 */
export function int8SourcePlan(model: Model, options: CompileOptions & { residualAdds?: ResidualAdds } = {}, observeAll = false): ExecutionPlan {
  const saved = model.lowering;
  // the lowering may fold into tensors it owns: let it copy them, so they serve the next plan too
  const borrowed = (weights: WeightMap) => new Map([...weights].map(([k, t]) => [k, { shape: t.shape, get data() { return t.data; }, fresh: false }]));
  model.lowering = (graph, weights, lower) => lowerForInt8(graph, borrowed(weights), { ...lower, observeAll, residualAdds: options.residualAdds });
  try {
    return model.plan(options);
  } finally {
    model.lowering = saved;
  }
}
