// pnpm bench:peers — batch-1 forward passes of ten torchvision CNNs on @cnn's wasm backend and its peers
// (onnxruntime-web wasm, tfjs-backend-wasm in two forms, and onnxruntime-node as the native ceiling),
// same weights.
//
// Method (see README.md for how to read the output):
// 1. Correctness first. Every engine computes the logits of the counter input with the counter
//    weights and must match torchvision (benchmarks/models/<name>.logits.json, written by
//    tools/onnx/export.py) to max|diff| / max|ref| <= 1e-4; an engine that fails is reported and not
//    timed. @cnn uses model.useGeneratedWeights(1), onnxruntime the exported ONNX, and tfjs the same
//    counter weights loaded by torchvision key, either into a tf.layers model (tfjs-wasm,
//    peers/tfjs-models.mjs) or into a graph of tfjs-core fused ops run the way tfjs-converter's
//    executor runs a converted model (tfjs-wasm-fused, peers/tfjs-fused.mjs: conv + bias +
//    activation in one call, explicit padding, BN folded, weights pre-transposed).
// 2. One child process per (model, engine) (peers/worker.mjs), so peak RSS is attributable. For a
//    model, every engine's child is started and checked one after another (each alone on the CPU:
//    that is the first-inference time), then all stay alive, idle between batches.
// 3. Interleaving: after one warm-up batch each (>= 2 runs and >= --warmup-ms), the parent runs
//    rounds; in each round every engine runs one batch of back-to-back forward passes, sized to
//    about budget/6 ms, and the order of the engines rotates by one per round. So slow drifts in
//    machine load (this is a shared 2-core machine) hit every engine alike instead of whichever
//    happened to run last. Rounds go on until each engine has spent --budget-ms in timed runs
//    (and has >= --min-reps runs). Only one child computes at a time; a 5 ms pause between
//    batches lets thread pools that spin after a run (onnxruntime's) go idle first.
// 4. Reported per engine: min and median ms, spread = IQR / median, runs, GFLOP/s (2 × @cnn's
//    summary().totalMultiplyAdds / min), CPU time / wall time during the timed runs (~1 per busy
//    thread: shows whether a 2-thread setting really used 2 cores), first-inference ms, peak RSS.
//    The ratio that matters: @cnn's min ÷ the best web peer's min (ort-web, tfjs-wasm or
//    tfjs-wasm-fused, whichever is fastest at the same thread count); > 1 means @cnn is slower.
//    The summary also puts @cnn's first inference beside its warm min.
// 5. Int8 (resnet18 and mobilenet_v2, torchvision's quantisable builders): cnn-wasm-int8,
//    ort-web-int8 and ort-node-int8 run ONE int8 model, torch's eager-mode static quantisation
//    (tools/quant/torch_int8.py --onnx: @cnn's int8 file and the ONNX export of the same converted
//    model, same integer weights and scales) on torch's input, and are checked first against
//    torch's int8 logits in steps of the logits' scale (INT8 below), then timed in the same
//    interleaved rounds as the fp32 engines. Their summary rows divide @cnn int8 by the best web
//    int8 peer (ort-web-int8); a table puts each engine's fp32 and int8 min side by side.
//
// Run: pnpm bench:peers [--models a,b] [--engines cnn-wasm,ort-web@2,...] [--budget-ms 4000] [--quick]
// Needs the ONNX exports first: /usr/bin/python3 tools/onnx/export.py, and for the int8 engines
// /usr/bin/python3 tools/quant/torch_int8.py MODEL benchmarks/models/int8 --size 224 --onnx
import { fork, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { CNN_Q8_WASM, CNN_WASM, ROOT, bundleCnn } from './peers/bundle.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const MODELS_DIR = join(HERE, 'models');
const INT8_DIR = join(MODELS_DIR, 'int8');
const require = createRequire(import.meta.url);

export const ALL_MODELS = ['resnet50', 'resnet18', 'mobilenet_v2', 'mobilenet_v3_large', 'efficientnet_b0', 'convnext_tiny', 'densenet121', 'googlenet', 'vgg16', 'alexnet'];
/** engine -> { label, web: a browser-capable peer, ours, int8: runs torch's int8 model (fp32 otherwise) } */
export const ENGINES = {
  'cnn-wasm': { label: '@cnn wasm', ours: true },
  'cnn-js': { label: '@cnn js', ours: true },
  'ort-web': { label: 'ort-web wasm', web: true },
  'tfjs-wasm': { label: 'tfjs-wasm', web: true },
  'tfjs-wasm-fused': { label: 'tfjs-wasm fused', web: true },
  'ort-node': { label: 'ort-node cpu', native: true },
  'cnn-wasm-int8': { label: '@cnn wasm int8', ours: true, int8: true },
  'ort-web-int8': { label: 'ort-web wasm int8', web: true, int8: true },
  'ort-node-int8': { label: 'ort-node cpu int8', native: true, int8: true },
};
const TOLERANCE = 1e-4;
/**
 * Models with an int8 race (torchvision's quantisable builders) -> the logits layer, whose output
 * scale is one step, and the largest and mean |difference| from torch's int8 logits, in steps, that
 * an int8 engine may show (and its top-1 must equal torch's, or be a class torch puts within
 * those steps of its own top logit: a tie that an allowed difference flips): packages/cli/src/quantize.test.ts's
 * bounds for @cnn (which explains ResNet-18's near-tie roundings), applied to onnxruntime alike.
 */
export const INT8 = {
  resnet18: { logits: 'fc', maxSteps: 8, meanSteps: 2 },
  mobilenet_v2: { logits: 'classifier.1', maxSteps: 1, meanSteps: 1 },
};
/** The int8 artefacts of `model` (tools/quant/torch_int8.py MODEL benchmarks/models/int8 --size 224 --onnx) */
export function int8Files(model, dir = INT8_DIR) {
  return {
    file: join(dir, `${model}.int8.safetensors`),
    onnx: join(dir, `${model}.int8.onnx`),
    input: join(dir, `${model}.input.npy`),
    logits: join(dir, `${model}.logits.npy`),
  };
}

// ------------------------------------------------------------------------------------------------
// Options
// ------------------------------------------------------------------------------------------------

const USAGE = `pnpm bench:peers [options]
  --models a,b        models (default: all ten: ${ALL_MODELS.join(',')})
  --engines e,f       engine specs <engine>[@threads][:flag] (default: cnn-wasm@1, cnn-wasm@2 when the
                      wasm backend has a 'threads' option, ort-web@1, ort-web@2, tfjs-wasm@1,
                      tfjs-wasm-fused@1, ort-node@1, ort-node@2, and for ${Object.keys(INT8).join(' and ')}
                      cnn-wasm-int8@1, cnn-wasm-int8@1:relaxed, ort-web-int8@1, ort-web-int8@2,
                      ort-node-int8@1, ort-node-int8@2); engines: ${Object.keys(ENGINES).join(', ')};
                      flags: cnn-wasm:relaxed, cnn-wasm-int8:relaxed (relaxed-SIMD binary, Node run
                      with --experimental-wasm-relaxed-simd). The *-int8 engines run torch's int8
                      model of ${Object.keys(INT8).join(' and ')} only (skipped for other models);
                      cnn-wasm-int8 runs on one thread
  --cnn-options JSON  extra createWasmBackend options for every cnn-wasm config, e.g. '{"foo":1}'
  --budget-ms N       timed-run budget per engine per model (default 4000; --quick 400)
  --min-reps N        at least N timed runs per engine (default 5; --quick 3)
  --max-reps N        at most N timed runs per engine (default 300)
  --warmup-ms N       warm-up per engine, after >= 2 runs (default 500; --quick 0)
  --quick             smoke mode: mobilenet_v3_large only (unless --models), short budget, writes nothing
  --out PATH          write PATH.md and PATH.json (default results/peers; --quick: nothing)
  --list              list models and engines`;

export function parseArgs(argv) {
  const o = { models: null, engines: null, budgetMs: null, minReps: null, maxReps: 300, warmupMs: null, quick: false, out: undefined, cnnOptions: {}, list: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const num = () => {
      const v = Number(next());
      if (!Number.isFinite(v) || v < 0) throw new Error(`${a} needs a non-negative number`);
      return v;
    };
    if (a === '--') continue;
    else if (a === '--models') o.models = next().split(',').filter(Boolean);
    else if (a === '--engines') o.engines = next().split(',').filter(Boolean);
    else if (a === '--budget-ms') o.budgetMs = num();
    else if (a === '--min-reps') o.minReps = num();
    else if (a === '--max-reps') o.maxReps = num();
    else if (a === '--warmup-ms') o.warmupMs = num();
    else if (a === '--quick') o.quick = true;
    else if (a === '--out') o.out = next();
    else if (a === '--cnn-options') o.cnnOptions = JSON.parse(next());
    else if (a === '--list') o.list = true;
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  o.models ??= o.quick ? ['mobilenet_v3_large'] : ALL_MODELS;
  o.budgetMs ??= o.quick ? 400 : 4000;
  o.minReps ??= o.quick ? 3 : 5;
  o.warmupMs ??= o.quick ? 0 : 500;
  if (o.out === undefined) o.out = o.quick ? null : join(HERE, 'results', 'peers');
  for (const m of o.models) if (!ALL_MODELS.includes(m)) throw new Error(`unknown model ${m}; known: ${ALL_MODELS.join(', ')}`);
  return o;
}

/** engine -> flag -> what it does to the worker: Node flags and backend options */
const ENGINE_FLAGS = {
  'cnn-wasm': {
    // the relaxed-SIMD binary (fused multiply-add); Chromium has relaxed SIMD, Node 20 needs a flag
    relaxed: { execArgv: ['--experimental-wasm-relaxed-simd'], options: { relaxedSimd: true } },
  },
  'cnn-wasm-int8': {
    // cnn_q8-relaxed.wasm (i32x4.relaxed_dot_i8x16_i7x16_add_s) instead of cnn_q8.wasm (i32x4.dot_i16x8_s)
    relaxed: { execArgv: ['--experimental-wasm-relaxed-simd'], options: { relaxedSimd: true } },
  },
};

/**
 * '<engine>[@threads][:flag...]', e.g. 'ort-web@2' -> { id: 'ort-web@2', engine: 'ort-web', threads: 2, flags: [] },
 * 'cnn-wasm@1:relaxed' (flags: see ENGINE_FLAGS).
 */
export function parseEngineSpec(spec) {
  const m = /^([a-z0-9-]+?)(?:@(\d+))?((?::[a-z0-9-]+)*)$/.exec(spec);
  if (!m || !ENGINES[m[1]]) throw new Error(`bad engine spec '${spec}': expected <engine>[@threads][:flag], engine one of ${Object.keys(ENGINES).join(', ')}`);
  const threads = m[2] === undefined ? 1 : Number(m[2]);
  if (threads < 1) throw new Error(`${spec}: threads must be >= 1`);
  if (m[1] === 'cnn-wasm-int8' && threads > 1) throw new Error(`${spec}: the @cnn int8 backend (createInt8WasmBackend) runs on one thread; expected cnn-wasm-int8@1`);
  const flags = m[3].split(':').filter(Boolean);
  for (const flag of flags) {
    if (!ENGINE_FLAGS[m[1]]?.[flag]) throw new Error(`${spec}: unknown flag '${flag}' for ${m[1]} (known: ${Object.keys(ENGINE_FLAGS[m[1]] ?? {}).join(', ') || 'none'})`);
  }
  return { id: `${m[1]}@${threads}${flags.map((f) => `:${f}`).join('')}`, engine: m[1], threads, flags };
}

/** Does the wasm backend declare a `threads` option (WasmBackendOptions)? */
export function cnnHasThreadsOption() {
  const src = readFileSync(join(ROOT, 'packages/kernels/src/wasm/backend.ts'), 'utf8');
  const iface = /export interface WasmBackendOptions\s*{([\s\S]*?)\n}/.exec(src);
  return !!iface && /\bthreads\??\s*:/.test(iface[1]);
}

// ------------------------------------------------------------------------------------------------
// Statistics
// ------------------------------------------------------------------------------------------------

export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  const median = quantile(s, 0.5);
  return {
    runs: s.length,
    min: s[0],
    median,
    p25: quantile(s, 0.25),
    p75: quantile(s, 0.75),
    max: s[s.length - 1],
    spreadPct: (100 * (quantile(s, 0.75) - quantile(s, 0.25))) / median,
  };
}

// ------------------------------------------------------------------------------------------------
// Workers
// ------------------------------------------------------------------------------------------------

class Worker {
  constructor(spec, cfg, execArgv = []) {
    this.spec = spec;
    this.output = '';
    this.child = fork(join(HERE, 'peers', 'worker.mjs'), [JSON.stringify(cfg)], { silent: true, serialization: 'advanced', execArgv });
    const keep = (d) => {
      this.output = (this.output + d).slice(-4000);
    };
    this.child.stdout.on('data', keep);
    this.child.stderr.on('data', keep);
    this.pending = null;
    this.child.on('message', (m) => {
      const p = this.pending;
      this.pending = null;
      if (!p) return;
      if (m.type === 'error') p.reject(new Error(m.message));
      else p.resolve(m);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      const p = this.pending;
      this.pending = null;
      p?.reject(new Error(`worker exited (${signal ?? code})\n${this.output.trim().split('\n').slice(-15).join('\n')}`));
    });
  }

  /** waits for the next message (optionally sending one first) */
  request(msg, timeoutMs = 15 * 60_000) {
    if (this.exited) return Promise.reject(new Error('worker has exited'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      this.pending = {
        resolve: (m) => (clearTimeout(timer), resolve(m)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      if (msg) this.child.send(msg);
    });
  }

  kill() {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function benchModel(model, specs, opts, ctx, log) {
  const refPath = join(MODELS_DIR, `${model}.logits.json`);
  const ref = JSON.parse(readFileSync(refPath, 'utf8'));
  const rows = specs.map((spec) => ({ model, ...spec, label: ENGINES[spec.engine].label }));
  const workers = new Map();
  // 1. start and check, one at a time
  for (const row of rows) {
    const flagged = row.flags.map((flag) => ENGINE_FLAGS[row.engine][flag]);
    const int8 = ENGINES[row.engine].int8 ? ctx.int8[model] : undefined;
    const cfg = {
      engine: row.engine,
      threads: row.threads,
      model,
      bundle: ctx.bundle,
      options: row.engine === 'cnn-wasm'
        ? Object.assign({ ...opts.cnnOptions, ...(ctx.cnnThreads ? { threads: row.threads } : {}) }, ...flagged.map((x) => x.options ?? {}))
        : row.engine === 'cnn-wasm-int8' ? Object.assign({}, ...flagged.map((x) => x.options ?? {})) : {},
      onnx: int8 ? int8.onnx : join(MODELS_DIR, `${model}.onnx`),
      logits: refPath,
      inputShape: ref.input.shape,
      tolerance: TOLERANCE,
      int8: int8 && { ...int8, binary: row.flags.includes('relaxed') ? CNN_Q8_WASM.relaxed : CNN_Q8_WASM.plain },
    };
    const w = new Worker(row, cfg, flagged.flatMap((x) => x.execArgv ?? []));
    try {
      const ready = await w.request(null);
      Object.assign(row, { firstMs: ready.firstMs, prepMs: ready.prepMs, check: ready.check, info: ready.info, osThreads: ready.osThreads, baselineRssMiB: ready.baselineRssKiB / 1024 });
      if (ready.info.variant) row.label += ` (${ready.info.variant})`;
      if (ready.info.threadsFallbackReason) {
        row.note = `ran on 1 thread: ${ready.info.threadsFallbackReason}`;
        log(`  ${row.id.padEnd(12)} note: ${row.note}`);
      }
      if (row.engine.startsWith('tfjs-wasm') && ready.info.tfjsMacs !== ctx.macs[model]) {
        row.check.ok = false;
        row.check.note = `tfjs model has ${ready.info.tfjsMacs} multiply-adds, @cnn ${ctx.macs[model]}`;
      }
      log(`  ${row.id.padEnd(12)} ready: first inference ${row.firstMs.toFixed(0)} ms, check ${checkText(row.check)} ${row.check.ok ? 'ok' : 'FAILED'}`);
      if (row.check.ok) workers.set(row, w);
      else {
        row.error = row.check.note ?? (int8
          ? `logits differ from torch's int8 ones: ${checkText(row.check)}, top-1 ${top1Text(row.check)} (allowed: ${int8.maxSteps} steps, ${int8.meanSteps} on average, and top-1 equal or a tie within them)`
          : `logits differ from torchvision: max|diff|/max|ref| = ${row.check.rel}`);
        await w.request({ type: 'exit' }).catch(() => {});
        w.kill();
      }
    } catch (e) {
      row.error = e.message.split('\n').slice(0, 6).join(' | ');
      log(`  ${row.id.padEnd(12)} FAILED: ${row.error}`);
      w.kill();
    }
  }
  const live = [...workers.keys()];
  // 2. warm-up, round-robin
  const estimate = new Map();
  for (const row of live) {
    const m = await workers.get(row).request({ type: 'run', reps: 2, minMs: opts.warmupMs });
    estimate.set(row, stats(m.times).median);
    row.warmupRuns = m.times.length;
    await sleep(5);
  }
  // 3. interleaved rounds
  const timed = new Map(live.map((r) => [r, { times: [], wallMs: 0, cpuMs: 0, batches: 0 }]));
  const batchMs = opts.budgetMs / 6;
  const done = (row) => {
    const t = timed.get(row);
    const spent = t.times.reduce((a, b) => a + b, 0);
    return t.times.length >= opts.maxReps || (spent >= opts.budgetMs && t.times.length >= opts.minReps);
  };
  for (let round = 0; live.some((r) => !done(r)); round++) {
    const order = live.map((_, i) => live[(i + round) % live.length]);
    for (const row of order) {
      if (done(row)) continue;
      const t = timed.get(row);
      const reps = Math.max(1, Math.min(opts.maxReps - t.times.length, Math.round(batchMs / estimate.get(row))));
      try {
        const m = await workers.get(row).request({ type: 'run', reps });
        t.times.push(...m.times);
        t.wallMs += m.wallMs;
        t.cpuMs += m.cpuMs;
        t.batches += 1;
        estimate.set(row, stats(t.times).median);
      } catch (e) {
        row.error = e.message.split('\n').slice(0, 6).join(' | ');
        live.splice(live.indexOf(row), 1);
        workers.get(row).kill();
        workers.delete(row);
        break;
      }
      await sleep(5);
    }
  }
  // 4. peak memory, then stop
  for (const [row, w] of workers) {
    try {
      const m = await w.request({ type: 'exit' }, 60_000);
      row.peakRssMiB = m.maxRssKiB / 1024;
      row.osThreadsEnd = m.osThreads;
    } catch (e) {
      row.error ??= e.message;
    }
    w.kill();
  }
  for (const row of rows) {
    const t = timed.get(row);
    if (!t || t.times.length === 0) continue;
    row.times = t.times.map((x) => +x.toFixed(3));
    row.batches = t.batches;
    row.stats = stats(t.times);
    row.cpuPerWall = t.cpuMs / t.wallMs;
    row.gflops = (2 * ctx.macs[model]) / (row.stats.min * 1e6);
  }
  return rows;
}

// ------------------------------------------------------------------------------------------------
// Report
// ------------------------------------------------------------------------------------------------

const f = (v, d = 1) => (v === undefined || v === null || Number.isNaN(v) ? '–' : v.toFixed(d));
const ms = (v) => (v === undefined ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

function mdTable(header, rows, align) {
  const a = align ?? header.map((_, i) => (i === 0 ? 'l' : 'r'));
  const out = [`| ${header.join(' | ')} |`, `|${a.map((x) => (x === 'l' ? ':---' : '---:')).join('|')}|`];
  for (const r of rows) out.push(`| ${r.join(' | ')} |`);
  return out.join('\n');
}

/** best (lowest min) timed row among `pred`, with a passed check */
function best(rows, pred) {
  return rows.filter((r) => r.stats && !r.error && pred(r)).sort((a, b) => a.stats.min - b.stats.min)[0];
}

export function summarise(rows) {
  const out = [];
  for (const ours of rows.filter((r) => ENGINES[r.engine].ours && r.stats)) {
    // int8 races int8, fp32 races fp32
    const mine = rows.filter((r) => r.model === ours.model && !!ENGINES[r.engine].int8 === !!ENGINES[ours.engine].int8);
    const webSame = best(mine, (r) => ENGINES[r.engine].web && r.threads === ours.threads);
    const webAny = best(mine, (r) => ENGINES[r.engine].web);
    const nativeSame = best(mine, (r) => ENGINES[r.engine].native && r.threads === ours.threads);
    out.push({
      model: ours.model,
      precision: ENGINES[ours.engine].int8 ? 'int8' : 'fp32',
      ours: ours.id,
      oursMin: ours.stats.min,
      oursMedian: ours.stats.median,
      oursFirstMs: ours.firstMs,
      firstOverWarm: ours.firstMs / ours.stats.min,
      bestWeb: webSame?.id,
      bestWebMin: webSame?.stats.min,
      ratioVsBestWeb: webSame ? ours.stats.min / webSame.stats.min : undefined,
      ratioVsBestWebMedian: webSame ? ours.stats.median / webSame.stats.median : undefined,
      bestWebAnyThreads: webAny?.id,
      ratioVsBestWebAnyThreads: webAny ? ours.stats.min / webAny.stats.min : undefined,
      native: nativeSame?.id,
      ratioVsNative: nativeSame ? ours.stats.min / nativeSame.stats.min : undefined,
    });
  }
  return out;
}

/** The fp32 row an int8 row pairs with: same engine and threads, same flags when there is one such row. */
function fp32Twin(rows, r) {
  const base = r.engine.replace(/-int8$/, '');
  const candidates = rows.filter((x) => x.model === r.model && x.engine === base && x.threads === r.threads && x.stats && !x.error);
  return candidates.find((x) => x.flags.join() === r.flags.join()) ?? candidates.find((x) => x.flags.length === 0);
}

/** Per model and int8 row: that engine's fp32 min beside its int8 min (fp32 ÷ int8 > 1: int8 is faster). */
export function precisionPairs(rows) {
  const out = [];
  for (const r of rows.filter((x) => ENGINES[x.engine].int8 && x.stats && !x.error)) {
    const twin = fp32Twin(rows, r);
    out.push({ model: r.model, int8: r.id, int8Min: r.stats.min, fp32: twin?.id, fp32Min: twin?.stats.min, fp32OverInt8: twin ? twin.stats.min / r.stats.min : undefined });
  }
  return out;
}

/** the check column: relative error (fp32), or steps of the logits' scale (int8) */
/** An int8 row's top-1 against torch's: same, a tie (torch's own margin in steps), or differs. */
function top1Text(c) {
  return c.top1Same ? 'same' : `differs: torch puts our top class ${c.top1Gap.toFixed(1)} steps below its own`;
}

function checkText(c) {
  if (c.maxSteps === undefined) return `rel ${c.rel.toExponential(1)}`;
  return `${c.maxSteps.toFixed(1)} steps (mean ${c.meanSteps.toFixed(2)})${c.top1Same ? '' : `, top-1 ${top1Text(c)}`}`;
}

function binarySizes() {
  const sized = (engine, path, note) => {
    if (!existsSync(path)) return { engine, file: relative(ROOT, path), missing: true, note };
    const bytes = readFileSync(path);
    return { engine, file: relative(ROOT, path).replace(/^node_modules\/\.pnpm\/[^/]+\/node_modules\//, ''), bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length, note };
  };
  const out = [];
  const cnnDir = dirname(CNN_WASM);
  const note = (name) => name === 'cnn_kernels.wasm' ? 'the whole backend (SIMD)'
    : name.startsWith('cnn_q8') ? 'the int8 kernels (createInt8WasmBackend), a binary of their own'
    : 'the whole backend, a build variant (see packages/kernels/build.sh)';
  for (const name of existsSync(cnnDir) ? readdirSync(cnnDir).filter((n) => n.endsWith('.wasm')) : []) out.push(sized(name.startsWith('cnn_q8') ? '@cnn wasm int8' : '@cnn wasm', join(cnnDir, name), note(name)));
  const ortDist = join(dirname(require.resolve('onnxruntime-web')), '.');
  out.push(sized('ort-web wasm', join(ortDist, 'ort-wasm-simd-threaded.wasm'), 'the wasm EP binary (1 or n threads); the .jsep/.jspi/.asyncify variants serve WebGPU/WebNN'));
  const tfDist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  out.push(sized('tfjs-wasm', join(tfDist, 'tfjs-backend-wasm-simd.wasm'), 'used with 1 thread'));
  out.push(sized('tfjs-wasm', join(tfDist, 'tfjs-backend-wasm-threaded-simd.wasm'), 'used with threads'));
  const ortBin = join(dirname(require.resolve('onnxruntime-node')), '..', 'bin');
  for (const napi of existsSync(ortBin) ? readdirSync(ortBin) : []) {
    const dir = join(ortBin, napi, process.platform, process.arch);
    for (const n of existsSync(dir) ? readdirSync(dir) : []) out.push(sized('ort-node', join(dir, n), 'native shared library, for reference'));
  }
  return out;
}

/** name -> { bytes, sha256 (12 hex), mtime } of every @cnn kernels binary */
function cnnWasmFiles() {
  const dir = dirname(CNN_WASM);
  const out = {};
  for (const name of existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.wasm')).sort() : []) {
    const bytes = readFileSync(join(dir, name));
    out[name] = { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex').slice(0, 12), mtime: statSync(join(dir, name)).mtime.toISOString() };
  }
  return out;
}

function environment(argv) {
  const git = (...a) => {
    try {
      return execFileSync('git', a, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const version = (p) => {
    try {
      return JSON.parse(readFileSync(require.resolve(`${p}/package.json`), 'utf8')).version;
    } catch {
      return null;
    }
  };
  return {
    date: new Date().toISOString(),
    command: `pnpm bench:peers${argv.length ? ' ' + argv.join(' ') : ''}`,
    node: process.version,
    cpu: `${cpus()[0]?.model ?? '?'} × ${cpus().length}`,
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    loadavgStart: loadavg().map((x) => +x.toFixed(2)),
    git: { commit: git('rev-parse', '--short', 'HEAD'), dirty: (git('status', '--porcelain', '--', 'packages', 'kernels-wasm') ?? '') !== '' },
    cnnWasm: cnnWasmFiles(),
    versions: {
      'onnxruntime-web': version('onnxruntime-web'),
      'onnxruntime-node': version('onnxruntime-node'),
      '@tensorflow/tfjs-core': version('@tensorflow/tfjs-core'),
      '@tensorflow/tfjs-backend-wasm': version('@tensorflow/tfjs-backend-wasm'),
    },
  };
}

function report(env, opts, rows, summary, pairs, sizes, macs) {
  const lines = [];
  lines.push('# @cnn vs peers: batch-1 forward pass, same weights');
  lines.push('');
  lines.push(`\`${env.command}\` — ${env.date}, Node ${env.node}, ${env.cpu}, load average ${env.loadavgStart.join(' ')} at start and ${env.loadavgEnd.join(' ')} at end. ` +
    `@cnn ${env.git.commit}${env.git.dirty ? ' (working tree with uncommitted changes)' : ''}, kernels ${Object.entries(env.cnnWasm).map(([n, w]) => `${n} sha256 ${w.sha256}`).join(', ') || 'missing'}. ` +
    (env.cnnWasmChanged ? `**The @cnn kernels binaries changed during the run (${env.cnnWasmChanged}); rows before and after differ in code.** ` : '') +
    `Budget ${opts.budgetMs} ms of timed runs per engine per model, interleaved in rotating rounds; total ${(env.totalMs / 1000).toFixed(0)} s. ` +
    'The machine is shared and noisy: compare rows of one run, not numbers across runs.');
  lines.push('');
  lines.push('## Summary: @cnn time ÷ best web peer time (min ms; > 1 means @cnn is slower)');
  lines.push('');
  lines.push('@cnn ms: warm min. @cnn first ms: the first inference (engine start, compile, weight packing and the first run, weights already in memory), ' +
    'measured with the process alone on the CPU. Best web peer: the fastest of onnxruntime-web, tfjs-wasm (tf.layers) and tfjs-wasm fused (tfjs-core fused ops) at the same thread count; ' +
    'for int8 rows, the fastest web int8 peer (onnxruntime-web on the ONNX export of the same torch int8 model), and ort-node int8 as native.');
  lines.push('');
  lines.push(mdTable(
    ['model', 'precision', 'GMACs', '@cnn', '@cnn ms', '@cnn first ms', 'first ÷ warm', 'best web peer (same threads)', 'peer ms', '**@cnn ÷ best web**', '÷ best web, any threads', '÷ ort-node (same threads)'],
    summary.map((s) => [s.model, s.precision, f(macs[s.model] / 1e9, 2), s.ours, ms(s.oursMin), ms(s.oursFirstMs), f(s.firstOverWarm, 2), s.bestWeb ?? '–', ms(s.bestWebMin), s.ratioVsBestWeb ? `**${f(s.ratioVsBestWeb, 2)}**` : '–',
      s.ratioVsBestWebAnyThreads ? `${f(s.ratioVsBestWebAnyThreads, 2)} (${s.bestWebAnyThreads})` : '–', s.ratioVsNative ? f(s.ratioVsNative, 2) : '–']),
  ));
  if (summary.length === 0) lines.push('', '(No @cnn engine produced timings in this run: see the failures below.)');
  lines.push('');
  if (pairs.length) {
    lines.push('## fp32 ÷ int8 per engine (min ms; > 1 means int8 is faster)');
    lines.push('');
    lines.push('int8: torch\'s eager-mode static quantisation of torchvision\'s quantisable model (tools/quant/torch_int8.py, onednn, per-channel symmetric weights), ' +
      '@cnn from its int8 file, onnxruntime from the ONNX export of the same converted model. fp32: the counter-weight model of the rows above. Same architecture and input size ' +
      '(torch\'s quantisable MobileNetV2 has ReLU where the fp32 one has ReLU6).');
    lines.push('');
    lines.push(mdTable(['model', 'engine', 'fp32 ms', 'int8 ms', '**fp32 ÷ int8**'],
      pairs.map((p) => [p.model, p.fp32 ? `${p.int8} (fp32: ${p.fp32})` : p.int8, ms(p.fp32Min), ms(p.int8Min), p.fp32OverInt8 ? `**${f(p.fp32OverInt8, 2)}**` : '–'])));
    lines.push('');
  }
  lines.push('## All engines');
  lines.push('');
  lines.push('check: logits vs torchvision on the same weights, max|diff| / max|ref| (must be ≤ 1e-4; both tfjs forms run the same counter weights loaded by torchvision key); ' +
    `int8 rows: largest and mean |diff| from torch's int8 logits in steps of the logits' scale, top-1 equal or a tie within the largest bound (bounds: ${Object.entries(INT8).map(([m, b]) => `${m} ${b.maxSteps} / ${b.meanSteps}`).join(', ')}). ` +
    'spread: interquartile range / median. cpu/wall: process CPU time ÷ wall time over the timed runs (≈ threads kept busy). ' +
    'first: engine start + model compile/session + first run, weights already in memory. peak RSS: the child process\'s maxRSS (one engine, one model).');
  lines.push('');
  lines.push(mdTable(
    ['model', 'engine', 'thr', 'check', 'min ms', 'median ms', 'spread %', 'runs', 'GFLOP/s', 'cpu/wall', 'first ms', 'peak RSS MiB'],
    rows.map((r) => r.error && !r.stats
      ? [r.model, r.label, String(r.threads), r.check ? `✗ ${r.check.maxSteps === undefined ? r.check.rel?.toExponential(1) : checkText(r.check)}` : '✗', '–', '–', '–', '–', '–', '–', ms(r.firstMs), `failed: ${r.error.slice(0, 120).replace(/\|/g, '/')}`]
      : [r.model, r.label, r.note ? `${r.threads} (ran 1)` : String(r.threads), `✓ ${r.check.maxSteps === undefined ? r.check.rel.toExponential(1) : checkText(r.check)}`, ms(r.stats.min), ms(r.stats.median), f(r.stats.spreadPct), String(r.stats.runs), f(r.gflops), f(r.cpuPerWall, 2), ms(r.firstMs), f(r.peakRssMiB, 0)]),
    ['l', 'l', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  ));
  lines.push('');
  lines.push('## WebAssembly binary per engine');
  lines.push('');
  lines.push(mdTable(['engine', 'file', 'bytes', 'gzip -9 bytes', 'note'],
    sizes.map((s) => [s.engine, `\`${s.file}\``, s.missing ? 'missing' : s.bytes.toLocaleString('en-US'), s.missing ? '–' : s.gzipBytes.toLocaleString('en-US'), s.note ?? '']),
    ['l', 'l', 'r', 'r', 'l']));
  lines.push('');
  return lines.join('\n');
}

// ------------------------------------------------------------------------------------------------

async function main() {
  const argv = process.argv.slice(2).filter((a) => a !== '--');
  let opts;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    console.error(`bench:peers: ${e.message}`);
    process.exit(2);
  }
  if (opts.help) return console.log(USAGE);
  const cnnThreads = cnnHasThreadsOption();
  const defaultEngines = ['cnn-wasm@1', ...(cnnThreads ? ['cnn-wasm@2'] : []), 'ort-web@1', 'ort-web@2', 'tfjs-wasm@1', 'tfjs-wasm-fused@1', 'ort-node@1', 'ort-node@2',
    'cnn-wasm-int8@1', 'cnn-wasm-int8@1:relaxed', 'ort-web-int8@1', 'ort-web-int8@2', 'ort-node-int8@1', 'ort-node-int8@2'];
  if (opts.list) {
    console.log(`models: ${ALL_MODELS.join(', ')}\nengines: ${Object.keys(ENGINES).join(', ')}\ndefault engine specs: ${defaultEngines.join(', ')}`);
    return;
  }
  let specs;
  try {
    specs = (opts.engines ?? defaultEngines).map(parseEngineSpec);
  } catch (e) {
    console.error(`bench:peers: ${e.message}`);
    process.exit(2);
  }
  for (const s of specs) {
    if (s.engine === 'cnn-wasm' && s.threads > 1 && !cnnThreads) {
      throw new Error(`${s.id}: the @cnn wasm backend has no 'threads' option yet (WasmBackendOptions in packages/kernels/src/wasm/backend.ts)`);
    }
  }
  const missing = opts.models.filter((m) => !existsSync(join(MODELS_DIR, `${m}.onnx`)) || !existsSync(join(MODELS_DIR, `${m}.logits.json`)));
  if (missing.length) {
    console.error(`missing benchmarks/models/<name>.onnx / .logits.json for ${missing.join(', ')}. Export them first:\n  /usr/bin/python3 tools/onnx/export.py ${missing.join(' ')}`);
    process.exit(2);
  }
  // the int8 engines run where torch has a quantisable builder and its artefacts exist
  const specsFor = (model) => specs.filter((s) => !ENGINES[s.engine].int8 || INT8[model]);
  const int8Models = opts.models.filter((m) => specsFor(m).some((s) => ENGINES[s.engine].int8));
  const int8Skipped = opts.engines ? opts.models.filter((m) => !INT8[m]) : [];
  if (int8Skipped.length && specs.some((s) => ENGINES[s.engine].int8)) console.log(`note: no int8 race for ${int8Skipped.join(', ')} (torch's quantisable builders: ${Object.keys(INT8).join(', ')})`);
  if (opts.models.every((m) => specsFor(m).length === 0)) {
    console.error(`bench:peers: nothing to run: the *-int8 engines run ${Object.keys(INT8).join(' and ')} only, got --models ${opts.models.join(',')}`);
    process.exit(2);
  }
  const int8Missing = int8Models.filter((m) => Object.values(int8Files(m)).some((p) => !existsSync(p)));
  if (int8Missing.length) {
    console.error(`missing the int8 artefacts in ${relative(process.cwd(), INT8_DIR)}/ (<name>.int8.safetensors, .int8.onnx, .input.npy, .logits.npy) for ${int8Missing.join(', ')}. Make them first:\n` +
      int8Missing.map((m) => `  /usr/bin/python3 tools/quant/torch_int8.py ${m} benchmarks/models/int8 --size 224 --onnx`).join('\n') +
      '\nor leave the *-int8 engines out of --engines');
    process.exit(2);
  }
  if (specs.some((s) => s.engine === 'cnn-wasm-int8' && int8Models.length) && specs.filter((s) => s.engine === 'cnn-wasm-int8').some((s) => !existsSync(s.flags.includes('relaxed') ? CNN_Q8_WASM.relaxed : CNN_Q8_WASM.plain))) {
    console.error(`no int8 kernels (${relative(ROOT, CNN_Q8_WASM.plain)}, ${relative(ROOT, CNN_Q8_WASM.relaxed)}): build them with packages/kernels/build.sh q8 q8-relaxed`);
    process.exit(2);
  }
  const cnnWasmDir = dirname(CNN_WASM);
  if (specs.some((s) => s.engine === 'cnn-wasm') && !(existsSync(cnnWasmDir) && readdirSync(cnnWasmDir).some((n) => n.endsWith('.wasm')))) {
    console.error(`no wasm kernels in ${relative(ROOT, cnnWasmDir)}: build them with packages/kernels/build.sh`);
    process.exit(2);
  }
  const t0 = performance.now();
  const env = environment(argv);
  const bundle = await bundleCnn();
  const lib = await import(bundle);
  const macs = Object.fromEntries(opts.models.map((m) => [m, lib.summarize(lib.MODELS[m]()).totalMultiplyAdds]));
  const int8 = {};
  for (const m of int8Models) {
    const files = int8Files(m);
    const input = lib.parseNpy(readFileSync(files.input));
    const fp32Shape = JSON.parse(readFileSync(join(MODELS_DIR, `${m}.logits.json`), 'utf8')).input.shape;
    if (input.shape.join() !== fp32Shape.join()) {
      console.error(`${relative(process.cwd(), files.input)} is [${input.shape}], the fp32 race runs [${fp32Shape}]: regenerate it with\n  /usr/bin/python3 tools/quant/torch_int8.py ${m} benchmarks/models/int8 --size ${fp32Shape[2]} --onnx`);
      process.exit(2);
    }
    const activation = lib.decodeQuantizedModel(readFileSync(files.file)).activations.get(INT8[m].logits);
    if (!activation) throw new Error(`${files.file}: no activation scale for the logits layer '${INT8[m].logits}'`);
    int8[m] = { ...files, step: activation.scale, maxSteps: INT8[m].maxSteps, meanSteps: INT8[m].meanSteps };
  }
  const ctx = { bundle, macs, cnnThreads, int8 };
  const log = (s) => console.log(s);
  log(`${env.command}\n${env.cpu}, Node ${env.node}, load average ${env.loadavgStart.join(' ')}; engines ${specs.map((s) => s.id).join(', ')}; budget ${opts.budgetMs} ms per engine per model`);
  const rows = [];
  const wasmStamp = () => JSON.stringify(Object.entries(cnnWasmFiles()).map(([n, w]) => [n, w.sha256]));
  const stampAtStart = wasmStamp();
  for (const model of opts.models) {
    if (!env.cnnWasmChanged && wasmStamp() !== stampAtStart) {
      env.cnnWasmChanged = `before ${model}`;
      log(`  warning: the @cnn kernels binaries changed (rebuilt) before ${model}`);
    }
    if (specsFor(model).length === 0) {
      log(`${model}: skipped (no engine runs it: the *-int8 engines run ${Object.keys(INT8).join(' and ')} only)`);
      continue;
    }
    const ref = JSON.parse(readFileSync(join(MODELS_DIR, `${model}.logits.json`), 'utf8'));
    if (ref.macs !== macs[model]) log(`  note: torchvision counts ${ref.macs} multiply-adds for ${model}, @cnn ${macs[model]}`);
    log(`${model} (${(macs[model] / 1e9).toFixed(2)} GMACs)`);
    const t = performance.now();
    const modelRows = await benchModel(model, specsFor(model), opts, ctx, log);
    rows.push(...modelRows);
    for (const r of modelRows.filter((x) => x.stats)) {
      log(`  ${r.id.padEnd(12)} min ${ms(r.stats.min).padStart(6)} ms  median ${ms(r.stats.median).padStart(6)} ms  spread ${f(r.stats.spreadPct).padStart(5)} %  runs ${String(r.stats.runs).padStart(3)}  cpu/wall ${f(r.cpuPerWall, 2)}  peak ${f(r.peakRssMiB, 0)} MiB`);
    }
    log(`  (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }
  if (!env.cnnWasmChanged && wasmStamp() !== stampAtStart) env.cnnWasmChanged = 'during the last model';
  env.loadavgEnd = loadavg().map((x) => +x.toFixed(2));
  env.totalMs = performance.now() - t0;
  const summary = summarise(rows);
  const pairs = precisionPairs(rows);
  const sizes = binarySizes();
  const md = report(env, opts, rows, summary, pairs, sizes, macs);
  console.log(`\n${md}`);
  if (opts.out) {
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(`${opts.out}.md`, md);
    writeFileSync(`${opts.out}.json`, `${JSON.stringify({ environment: env, options: { ...opts, out: undefined }, macs, summary, precisionPairs: pairs, rows, binaries: sizes }, null, 1)}\n`);
    console.log(`wrote ${relative(process.cwd(), opts.out)}.md and .json`);
  }
  const failed = rows.filter((r) => r.error);
  if (failed.length) {
    console.error(`${failed.length} engine/model pair(s) failed: ${failed.map((r) => `${r.model}/${r.id}`).join(', ')}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e) => {
    console.error(e?.stack ?? e);
    process.exit(1);
  });
}
