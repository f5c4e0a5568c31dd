// The wasm backend's Node-only code: reading a binary from disk and worker_threads. Nothing
// else in @cnn/kernels imports a node: module; the backend reaches this file only through
// `import('#kernels/node')`, which package.json "imports" maps to it under the "node"
// condition and to ./browser.ts everywhere else, so browser bundles never see it.
import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { readyFrom, WORKER_SOURCE, type StartedWorker, type WorkerInit } from '../worker-protocol.js';

/** What threaded executables use in Node when the app passes no options.workers. */
export { wasmWorkers } from '../threads.js';

/** Reads a binary from a file path or file: URL. */
export async function readFileBytes(target: URL | string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(target));
}

/** Starts one worker_threads kernel worker; `index` numbers it from 1 (the caller is 0). */
export function startNodeWorker(init: Omit<WorkerInit, 'stackTops'>, stackTop: number, index: number): StartedWorker {
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
