// @cnn/kernels/wasm/threads: the worker pool a wasm backend needs to share ops between threads
// in a browser, `createWasmBackend({ threads: 'auto', workers: wasmWorkers })`. An entry of its
// own so that an app on one thread bundles no worker code with any bundler (esbuild's defaults
// inline every lazy import); Node's build brings its own pool (#kernels/node).
import { startWorkerPool, type WorkerPool } from './workers.js';
import type { WorkerInit } from './worker-protocol.js';

/** Starts the workers of a threaded executable and resolves when all of them serve. */
export type WasmWorkers = (init: WorkerInit) => Promise<WorkerPool>;

/** Web Workers from a Blob URL (worker_threads in Node), one per extra thread. */
export const wasmWorkers: WasmWorkers = startWorkerPool;

export type { WorkerInit } from './worker-protocol.js';
export type { WorkerPool } from './workers.js';
