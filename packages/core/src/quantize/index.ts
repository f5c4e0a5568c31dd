// Post-training static int8 quantisation: lowering, calibration, the int8 pass and the file format.
export { lowerForInt8, INT8_FUSION_PASSES } from './lower.js';
export type { Int8LowerOptions, ResidualAdds } from './lower.js';
export { quantizePlan, calibrateModel, permuteColumns } from './plan.js';
export type { QuantizedLayer, QuantizedModel, CalibrateOptions } from './plan.js';
export { ActivationObserver } from './observers.js';
export type { ObserverKind } from './observers.js';
export { activationQuant, quantizeWeights, quantizeBias, lookupTable, roundHalfEven } from './numbers.js';
export type { ActivationRange, ActivationQuantOptions } from './numbers.js';
export { encodeQuantizedModel, decodeQuantizedModel, isQuantizedModelFile, INT8_MODEL_FORMAT } from './format.js';
export { calibrate } from './calibrate.js';
export type { CalibrationOptions } from './calibrate.js';
export { useInt8, isInt8, int8SourcePlan } from './model.js';
