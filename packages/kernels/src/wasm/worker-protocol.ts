// What the main thread and a kernel worker say to each other, shared by the browser (Web
// Worker) and Node (worker_threads, in ./node/) halves of the worker pool.

/**
 * The whole worker, as plain JavaScript so that it needs no bundling and runs both as a
 * Node `worker_threads` eval script (CommonJS or, under --input-type=module, ESM: hence the
 * dynamic import) and as a browser Web Worker from a Blob URL. It is a string, so bundlers
 * never follow the `node:` import inside it.
 */
export const WORKER_SOURCE = `'use strict';
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

export interface StartedWorker {
  ready: Promise<void>;
  exited: Promise<void>;
  terminate(): void;
}

/** The worker's first message: undefined when it serves, else why it could not start. */
export function readyFrom(message: unknown): Error | undefined {
  const m = message as { ready?: boolean; error?: string } | undefined;
  if (m?.ready) return undefined;
  return new Error(`a kernel worker failed to start: ${m?.error ?? String(message)}`);
}
