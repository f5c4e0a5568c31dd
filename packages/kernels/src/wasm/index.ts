// @cnn/kernels/wasm: the WebAssembly SIMD backend (Rust kernels in kernels-wasm, loaded by hand).
import type { WorkerInit, WorkerPool } from './workers.js';
export { createWasmBackend } from './backend.js';
export type { WasmBackend, WasmBackendOptions, WasmExecutable, WasmMemoryStats } from './backend.js';
export type { WinogradMode } from './op-plans.js';
export {
  assertWasmSimdSupport,
  hasRelaxedSimd,
  loadKernelModule,
  sharedMemoryUnavailableReason,
  variantFileName,
  KERNELS_ABI_VERSION,
} from './loader.js';
export type { KernelExports, WasmSource, WasmVariant } from './loader.js';

/**
 * Starts the worker pool of a threaded kernel module (or any module built with kernels-wasm's
 * `threads`, such as @cnn/train's training binary): each worker instantiates `module` on the
 * shared `memory`, takes its stack region (`stackTops`, one per worker) and serves in
 * `threads_worker_loop(control, thread)`. Loaded on demand, so apps that never call it do not carry it.
 */
export const startWasmWorkerPool = async (init: WorkerInit): Promise<WorkerPool> => (await import('./workers.js')).startWorkerPool(init);
export type { WorkerInit, WorkerPool } from './workers.js';
