// What `#kernels/node` resolves to outside Node (package.json "imports", any condition but
// "node"): the same exports as ./index.ts, each saying why it cannot run here. The backend
// only calls them when it detects Node, so a browser bundle carries these few lines instead
// of node:fs and node:worker_threads.
import type { StartedWorker, WorkerInit } from '../worker-protocol.js';
import type { WorkerPool } from '../workers.js';

function nodeOnly(what: string, instead = 'pass createWasmBackend({ wasm }) a URL or bytes'): Error {
  return new Error(
    `${what} needs Node, but this build of @cnn/kernels is the browser one (the bundler did not ` +
      `set the "node" export condition); in a browser, ${instead}.`,
  );
}

export async function readFileBytes(target: URL | string): Promise<Uint8Array> {
  throw nodeOnly(`Reading ${String(target)} from disk`);
}

export function startNodeWorker(_init: Omit<WorkerInit, 'stackTops'>, _stackTop: number, _index: number): StartedWorker {
  throw nodeOnly('Starting a worker_threads kernel worker');
}

export async function startWorkerPool(_init: WorkerInit): Promise<WorkerPool> {
  throw nodeOnly('Starting kernel workers without options.workers', "pass createWasmBackend({ workers: wasmWorkers }) from '@cnn/kernels/wasm/threads'");
}
