// Starts and stops the workers of a threaded executable. Each worker instantiates the kernels
// on the executable's shared memory, moves its stack pointer to its own region, reports
// ready, and then lives inside `threads_worker_loop` (kernels-wasm/src/threads.rs): ops are
// handed over through atomics in shared memory, never through messages.
import { readyFrom, WORKER_SOURCE, type StartedWorker, type WorkerInit } from './worker-protocol.js';

export type { WorkerInit } from './worker-protocol.js';

// loader.ts's test, repeated: importing it from there would make esbuild split the loader into a
// file of its own, shared by the first load and this lazy chunk.
const isNode = typeof process === 'object' && process !== null && typeof process.versions?.node === 'string';

export interface WorkerPool {
  readonly size: number;
  /** Resolves once every worker has exited (after `terminate`). */
  readonly exited: Promise<void>;
  /** Terminates every worker; call after `threads_shutdown` so none is inside a kernel. */
  terminate(): void;
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
    const node = await import('#kernels/node');
    started = stackTops.map((top, i) => node.startNodeWorker(shared, top, i + 1));
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
