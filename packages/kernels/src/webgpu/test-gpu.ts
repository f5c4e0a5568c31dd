// Test-only: a WebGPU implementation for Node (Dawn from the 'webgpu' package) on Chromium's
// SwiftShader Vulkan driver, so the WebGPU tests run on machines without a GPU (CI included).
import { chmodSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { join } from 'node:path';
import { machinePaths } from '@cnn/core/testing';

const SWIFTSHADER_ICD = machinePaths.swiftshaderIcd;

let gpu: Promise<GPU> | undefined;

/** Dawn's GPU object; fails loudly (never skips) when no adapter can be had, saying why. */
export function nodeGpu(): Promise<GPU> {
  gpu ??= (async () => {
    // Only the main thread's process.env reaches the native environment the Vulkan loader reads;
    // in a vitest worker thread these assignments are not seen by Dawn (see the error below).
    const inherited = process.env.VK_ICD_FILENAMES;
    process.env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
    if (!process.env.XDG_RUNTIME_DIR) {
      const dir = mkdtempSync(join(tmpdir(), 'cnn-xdg-'));
      chmodSync(dir, 0o700);
      process.env.XDG_RUNTIME_DIR = dir;
    }
    const icd = process.env.VK_ICD_FILENAMES;
    if (icd === SWIFTSHADER_ICD && !existsSync(icd)) {
      throw new Error(`The WebGPU tests need Chromium's SwiftShader Vulkan driver at ${icd}, which is missing: install Debian's chromium package`);
    }
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const g = create([]);
    const adapter = await g.requestAdapter();
    if (!adapter) {
      const hint =
        !inherited && !isMainThread
          ? ' VK_ICD_FILENAMES was not in the environment of the test process, and a worker thread cannot set it for native code: ' +
            `run the tests with VK_ICD_FILENAMES=${SWIFTSHADER_ICD} and XDG_RUNTIME_DIR=<a 0700 directory> exported.`
          : '';
      throw new Error(`Dawn found no usable WebGPU adapter (VK_ICD_FILENAMES=${icd}); the WebGPU tests cannot run.${hint}`);
    }
    return g;
  })();
  return gpu;
}
