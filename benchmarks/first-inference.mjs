// First inference against the warm forward pass, for one checkout or two side by side. A first
// inference is only first once per process, so every sample is a fresh Node process (a child of
// this one): it builds the model's generated weights (not timed), then times engine start,
// compile (plan, batch-norm fold, wasm instance, weight packing) and the first run, then the
// best of --warm further runs. With --before, the two checkouts' processes alternate, so the
// machine's load hits both alike. Each sample also counts the process's CPU time and minor page
// faults (Linux) per phase: on a VM that backs memory lazily, faults are much of a compile.
// Run: node benchmarks/first-inference.mjs [--before DIR] [--after DIR] [--models resnet50,resnet18,mobilenet_v2] [--samples 5] [--warm 10]
//   DIR: a checkout whose packages are built (pnpm build), absolute or relative to the working
//   directory (benchmarks/ under pnpm); --after defaults to this one
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const usage =
  'node benchmarks/first-inference.mjs [--before DIR] [--after DIR] [--models resnet50,resnet18,mobilenet_v2] [--samples 5] [--warm 10] [--threads 1]\n' +
  '  DIR: a checkout whose packages are built (pnpm build); --after defaults to this checkout';
let args;
try {
  ({ values: args } = parseArgs({
    // `pnpm bench:first -- --flag` hands the `--` on
    args: process.argv.slice(2).filter((a, i) => i > 0 || a !== '--'),
    options: {
      before: { type: 'string' },
      after: { type: 'string', default: fileURLToPath(new URL('..', import.meta.url)) },
      models: { type: 'string', default: 'resnet50,resnet18,mobilenet_v2' },
      samples: { type: 'string', default: '5' },
      warm: { type: 'string', default: '10' },
      threads: { type: 'string', default: '1' },
      child: { type: 'string' },
      help: { type: 'boolean' },
    },
  }));
} catch (e) {
  console.error(`first-inference: ${e.message}\n${usage}`);
  process.exit(2);
}
if (args.help) {
  console.log(usage);
  process.exit(0);
}
const [samples, warm, threads] = [args.samples, args.warm, args.threads].map(Number);
for (const [flag, v] of [['--samples', samples], ['--warm', warm], ['--threads', threads]]) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(`first-inference: ${flag} expects a positive integer, got '${args[flag.slice(2)]}'`);
    process.exit(2);
  }
}

if (args.child) await child(args.child, args.models);
else await parent();

/** One sample: prints one JSON line. */
async function child(dir, name) {
  const at = (path) => pathToFileURL(resolve(dir, path)).href;
  const { findModel } = await import(at('packages/cli/dist/index.js'));
  const { createWasmBackend } = await import(at('packages/kernels/dist/wasm/index.js'));
  const { Tensor, counterInput } = await import(at('packages/core/dist/index.js'));
  const model = findModel(name).create().useGeneratedWeights(1);
  const shape = [1, ...model.architecture.inputShape];
  const input = new Tensor(shape, counterInput(shape, 1));
  const faults = () => {
    try {
      return Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[7]);
    } catch {
      return NaN;
    }
  };
  const mark = () => {
    const c = process.cpuUsage();
    return { ms: performance.now(), cpu: (c.user + c.system) / 1000, faults: faults() };
  };
  const t0 = mark();
  const runner = await model.compile(await createWasmBackend({ threads }));
  const t1 = mark();
  const out = await runner.run(input);
  const t2 = mark();
  let best = Infinity;
  for (let i = 0; i < warm; i++) {
    const s = performance.now();
    await runner.run(input);
    best = Math.min(best, performance.now() - s);
  }
  const phase = (a, b) => ({ ms: b.ms - a.ms, cpu: b.cpu - a.cpu, faults: b.faults - a.faults });
  // FNV-1a over the logits' bits: the two checkouts' first runs should agree bit for bit
  let logits = 0x811c9dc5;
  for (const w of new Uint32Array(out.data.buffer, out.data.byteOffset, out.data.length)) logits = Math.imul(logits ^ w, 0x01000193) >>> 0;
  console.log(JSON.stringify({ compile: phase(t0, t1), run1: phase(t1, t2), first: phase(t0, t2), warm: best, logits }));
  runner.dispose();
}

async function parent() {
  const sides = args.before ? [['before', args.before], ['after', args.after]] : [['this', args.after]];
  const models = args.models.split(',');
  const rows = new Map(); // `${model} ${side}` -> samples
  for (let s = 0; s < samples; s++) {
    for (const name of models) {
      for (const [label, dir] of s % 2 ? [...sides].reverse() : sides) {
        const line = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', dir, '--models', name, '--warm', String(warm), '--threads', String(threads)], { encoding: 'utf8' });
        const key = `${name} ${label}`;
        rows.set(key, [...(rows.get(key) ?? []), JSON.parse(line.trim().split('\n').pop())]);
      }
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const f = (x) => x.toFixed(1);
  console.log(`wasm, ${threads} thread(s), ${samples} fresh processes per row${sides.length > 1 ? ', the checkouts alternated' : ''}; min / median ms`);
  console.log('model          side      first             compile           first run         warm    first/warm  faults (compile)');
  for (const name of models) {
    for (const [label] of sides) {
      const r = rows.get(`${name} ${label}`);
      const cell = (get) => `${f(Math.min(...r.map(get))).padStart(6)} / ${f(median(r.map(get))).padStart(6)}`;
      const w = Math.min(...r.map((x) => x.warm));
      const ratio = Math.min(...r.map((x) => x.first.ms)) / w;
      console.log(`${name.padEnd(14)} ${label.padEnd(7)} ${cell((x) => x.first.ms)}  ${cell((x) => x.compile.ms)}  ${cell((x) => x.run1.ms)}  ${f(w).padStart(6)}  ${ratio.toFixed(2).padStart(10)}  ${median(r.map((x) => x.compile.faults))}`);
    }
    if (sides.length > 1) {
      const [a, b] = sides.map(([label]) => rows.get(`${name} ${label}`)[0].logits);
      console.log(`${name}: the two checkouts' first logits ${a === b ? 'agree bit for bit' : `differ (FNV-1a ${a} vs ${b})`}`);
    }
  }
}
