// Starts and stops the workers of a threaded executable. Each worker instantiates the kernels
// on the executable's shared memory, moves its stack pointer to its own region, reports
// ready, and then lives inside `threads_worker_loop` (kernels-wasm/src/threads.rs): ops are
// handed over through atomics in shared memory, never through messages.
import { isNode } from './loader.js';

/**
 * The whole worker, as plain JavaScript so that it needs no bundling and runs both as a
 * Node `worker_threads` eval script (CommonJS or, under --input-type=module, ESM: hence the
 * dynamic import) and as a browser Web Worker from a Blob URL.
 */
const WORKER_SOURCE = `'use strict';
function start(post, init) {
  var exports;
  try {
    exports = new WebAssembly.Instance(init.module, { env: { memory: init.memory } }).exports;
    exports.__stack_pointer.value = init.stackTop;
  } catch (e) {
    post({ error: String((e && e.message) || e) });
    return false;
  }
  post({ ready: true });
  exports.threads_worker_loop(init.control, init.thread);
  return true;
}
if (typeof process === 'object' && process !== null && process.versions && process.versions.node) {
  import('node:worker_threads').then(function (threads) {
    var parentPort = threads.parentPort;
    parentPort.once('message', function (init) {
      start(function (m) { parentPort.postMessage(m); }, init);
    });
  });
} else {
  self.onmessage = function (event) {
    self.onmessage = null;
    start(function (m) { self.postMessage(m); }, event.data);
    self.close();
  };
}
`;

export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** byte address of the control block (kernels-wasm/src/threads.rs `Control`) */
  control: number;
  /** top of each worker's stack region (16-byte aligned), one per worker; worker i + 1 gets stackTops[i] */
  stackTops: number[];
}

export interface WorkerPool {
  readonly size: number;
  /** Resolves once every worker has exited (after `terminate`). */
  readonly exited: Promise<void>;
  /** Terminates every worker; call after `threads_shutdown` so none is inside a kernel. */
  terminate(): void;
}

interface StartedWorker {
  ready: Promise<void>;
  exited: Promise<void>;
  terminate(): void;
}

function readyFrom(message: unknown): Error | undefined {
  const m = message as { ready?: boolean; error?: string } | undefined;
  if (m?.ready) return undefined;
  return new Error(`a kernel worker failed to start: ${m?.error ?? String(message)}`);
}

async function startNodeWorker(init: Omit<WorkerInit, 'stackTops'>, stackTop: number, index: number): Promise<StartedWorker> {
  const { Worker } = await import('node:worker_threads');
  const worker = new Worker(WORKER_SOURCE, { eval: true, name: `cnn-wasm-kernels-${index}` });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    worker.once('message', (m) => {
      const error = readyFrom(m);
      if (error) reject(error);
      else resolve();
    });
    worker.once('error', reject);
    void exited.then(() => reject(new Error('a kernel worker exited before it was ready')));
  });
  worker.postMessage({ ...init, stackTop, thread: index });
  // Once serving, a worker must not keep the process alive if an executable is never disposed.
  void ready.then(() => worker.unref(), () => {});
  return { ready, exited, terminate: () => void worker.terminate() };
}

function startWebWorker(url: string, init: Omit<WorkerInit, 'stackTops'>, stackTop: number, index: number): StartedWorker {
  const worker = new Worker(url, { name: `cnn-wasm-kernels-${index}` });
  let markExited = () => {};
  const exited = new Promise<void>((resolve) => (markExited = resolve));
  const ready = new Promise<void>((resolve, reject) => {
    worker.onmessage = (event) => {
      worker.onmessage = null;
      const error = readyFrom(event.data);
      if (error) reject(error);
      else resolve();
    };
    worker.onerror = (event) => reject(new Error(`a kernel worker failed: ${event.message}`));
  });
  worker.postMessage({ ...init, stackTop, thread: index });
  return {
    ready,
    exited,
    terminate: () => {
      worker.terminate();
      markExited();
    },
  };
}

/** Starts one worker per stack region and resolves when all of them serve. */
export async function startWorkerPool(init: WorkerInit): Promise<WorkerPool> {
  const { stackTops, ...shared } = init;
  let started: StartedWorker[];
  let revoke = () => {};
  if (isNode) {
    started = await Promise.all(stackTops.map((top, i) => startNodeWorker(shared, top, i + 1)));
  } else {
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
    revoke = () => URL.revokeObjectURL(url);
    started = stackTops.map((top, i) => startWebWorker(url, shared, top, i + 1));
  }
  const terminate = () => started.forEach((w) => w.terminate());
  try {
    await Promise.all(started.map((w) => w.ready));
  } catch (e) {
    terminate();
    throw e;
  } finally {
    revoke();
  }
  return {
    size: started.length,
    exited: Promise.all(started.map((w) => w.exited)).then(() => {}),
    terminate,
  };
}
