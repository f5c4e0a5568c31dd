// Starts and stops the workers of a threaded executable. Each worker instantiates the kernels
// on the executable's shared memory, moves its stack pointer to its own region, reports
// ready, and then lives inside `threads_worker_loop` (kernels-wasm/src/threads.rs): ops are
// handed over through atomics in shared memory, never through messages.
import { readyFrom, WORKER_SOURCE, type StartedWorker, type WorkerInit } from './worker-protocol.js';
import type { InstancePool, ParkedThreads } from './backend.js';
import type { KernelExports } from './loader.js';

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

/** A threaded executable's running workers. */
export interface RunningThreads {
  /** shuts the kernels' thread loop down, then terminates the workers */
  readonly stop: () => void;
  readonly exited: Promise<void>;
}

/** Starts a threaded executable's workers, one per stack top, on its memory and control block. */
export async function startThreads(module: WebAssembly.Module, memory: WebAssembly.Memory, kernels: KernelExports, control: number, stackTops: number[]): Promise<RunningThreads> {
  const shutdown = () => kernels.threads_shutdown!(control);
  let pool: WorkerPool;
  try {
    pool = await startWorkerPool({ module, memory, control, stackTops });
  } catch (e) {
    shutdown();
    throw e;
  }
  return {
    stop: () => {
      shutdown();
      pool.terminate();
    },
    exited: pool.exited,
  };
}

/** How long a disposed executable's workers wait for the backend's next compile() before they stop. */
const PARKED_WORKERS_MS = 1000;

/**
 * The backend's parked threaded executable (memory, instance and idle workers, parked at
 * dispose()) if a plan with as many threads fits its memory: its layout below the weights
 * (stacks, control block) depends only on the thread count, and shared memory cannot grow past
 * its maximum. One that does not fit is stopped.
 */
export function takeParked(pool: InstancePool, threads: number, needBytes: number): ParkedThreads | undefined {
  const p = pool.parked;
  if (!p) return undefined;
  pool.parked = undefined;
  if (p.threads === threads && p.memory.buffer.byteLength >= needBytes) return p;
  p.stop();
  return undefined;
}

/** Parks a disposed threaded executable for the backend's next compile() (the larger memory wins). */
export function parkThreads(pool: InstancePool, p: ParkedThreads): void {
  if (pool.parked && pool.parked.memory.buffer.byteLength >= p.memory.buffer.byteLength) {
    p.stop();
    return;
  }
  pool.parked?.stop();
  pool.parked = p;
  // workers nobody claims soon are stopped, so dispose() still ends the threads it started
  const timer = setTimeout(() => {
    if (pool.parked !== p) return;
    pool.parked = undefined;
    p.stop();
  }, PARKED_WORKERS_MS) as { unref?: () => void };
  timer.unref?.();
}
