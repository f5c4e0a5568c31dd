// Two checkouts of this repository side by side in one process: the same model planned and
// compiled by each one's built packages (packages/*/dist) on its wasm backend, forward passes
// alternated (ABBA) so the machine's load hits both alike. Prints ops, channel copies, arena and
// wasm memory, min/median time, and the median of the per-pair time ratios; the outputs of the
// two must agree. For a change's before/after on a shared, noisy machine.
// Run: node benchmarks/checkouts-ab.mjs --before /path/to/main --after . [--model densenet121 --runs 40 --threads 1]
//   [--before-options JSON --after-options JSON]: more createWasmBackend options for one side
//   (e.g. --after-options '{"winograd":"fast"}'); the same checkout twice compares two settings.
//   [--before-wasm FILE --after-wasm FILE]: that side runs this kernel binary (a build of
//   kernels-wasm kept aside) instead of its checkout's; the same checkout twice with two
//   binaries is a kernel change's A/B in one process, where separate processes on this shared
//   VM differ by more than the change (relaxed-SIMD binaries: node --experimental-wasm-relaxed-simd).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const usage =
  'node benchmarks/checkouts-ab.mjs --before DIR --after DIR [--model densenet121] [--runs 40] [--threads 1] [--before-options JSON] [--after-options JSON] [--before-wasm FILE] [--after-wasm FILE]\n' +
  '  DIR: a checkout whose packages are built (pnpm build)\n  JSON: createWasmBackend options for that side, e.g. \'{"winograd":"fast"}\'\n' +
  '  FILE: a kernel binary (.wasm) that side runs instead of its checkout\'s';
let args;
try {
  ({ values: args } = parseArgs({
    // pnpm passes the '--' of `pnpm run x -- --flag` through
    args: process.argv.slice(2).filter((a, i) => i > 0 || a !== '--'),
    options: { before: { type: 'string' }, after: { type: 'string' }, model: { type: 'string', default: 'densenet121' }, runs: { type: 'string', default: '40' }, threads: { type: 'string', default: '1' }, 'before-options': { type: 'string', default: '{}' }, 'after-options': { type: 'string', default: '{}' }, 'before-wasm': { type: 'string' }, 'after-wasm': { type: 'string' }, help: { type: 'boolean' } },
  }));
} catch (e) {
  console.error(`checkouts-ab: ${e.message}\n${usage}`);
  process.exit(2);
}
if (args.help) {
  console.log(usage);
  process.exit(0);
}
const name = args.model;
const [runs, threads] = [Number(args.runs), Number(args.threads)];
for (const [flag, v] of [['--runs', runs], ['--threads', threads]]) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(`checkouts-ab: ${flag} expects a positive integer, got '${flag === '--runs' ? args.runs : args.threads}'`);
    process.exit(2);
  }
}
const backendOptions = {};
for (const side of ['before', 'after']) {
  const text = args[`${side}-options`];
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    console.error(`checkouts-ab: --${side}-options expects a JSON object of createWasmBackend options, got '${text}'`);
    process.exit(2);
  }
  backendOptions[side] = parsed;
  const file = args[`${side}-wasm`];
  if (file !== undefined) {
    try {
      backendOptions[side].wasm = readFileSync(file);
    } catch (e) {
      console.error(`checkouts-ab: --${side}-wasm expects a readable kernel binary (.wasm), got '${file}' (${e.code ?? e.message})`);
      process.exit(2);
    }
  }
}
if (!args.before || !args.after) {
  console.error(`checkouts-ab: --before and --after are required\n${usage}`);
  process.exit(2);
}

async function load(dir, options) {
  const at = (path) => pathToFileURL(resolve(dir, path)).href;
  const { findModel } = await import(at('packages/cli/dist/index.js'));
  const { createWasmBackend } = await import(at('packages/kernels/dist/wasm/index.js'));
  const { counterInput } = await import(at('packages/core/dist/index.js'));
  const model = findModel(name).create().useGeneratedWeights(1);
  const plan = model.plan();
  const exe = await createWasmBackend({ ...options, threads }).compile(plan);
  const input = counterInput([1, ...model.architecture.inputShape], 1);
  return { exe, input, plan, copies: plan.ops.filter((o) => o.kind === 'copyChannels').length, times: [] };
}

let sides;
try {
  sides = [await load(args.before, backendOptions.before), await load(args.after, backendOptions.after)];
} catch (e) {
  // e.g. a relaxed-SIMD binary without node --experimental-wasm-relaxed-simd, or an unbuilt checkout
  console.error(`checkouts-ab: ${e.message}`);
  process.exit(1);
}
const [a] = await sides[0].exe.run(sides[0].input);
const [b] = await sides[1].exe.run(sides[1].input);
let diff = 0;
let ref = 0;
for (let i = 0; i < a.length; i++) {
  diff = Math.max(diff, Math.abs(a[i] - b[i]));
  ref = Math.max(ref, Math.abs(a[i]));
}
for (const s of sides) for (let i = 0; i < 3; i++) await s.exe.run(s.input);
for (let r = 0; r < runs; r++) {
  for (const k of r % 2 ? [1, 0] : [0, 1]) {
    const s = sides[k];
    const t = performance.now();
    await s.exe.run(s.input);
    s.times.push(performance.now() - t);
  }
}
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const MiB = (floats) => ((floats * 4) / 2 ** 20).toFixed(2);
const binaries = ['before', 'after'].map((side) => args[`${side}-wasm`] ?? 'its own').join(' / ');
console.log(`${name}, wasm ${threads} thread(s), ${runs} runs each, alternated, kernels ${binaries}; outputs differ by ${(diff / ref).toExponential(1)} (max |after - before| / max |before|)`);
console.log('side     ops  copies  arena MiB  wasm MiB   min ms  median ms');
for (const [label, s] of [['before', sides[0]], ['after', sides[1]]]) {
  const cells = [s.plan.ops.length, s.copies, MiB(s.plan.arenaSize), (s.exe.memoryBytes / 2 ** 20).toFixed(1), Math.min(...s.times).toFixed(1), median(s.times).toFixed(1)];
  console.log(`${label.padEnd(7)} ${cells.map((c, i) => String(c).padStart([4, 7, 10, 9, 8, 10][i])).join(' ')}`);
}
console.log(`median of per-pair after/before time ratios: ${median(sides[1].times.map((t, i) => t / sides[0].times[i])).toFixed(3)}`);
for (const s of sides) s.exe.dispose();
process.exit(0);
