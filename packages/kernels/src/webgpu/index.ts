// @cnn/kernels/webgpu: the WebGPU backend (WGSL kernels generated from templates). Its own entry
// point, so an app that uses only WebAssembly never downloads any of it.
export { createWebGpuBackend } from './backend.js';
export type { WebGpuBackend, WebGpuBackendOptions } from './backend.js';
export { WebGpuUnavailableError, describeAdapter } from './device.js';
export type { AdapterSummary, WebGpuUnavailableReason } from './device.js';
export type { WebGpuExecutable } from './executable.js';
export type { DispatchTime } from './executable.js';
export type { Precision } from './wgsl/common.js';
export { DEFAULT_CONV_GEMM_TUNING } from './wgsl/matmul.js';
export type { ConvGemmTuning } from './wgsl/matmul.js';
