// One engine, one model, one process (forked by peers.mjs, driven over the IPC channel), so that
// process.resourceUsage().maxRSS is this engine's peak memory and nothing else's.
//
// Protocol (parent -> worker): { type: 'run', reps, minMs? } | { type: 'exit' }
//           (worker -> parent): { type: 'ready', ... } once loaded and checked,
//                               { type: 'times', times, cpuMs, wallMs } per 'run',
//                               { type: 'exit', maxRssKiB } before exiting, { type: 'error', message }.
//
// "First inference" is timed from weights already in memory in their stored form (the @cnn
// generator's output, the .onnx bytes, the torchvision-layout arrays for tfjs) to the first logits:
// engine start-up (wasm compile/instantiate), model compile / session creation / layer building,
// weight packing, and the first forward pass. Reading files and generating weights are not in it.
//
// The int8 engines (cfg.int8) run torch's quantised model (tools/quant/torch_int8.py --onnx): @cnn
// its int8 file (decoded inside "first inference", as onnxruntime parses its .onnx there), and
// onnxruntime the ONNX export of the same converted model, both on torch's input (MODEL.input.npy),
// checked against torch's int8 logits in steps of the logits' quantisation scale (cfg.int8.step).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const cfg = JSON.parse(process.argv[2]);
const require = createRequire(import.meta.url);
const send = (msg) => new Promise((resolve) => process.send(msg, resolve));

function osThreads() {
  try {
    return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
  } catch {
    return null;
  }
}

function compare(out, ref) {
  const got = Array.from(out);
  let maxDiff = 0;
  let maxRef = 0;
  let finite = true;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(got[i])) finite = false;
    maxDiff = Math.max(maxDiff, Math.abs(got[i] - ref[i]));
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
  }
  return { length: got.length, finite, maxAbsDiff: maxDiff, maxAbsRef: maxRef, rel: maxDiff / maxRef };
}

/**
 * Logits against torch's int8 ones, in steps of the logits' quantisation scale, and top-1;
 * top1Gap: how far below torch's own top logit torch puts the class this engine ranks first, in
 * steps (0 when top-1 is the same).
 */
function compareSteps(out, ref, step) {
  const c = compare(out, ref);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(out[i] - ref[i]) / step;
    max = Math.max(max, d);
    sum += d;
  }
  const top = (v) => Array.prototype.indexOf.call(v, Math.max(...v));
  return { ...c, maxSteps: max, meanSteps: sum / ref.length, top1Same: top(out) === top(ref), top1Gap: (ref[top(ref)] - ref[top(out)]) / step };
}

/** The input every engine runs: NCHW counter input as torchvision got it, or torch's int8 input (.npy) */
async function engineInput(shape) {
  const lib = await import(cfg.bundle);
  return cfg.int8 ? lib.parseNpy(readFileSync(cfg.int8.input)).data : lib.counterInput(shape, 1);
}

// ------------------------------------------------------------------------------------------------
// Engines: each returns { run: async () => Float32Array-like logits, info }
// ------------------------------------------------------------------------------------------------

async function cnnEngine(backendKind) {
  const lib = await import(cfg.bundle);
  const factory = lib.MODELS[cfg.model];
  const tPrep = performance.now();
  const model = factory().useGeneratedWeights(1);
  const prepMs = performance.now() - tPrep;
  const [c, h, w] = model.architecture.inputShape;
  const input = new lib.Tensor([1, c, h, w], lib.counterInput([1, c, h, w], 1));
  const t0 = performance.now();
  const backend = backendKind === 'js' ? lib.createJsBackend() : await lib.createWasmBackend(cfg.options);
  const runner = await model.compile(backend);
  const run = async () => (await runner.run(input)).data;
  const first = await run();
  const firstMs = performance.now() - t0;
  const info = { options: cfg.options, arenaMiB: runner.arenaBytes / 2 ** 20, weightMiB: runner.weightBytes / 2 ** 20 };
  // newer wasm backends say which binary they run and why they fell back to one thread
  if (typeof backend.variant === 'string') info.variant = backend.variant;
  if (backend.threadsFallbackReason) info.threadsFallbackReason = backend.threadsFallbackReason;
  return { run, first, firstMs, prepMs, info };
}

