// The browser twin of the wasm backend's Node-only folder matches it name for name.
import { describe, expect, it } from 'vitest';
import * as node from './index.js';
import * as browser from './browser.js';

describe('#kernels/node twins', () => {
  it('export the same names', () => {
    expect(Object.keys(browser).sort()).toEqual(Object.keys(node).sort());
  });

  it('browser twin says what needs Node and what to pass instead', async () => {
    await expect(browser.readFileBytes('/x/cnn_kernels.wasm')).rejects.toThrow(
      /Reading \/x\/cnn_kernels\.wasm from disk needs Node.*"node" export condition.*createWasmBackend\(\{ wasm \}\)/,
    );
    expect(() => browser.startNodeWorker({} as never, 0, 1)).toThrow(/worker_threads kernel worker needs Node/);
    expect(browser.wasmWorkers).toBeUndefined();
  });
});
