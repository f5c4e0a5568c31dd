// @cnn/kernels/testing: internals that tests and benchmarks inspect, kept out of the backend
// entries so an app's bundle and autocomplete hold only what apps use.
export { runJsOp } from './js/run-op.js';
export { usesWinograd, winogradBand, winogradTileSides } from './wasm/op-plans.js';
export { randomFloats } from './random-floats.js';
