// @cnn/kernels/wasm/threads: the worker pool a wasm backend needs to share ops between threads
// in a browser, `createWasmBackend({ threads: 'auto', workers: wasmWorkers })`. An entry of its
// own so that an app on one thread bundles no worker code with any bundler (esbuild's defaults
// inline every lazy import); Node's build brings its own pool (#kernels/node).
import { parkThreads, startThreads, takeParked } from './workers.js';
import { sharedMemoryUnavailableReason } from './loader.js';

/**
 * What a wasm backend needs to run on more than one thread: the shared-memory check, the
 * worker pool, and the parking of idle workers between compiles. Pass `wasmWorkers`; the
 * members are the backend's business.
 */
export interface WasmWorkers {
  /** Why this engine cannot share wasm memory between threads (not cross-origin isolated, ...), or undefined. */
  readonly sharedMemoryUnavailableReason: typeof sharedMemoryUnavailableReason;
  readonly startThreads: typeof startThreads;
  readonly takeParked: typeof takeParked;
  readonly parkThreads: typeof parkThreads;
}

/** Web Workers from a Blob URL (worker_threads in Node), one per extra thread. */
export const wasmWorkers: WasmWorkers = { sharedMemoryUnavailableReason, startThreads, takeParked, parkThreads };

export type { WorkerInit } from './worker-protocol.js';
export type { WorkerPool } from './workers.js';