/** torch's int8 model in @cnn's int8 file, on createInt8WasmBackend (cnn_q8.wasm or cnn_q8-relaxed.wasm) */
async function cnnInt8Engine() {
  const lib = await import(cfg.bundle);
  const tPrep = performance.now();
  const fileBytes = readFileSync(cfg.int8.file);
  const binary = readFileSync(cfg.int8.binary);
  const x = lib.parseNpy(readFileSync(cfg.int8.input));
  // the file holds no float weights; useInt8 plans over generated placeholders, made here (not timed)
  const model = lib.INT8_MODELS[cfg.model].model().useGeneratedWeights(1);
  const prepMs = performance.now() - tPrep;
  const input = new lib.Tensor(x.shape, x.data);
  const t0 = performance.now();
  const parameters = lib.decodeQuantizedModel(fileBytes);
  const runner = await lib.useInt8(model, parameters).compile(lib.createInt8WasmBackend(binary), { inputSize: x.shape.slice(2) });
  const run = async () => (await runner.run(input)).data;
  const first = await run();
  const firstMs = performance.now() - t0;
  const variant = cfg.options.relaxedSimd ? 'q8-relaxed' : 'q8';
  return { run, first, firstMs, prepMs, info: { variant, residualAdds: parameters.residualAdds, arenaMiB: runner.arenaBytes / 2 ** 20, weightMiB: runner.weightBytes / 2 ** 20 } };
}

async function ortEngine(flavour) {
  const ort = flavour === 'web' ? await import('onnxruntime-web') : require('onnxruntime-node');
  const tPrep = performance.now();
  const bytes = new Uint8Array(readFileSync(cfg.onnx));
  const prepMs = performance.now() - tPrep;
  const input = new ort.Tensor('float32', await engineInput(cfg.inputShape), cfg.inputShape);
  const t0 = performance.now();
  let options;
  if (flavour === 'web') {
    ort.env.wasm.numThreads = cfg.threads;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = 'error';
    options = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };
  } else {
    options = {
      executionProviders: ['cpu'],
      intraOpNumThreads: cfg.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    };
  }
  const session = await ort.InferenceSession.create(bytes, options);
  const [inName] = session.inputNames;
  const [outName] = session.outputNames;
  const run = async () => (await session.run({ [inName]: input }))[outName].data;
  const first = await run();
  return { run, first, firstMs: performance.now() - t0, prepMs, info: { ortVersion: ort.env.versions?.[flavour] ?? ort.env.versions } };
}

/**
 * tfjs-backend-wasm with the same counter weights, either as a tf.layers model (one layer per op,
 * peers/tfjs-models.mjs) or, fused, on tfjs-core's fused ops as tfjs-converter's executor runs a
 * graph (peers/tfjs-fused.mjs).
 */
async function tfjsEngine(fused) {
  const tf = require('@tensorflow/tfjs-core');
  const tfwasm = require('@tensorflow/tfjs-backend-wasm');
  const lib = await import(cfg.bundle);
  const { buildTfjsModel, TFJS_INPUT } = await import('./tfjs-models.mjs');
  const { buildTfjsFusedModel } = await import('./tfjs-fused.mjs');
  const [H, W, C] = TFJS_INPUT[cfg.model];
  const nchw = lib.counterInput([1, C, H, W], 1);
  const nhwc = new Float32Array(nchw.length);
  for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) nhwc[i * C + c] = nchw[c * H * W + i];
  const t0 = performance.now();
  if (cfg.threads === 1) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false); // the plain SIMD binary
  else tfwasm.setThreadsCount(cfg.threads);
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") failed');
  await tf.ready();
  const param = (key, shape) => lib.counterParameter(key, shape, 1);
  const built = fused ? buildTfjsFusedModel(tf, cfg.model, param) : buildTfjsModel(tf, require('@tensorflow/tfjs-layers'), cfg.model, param);
  const predict = fused ? built.predict : (x) => built.model.predict(x);
  const x = tf.tensor4d(nhwc, [1, H, W, C]);
  const run = async () => {
    const y = predict(x);
    const data = await y.data();
    y.dispose();
    return data;
  };
  const first = await run();
  const firstMs = performance.now() - t0 - built.paramMs;
  const threaded = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
  return {
    run,
    first,
    firstMs,
    prepMs: built.paramMs,
    info: {
      tfjsMacs: built.macs,
      form: fused ? `tfjs-core fused ops, ${built.nodes} nodes` : 'tf.layers',
      wasmThreads: tfwasm.getThreadsCount(),
      binary: threaded ? 'tfjs-backend-wasm-threaded-simd.wasm' : 'tfjs-backend-wasm-simd.wasm',
    },
  };
}

