// @cnn/core: tensors, network description, weights, compilation and the backend contract.
export * from './plan.js';
export { Tensor, nchwToNhwc, nhwcToNchw } from './tensor.js';
export { GraphBuilder } from './graph.js';
export type { Graph, GraphNode, NodeOp, ParameterSpec, Shape, Value, Pair, Conv2dOptions, Pool2dOptions } from './graph.js';
export { WeightsError, ShapeError } from './errors.js';
export { parseSafetensors, readFloat32, writeSafetensors } from './safetensors.js';
export type { SafetensorsDtype, SafetensorsEntry, SafetensorsFile } from './safetensors.js';
export { decodeWeights, validateWeights, generateWeights, readSource } from './weights.js';
export type { WeightTensor, WeightMap, WeightsSource, LoadWeightsOptions } from './weights.js';
export { lowerGraph, planArena } from './compile.js';
export { summarize, formatSummary } from './summary.js';
export type { Summary, SummaryRow } from './summary.js';
export { Model, Runner, buildGraph } from './model.js';
export type { Architecture, CompileOptions, ModelMetadata, Preprocessing } from './model.js';
export { counterParameter, counterInput, counterUniform, fmix32, keyHash } from './counter-weights.js';
export { parseNpy, writeNpy } from './npy.js';
export { convNormActivation, makeDivisible } from './layers.js';
export type { ConvNormOptions } from './layers.js';
