// What `#kernels/node` resolves to outside Node (package.json "imports", any condition but
// "node"): the same exports as ./index.ts, each saying why it cannot run here. The backend
// only calls them when it detects Node, so a browser bundle carries these few lines instead
// of node:fs and node:worker_threads.
import type { StartedWorker, WorkerInit } from '../worker-protocol.js';
import type { WasmWorkers } from '../threads.js';

function nodeOnly(what: string): Error {
  return new Error(
    `${what} needs Node, but this build of @cnn/kernels is the browser one (the bundler did not ` +
      `set the "node" export condition); in a browser, pass createWasmBackend({ wasm }) a URL or bytes.`,
  );
}

export async function readFileBytes(target: URL | string): Promise<Uint8Array> {
  throw nodeOnly(`Reading ${String(target)} from disk`);
}

export function startNodeWorker(_init: Omit<WorkerInit, 'stackTops'>, _stackTop: number, _index: number): StartedWorker {
  throw nodeOnly('Starting a worker_threads kernel worker');
}

/** None here: a browser app passes createWasmBackend({ workers: wasmWorkers }) (@cnn/kernels/wasm/threads). */
export const wasmWorkers: WasmWorkers | undefined = undefined;
