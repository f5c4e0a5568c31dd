// @cnn/kernels: the backend contract (re-exported from @cnn/core) and the backend factories.
// Each backend also has its own entry point (@cnn/kernels/js, @cnn/kernels/wasm) so bundlers
// keep only the one an app imports.
export type { Backend, Executable, ExecutionPlan, PlanOp, Slot, Activation } from '@cnn/core';
export { createJsBackend } from './js/index.js';
export { createWasmBackend } from './wasm/index.js';
