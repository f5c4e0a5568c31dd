// Size, load time and logits error of f16 and int8 weight files against float32, per model, on
// generated weights (the seeded test weights, not torchvision's trained ones) and the wasm backend.
// Run: pnpm --filter @cnn/benchmarks bench:dtypes [-- --models resnet18,resnet50]
import { Tensor, counterInput, decodeWeightBytes, encodeSafetensors, loadWeights } from '@cnn/core';
import { relativeError } from '@cnn/core/testing';
import { createWasmBackend } from '@cnn/kernels/wasm';
import { findModel } from '@cnn/cli';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const PEERS = 'resnet50,resnet18,mobilenet_v2,mobilenet_v3_large,efficientnet_b0,convnext_tiny,densenet121,googlenet,vgg16,alexnet';
const names = (args.models ?? PEERS).split(',');
const backend = createWasmBackend({ threads: 1 });
const MB = (n) => (n / 1e6).toFixed(1);

console.log('| model | f32 MB | f16 MB | int8 MB | load ms f32 / f16 / int8 | f16 logits error | int8 logits error | int8 top-1 = f32 top-1 |');
console.log('|---|---:|---:|---:|---:|---:|---:|---|');
for (const name of names) {
  const generated = findModel(name).create().useGeneratedWeights(1).getWeights();
  const decoded = { tensors: new Map(generated), integerKeys: new Set(), integers: new Map(), format: 'tensors', notes: [] };
  const files = Object.fromEntries(['f32', 'f16', 'int8'].map((d) => [d, encodeSafetensors(decoded, d)]));
  const shape = [1, ...findModel(name).create().architecture.inputShape];
  const input = new Tensor(shape, counterInput(shape, 1));
  const logits = {};
  const loadMs = {};
  for (const [dtype, bytes] of Object.entries(files)) {
    const t0 = performance.now();
    const model = await loadWeights(findModel(name).create(), bytes);
    const runner = await model.compile(backend);
    loadMs[dtype] = performance.now() - t0;
    logits[dtype] = (await runner.run(input)).data;
    runner.dispose();
  }
  const top1 = (a) => a.indexOf(Math.max(...a));
  console.log(
    `| ${name} | ${MB(files.f32.length)} | ${MB(files.f16.length)} | ${MB(files.int8.length)} | ${Object.values(loadMs).map((m) => m.toFixed(0)).join(' / ')} | ` +
      `${relativeError(logits.f16, logits.f32).toExponential(1)} | ${relativeError(logits.int8, logits.f32).toExponential(1)} | ${top1(logits.int8) === top1(logits.f32) ? 'yes' : 'no'} |`,
  );
}
