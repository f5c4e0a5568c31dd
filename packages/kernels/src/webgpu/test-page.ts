// Test-only: the script browser.test.ts bundles into a page. It runs ResNet-18 end to end on the
// WebGPU backend with navigator.gpu and leaves the logits on window.cnnResult.
import { Tensor, counterInput, parseSafetensors, readFloat32, loadWeights } from '@cnn/core';
import { resnet } from '../../../resnet/src/index.js';
import { createWebGpuBackend } from './index.js';

interface PageResult {
  logits?: number[];
  adapter?: unknown;
  precision?: string;
  compileMs?: number;
  runMs?: number;
  error?: string;
}

async function main(): Promise<PageResult> {
  const q = new URLSearchParams(location.search);
  const seed = Number(q.get('seed'));
  const shape = (q.get('shape') ?? '').split(',').map(Number);
  const backend = await createWebGpuBackend({ warmup: false });
  // the golden weights: generated here, with the calibrated tensors the test serves (tools/golden/calibrate.py)
  const model = resnet('resnet18').useGeneratedWeights(seed);
  const calibration = parseSafetensors(new Uint8Array(await (await fetch('/calibration.safetensors')).arrayBuffer()));
  const weights = new Map(model.getWeights());
  for (const entry of calibration.entries.values()) weights.set(entry.key, { shape: entry.shape, data: readFloat32(calibration, entry) });
  await loadWeights(model, weights);
  const t0 = performance.now();
  const runner = await model.compile(backend, { batch: shape[0], inputSize: [shape[2], shape[3]] });
  const t1 = performance.now();
  const logits = await runner.run(new Tensor(shape, counterInput(shape, seed)));
  const t2 = performance.now();
  runner.dispose();
  backend.destroy();
  return { logits: Array.from(logits.data), adapter: backend.adapter, precision: backend.precision, compileMs: t1 - t0, runMs: t2 - t1 };
}

(globalThis as { cnnResult?: Promise<PageResult> }).cnnResult = main().catch((e: Error) => ({ error: String(e?.stack ?? e) }));
