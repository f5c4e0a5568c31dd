// How close each engine comes to the truth: for one golden case per architecture (calibrated
// counter weights, the fixture's input), max |logits - float64 torchvision| / max |float64 logit|
// for torchvision float32, @cnn js, wasm (Winograd in its default 'accurate' mode, in its 'fast' mode,
// and without Winograd) and, with --webgpu, WebGPU on
// whatever adapter Dawn finds (SwiftShader on a machine without a GPU). `--engines` picks the
// columns (Dawn on SwiftShader takes minutes per 224-px model, so the WebGPU column can be run
// alone, case by case, in the background).
//
//   pnpm --filter @cnn/benchmarks accuracy [-- --cases resnet50_224,googlenet_224] [--webgpu] [--engines webgpu] [--json]
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Tensor, counterInput } from '@cnn/core';
import { applyCalibration, readFixture } from '@cnn/core/testing';
import { findModel } from '@cnn/cli';
import { createJsBackend } from '@cnn/kernels/js';
import { createWasmBackend } from '@cnn/kernels/wasm';

const DEFAULT_CASES = [
  ['lenet', 'lenet5'], ['alexnet', 'alexnet_224'], ['vgg', 'vgg16_224'], ['inception', 'googlenet_224'],
  ['inception', 'inception_v3_299'], ['resnet', 'resnet18_224'], ['resnet', 'resnet50_224'],
  ['densenet', 'densenet121_224'], ['mobilenet', 'mobilenet_v2_224'], ['mobilenet', 'mobilenet_v3_large_224'],
  ['efficientnet', 'efficientnet_b0_224'], ['convnext', 'convnext_tiny_224'],
];

const { values } = parseArgs({
    // pnpm passes the '--' of `pnpm run x -- --flag` through
    args: process.argv.slice(2).filter((a, i) => i > 0 || a !== '--'),
  options: {
    cases: { type: 'string' },
    webgpu: { type: 'boolean', default: false },
    engines: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
const ENGINE_NAMES = ['js', 'wasm', 'wasm, fast Winograd', 'wasm, no Winograd', 'webgpu'];
const ENGINE_FLAGS = { 'wasm-fast': 'wasm, fast Winograd', 'wasm-no-winograd': 'wasm, no Winograd' };
const chosen = values.engines?.split(',').map((e) => ENGINE_FLAGS[e] ?? e);
if (values.help) {
  console.log(
    'usage: node accuracy.mjs [--cases CASE,CASE] [--webgpu] [--engines ENGINE,ENGINE] [--json]\n' +
      'CASE: a golden case such as resnet50_224 (packages/<package>/fixtures/<case>.json)\n' +
      'ENGINE: js, wasm, wasm-fast, wasm-no-winograd, webgpu (default: all but webgpu, which --webgpu adds)\n' +
      '  wasm: Winograd in the default mode (\'accurate\'); wasm-fast: createWasmBackend({ winograd: \'fast\' })',
  );
  process.exit(0);
}
const unknownEngine = chosen?.find((e) => !ENGINE_NAMES.includes(e));
if (unknownEngine !== undefined) {
  console.error(`accuracy.mjs: unknown engine '${unknownEngine}': expected one of js, wasm, wasm-fast, wasm-no-winograd, webgpu`);
  process.exit(2);
}
const root = new URL('../', import.meta.url);
const packageOf = (c) => {
  const pkg = readdirSync(new URL('packages/', root)).find((p) => existsSync(new URL(`packages/${p}/fixtures/${c}.json`, root)));
  if (!pkg) throw new Error(`no golden case '${c}' in packages/*/fixtures/`);
  return pkg;
};
const cases = values.cases ? values.cases.split(',').map((c) => [packageOf(c), c]) : DEFAULT_CASES;

const python = process.env.CNN_PYTHON ?? '/usr/bin/python3';
const truth = JSON.parse(
  execFileSync(python, [fileURLToPath(new URL('tools/golden/truth.py', root)), ...cases.map(([, c]) => c)], { maxBuffer: 1 << 28, encoding: 'utf8' }),
);

const engines = [
  ['js', () => createJsBackend()],
  ['wasm', () => createWasmBackend()],
  ['wasm, fast Winograd', () => createWasmBackend({ winograd: 'fast' })],
  ['wasm, no Winograd', () => createWasmBackend({ winograd: false })],
].filter(([name]) => !chosen || chosen.includes(name));
if (values.webgpu || chosen?.includes('webgpu')) {
  process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const { createWebGpuBackend } = await import('@cnn/kernels/webgpu');
  const gpu = create([]);
  engines.push(['webgpu', () => createWebGpuBackend({ gpu })]);
}

/** max |a - ref| / max |ref|, in float64 */
function errorAgainst(actual, reference) {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < reference.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - reference[i]));
    scale = Math.max(scale, Math.abs(reference[i]));
  }
  return diff / scale;
}

const rows = [];
for (const [pkg, name] of cases) {
  const fx = readFixture(new URL(`packages/${pkg}/fixtures/`, root), name);
  const t = truth[name];
  const row = { case: name, 'torchvision float32': errorAgainst(t.float32, t.float64) };
  const model = findModel(fx.model).create().useGeneratedWeights(fx.seed);
  await applyCalibration(model, fx);
  const [n, , h, w] = fx.input.shape;
  const input = new Tensor(fx.input.shape, counterInput(fx.input.shape, fx.seed));
  for (const [engine, make] of engines) {
    const backend = await make();
    const runner = await model.compile(backend, { batch: n, inputSize: [h, w] });
    row[engine] = errorAgainst((await runner.run(input)).data, t.float64);
    runner.dispose();
  }
  rows.push(row);
  if (!values.json) process.stderr.write(`${name} done\n`);
}

if (values.json) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  const cols = Object.keys(rows[0]);
  console.log(`| ${cols.join(' | ')} |`);
  console.log(`|${cols.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
  for (const r of rows) {
    const f32 = r['torchvision float32'];
    console.log(`| ${cols.map((c) => (c === 'case' ? r[c] : `${r[c].toExponential(1)}${c !== 'torchvision float32' && r[c] > 2 * f32 ? ' (!)' : ''}`)).join(' | ')} |`);
  }
  console.log('\nmax |logits - float64 torchvision| / max |float64 logit|; (!) marks more than 2x torchvision float32\'s own error');
}