// ------------------------------------------------------------------------------------------------

async function main() {
  const baselineRssKiB = process.resourceUsage().maxRSS;
  const threadsBefore = osThreads();
  let engine;
  switch (cfg.engine) {
    case 'cnn-wasm':
      engine = await cnnEngine('wasm');
      break;
    case 'cnn-js':
      engine = await cnnEngine('js');
      break;
    case 'cnn-wasm-int8':
      engine = await cnnInt8Engine();
      break;
    case 'ort-web':
    case 'ort-web-int8':
      engine = await ortEngine('web');
      break;
    case 'ort-node':
    case 'ort-node-int8':
      engine = await ortEngine('node');
      break;
    case 'tfjs-wasm':
      engine = await tfjsEngine(false);
      break;
    case 'tfjs-wasm-fused':
      engine = await tfjsEngine(true);
      break;
    default:
      throw new Error(`unknown engine ${cfg.engine}`);
  }
  let check;
  if (cfg.int8) {
    const lib = await import(cfg.bundle);
    const ref = lib.parseNpy(readFileSync(cfg.int8.logits)).data;
    check = compareSteps(engine.first, ref, cfg.int8.step);
    // top-1 may differ only where torch's two candidates lie within the allowed steps (a tie that
    // an allowed difference can flip)
    const top1Ok = check.top1Same || check.top1Gap <= cfg.int8.maxSteps + 1e-4;
    check.ok = check.finite && check.length === ref.length && top1Ok && check.maxSteps <= cfg.int8.maxSteps + 1e-4 && check.meanSteps <= cfg.int8.meanSteps;
  } else {
    const ref = JSON.parse(readFileSync(cfg.logits, 'utf8')).logits.data;
    check = compare(engine.first, ref);
    check.ok = check.finite && check.length === ref.length && check.rel <= cfg.tolerance;
  }
  await send({
    type: 'ready',
    firstMs: engine.firstMs,
    prepMs: engine.prepMs,
    check,
    osThreads: { before: threadsBefore, after: osThreads() },
    baselineRssKiB,
    info: engine.info,
  });
  process.on('message', async (msg) => {
    try {
      if (msg.type === 'run') {
        const times = [];
        const c0 = process.cpuUsage();
        const w0 = performance.now();
        while (times.length < msg.reps || (msg.minMs && performance.now() - w0 < msg.minMs)) {
          const s = performance.now();
          await engine.run();
          times.push(performance.now() - s);
        }
        const wallMs = performance.now() - w0;
        const cpu = process.cpuUsage(c0);
        await send({ type: 'times', times, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 });
      } else if (msg.type === 'exit') {
        await send({ type: 'exit', maxRssKiB: process.resourceUsage().maxRSS, osThreads: osThreads() });
        process.exit(0);
      }
    } catch (e) {
      await send({ type: 'error', message: e?.stack ?? String(e) });
      process.exit(1);
    }
  });
}

main().catch(async (e) => {
  await send({ type: 'error', message: e?.stack ?? String(e) });
  process.exit(1);
});
