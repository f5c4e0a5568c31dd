// Memory of one model on the wasm backend: the planned arena beside the activations it must
// hold, the wasm memory actually taken, and whether anything grows over many runs (RSS, JS
// heap, external/array buffers and wasm memory printed at intervals).
// Run: pnpm --filter @cnn/benchmarks bench:memory [-- --model resnet50 --runs 1000 --every 100 --threads 1]
// Or, for the peak while loading a file and compiling: [-- --model resnet50 --weights W.pth|W.safetensors [--bytes true | --http true] [--keep true]]
// Add --expose-gc (node --expose-gc memory.mjs) to collect garbage before each sample.
import { Tensor, counterInput, opSlotEntries, slotLifetimes, loadWeights } from '@cnn/core';
import { createWasmBackend } from '@cnn/kernels/wasm';
import { findModel } from '@cnn/cli';
import { readFile, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import { basename } from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const name = args.model ?? 'resnet50';
const runs = Number(args.runs ?? 1000);
const every = Number(args.every ?? 100);
const threads = args.threads === 'auto' ? 'auto' : Number(args.threads ?? 1);
const MiB = (bytes) => (bytes / 2 ** 20).toFixed(1);

const gc = globalThis.gc ?? (() => {});

if (args.weights) {
  // Peak while loading a weights file and compiling, in a fresh process: the bound is the file
  // plus the packed weights plus a constant, and after compile only the backend's copy remains.
  const backend = createWasmBackend({ threads });
  const { size } = await stat(args.weights);
  const model = findModel(name).create();
  gc();
  const base = process.memoryUsage();
  const baseMax = process.resourceUsage().maxRSS * 1024;
  // --bytes true: the file read into memory first and given as bytes (the app owns them);
  // --http true: downloaded from a local server without the cache, as a browser loads a URL
  let server;
  let source = args.weights;
  if (args.bytes === 'true') source = new Uint8Array(await readFile(args.weights));
  if (args.http === 'true') {
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-length': size });
      createReadStream(args.weights).pipe(res);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    source = `http://127.0.0.1:${server.address().port}/${basename(args.weights)}`;
  }
  await loadWeights(model, source, { keepWeights: args.keep === 'true', cache: false });
  source = undefined;
  server?.close();
  const runner = await model.compile(backend);
  const peak = process.resourceUsage().maxRSS * 1024;
  // array buffers are swept concurrently: let the sweeper run between collections
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const after = process.memoryUsage();
  const exe = runner.executable;
  console.log(`${name}: loadWeights('${args.weights}'${args.bytes === 'true' ? ' as bytes' : args.http === 'true' ? ' over HTTP' : ''}) + compile on ${backend.variant}${args.keep === 'true' ? ' (keepWeights)' : ''}`);
  console.log(`  file                                   ${MiB(size)} MiB`);
  console.log(`  packed weights                         ${MiB(runner.weightBytes)} MiB (wasm memory ${MiB(exe.memoryBytes)} MiB)`);
  console.log(`  RSS before loading                     ${MiB(base.rss)} MiB (peak so far ${MiB(baseMax)} MiB)`);
  console.log(`  peak RSS while loading and compiling   ${MiB(peak)} MiB: +${MiB(peak - Math.max(base.rss, baseMax))} MiB over the peak before`);
  // compile builds a float32 plan before the backend packs it, so whatever the file's dtype the
  // floor is the float32 weights plus the wasm memory; the small constant is 16 MiB
  const rise = peak - Math.max(base.rss, baseMax);
  const bound = Math.max(size, runner.weightBytes) + exe.memoryBytes + 16 * 2 ** 20;
  console.log(`  bound: max(file, f32 weights) + wasm memory + 16 MiB  ${MiB(bound)} MiB -> the rise is ${rise <= bound ? 'within' : 'OVER'} it`);
  console.log(`  after compile (gc): RSS ${MiB(after.rss)} MiB, JS array buffers ${MiB(after.arrayBuffers)} MiB (before loading ${MiB(base.arrayBuffers)} MiB)`);
  runner.dispose();
  await exe.workersExited;
  process.exit(0);
}

const model = findModel(name).create().useGeneratedWeights(1);
const plan = model.plan();

// Activations: the largest pair one op reads and writes (input or residual, and output), and
// the most that is ever live at once (the lower bound for any arena).
const slotsOf = (op) => opSlotEntries(op).map(([, s]) => s);
let largestPair = 0;
for (const op of plan.ops) {
  const inputs = slotsOf(op).filter((s) => s !== op.output).map((s) => s.size);
  largestPair = Math.max(largestPair, Math.max(0, ...inputs) + op.output.size);
}
// Live slots per op (core's slotLifetimes: first write to last read, outputs to the end), and
// the arena floats they cover together (slots of in-place ops share floats, counted once).
const lives = [...slotLifetimes(plan)];
let peakLive = 0;
plan.ops.forEach((_, i) => {
  const ranges = lives.filter(([, l]) => l.first <= i && l.last >= i).map(([s]) => [s.offset, s.offset + s.size]).sort((x, y) => x[0] - y[0]);
  let covered = 0;
  let end = -Infinity;
  for (const [lo, hi] of ranges) {
    if (hi > end) covered += hi - Math.max(lo, end);
    end = Math.max(end, hi);
  }
  peakLive = Math.max(peakLive, covered);
});

const backend = createWasmBackend({ threads });
const runner = await model.compile(backend);
const shape = [1, ...model.architecture.inputShape];
const input = new Tensor(shape, counterInput(shape, 1));
// The wasm executable the runner wraps (a TypeScript-private field, plain JS here).
const exe = runner.executable;
const weights = runner.weightBytes;
const pairBytes = largestPair * 4;
const bound = weights + 1.5 * pairBytes;
console.log(`${name} on ${backend.variant} (${backend.threads} thread${backend.threads > 1 ? 's' : ''}), batch 1`);
console.log(`  packed weights                         ${MiB(weights)} MiB`);
console.log(`  largest pair of live activations       ${MiB(pairBytes)} MiB`);
console.log(`  most activations live at once          ${MiB(peakLive * 4)} MiB (lower bound for any arena)`);
console.log(`  planned arena (plan.arenaSize)         ${MiB(plan.arenaSize * 4)} MiB`);
console.log(`  wasm memory taken                      ${MiB(exe.memoryBytes)} MiB (weights, arena, staging, descriptors, stacks, module data)`);
console.log(`  target: weights + 1.5 x largest pair   ${MiB(bound)} MiB -> wasm memory is ${exe.memoryBytes <= bound ? 'within' : 'OVER'} it`);
console.log('');

const sample = (run, ms) => {
  gc();
  const m = process.memoryUsage();
  return [run, MiB(m.rss), MiB(m.heapUsed), MiB(m.external), MiB(m.arrayBuffers), MiB(exe.memoryBytes), ms];
};
const rows = [sample(0, '')];
let t = performance.now();
for (let i = 1; i <= runs; i++) {
  await runner.run(input);
  if (i % every === 0 || i === runs) {
    const ms = ((performance.now() - t) / every).toFixed(1);
    rows.push(sample(i, ms));
    t = performance.now();
  }
}
runner.dispose();
await exe.workersExited;
const header = ['runs', 'RSS MiB', 'heap MiB', 'external MiB', 'arrayBuffers MiB', 'wasm MiB', 'ms/run'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
console.log(header.map((h, i) => h.padStart(widths[i])).join('  '));
for (const r of rows) console.log(r.map((c, i) => String(c).padStart(widths[i])).join('  '));
const rss = rows.slice(1).map((r) => Number(r[1]));
console.log(`\nRSS from run ${rows[1][0]} to ${rows.at(-1)[0]}: ${(rss.at(-1) - rss[0]).toFixed(1)} MiB; wasm memory constant: ${new Set(rows.map((r) => r[5])).size === 1}`);
