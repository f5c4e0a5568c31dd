// A model in int8: useInt8 makes its plans int8 (through Model.useLowering, so the int8 pass is
// bundled only by apps that call it), int8SourcePlan is the float plan calibration observes.
import type { CompileOptions, Model, PlanLowering } from '../model.js';
import type { ExecutionPlan } from '../plan.js';
import { lowerForInt8, type ResidualAdds } from './lower.js';
import { quantizePlan, type QuantizedModel } from './plan.js';

/**
 * Plans of `model` are int8 from now on, with these parameters (a W.int8.safetensors file's:
 * decodeQuantizedModel; or calibrate's). The file holds no float weights: without loaded ones,
 * the float plan the int8 pass starts from is lowered over generated placeholders.
 */
export function useInt8(model: Model, parameters: QuantizedModel): Model {
  const lowering: PlanLowering = Object.assign(
    (graph: Parameters<PlanLowering>[0], weights: Parameters<PlanLowering>[1], options: Parameters<PlanLowering>[2]) =>
      quantizePlan(lowerForInt8(graph, weights, { ...options, residualAdds: parameters.residualAdds }), parameters),
    { int8: parameters },
  );
  return model.useLowering(lowering);
}

/**
 * The float plan int8 quantisation starts from (lowerForInt8), leaving the model's weights in
 * place; with `observeAll`, every value is an output of its own (what calibration observes).
 */
export function int8SourcePlan(model: Model, options: CompileOptions & { residualAdds?: ResidualAdds } = {}, observeAll = false): ExecutionPlan {
  const { graph, weights, lower } = model.loweringInputs(options);
  // the lowering folds into weights it may own: make it copy them, so they stay for the next plan
  const copied = new Map([...weights].map(([k, t]) => [k, { shape: t.shape, get data() { return t.data; }, fresh: false }]));
  return lowerForInt8(graph, copied, { ...lower, observeAll, residualAdds: options.residualAdds });
}
