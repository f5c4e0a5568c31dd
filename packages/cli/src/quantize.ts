// cnn quantize: a float model and some calibration inputs in, W.int8.safetensors out (post-training
// static int8 quantisation, issue 15). Also how run, classify and evaluate recognise such a file.
import { open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { calibrate, decodeQuantizedModel, isInt8, useInt8, encodeQuantizedModel, INT8_MODEL_FORMAT, loadWeights, nchwToNhwc, parseNpy, type Model, type Tensor } from '@cnn/core';
import { preprocessBatch, presetFor } from '@cnn/vision';
import { readImage } from '@cnn/vision/node';
import { createBackend, type Io, type ParsedArgs } from './commands.js';
import type { Backend } from '@cnn/core';
import { CliError, UsageError, findModel } from './registry.js';

export const QUANTIZE_USAGE = `usage: cnn quantize <model> --weights W --calibration DIR|X.npy --output W.int8.safetensors
                    [--limit N] [--observer minmax|percentile] [--reduce-range] [--backend js|wasm] [--json]

  Post-training static quantisation: runs the calibration inputs through the float model, records
  the range of every tensor, and writes int8 weights (per output channel, symmetric), int32 biases
  and the uint8 scale and zero point of every quantised tensor to one .safetensors file
  (metadata format '${INT8_MODEL_FORMAT}'; layout in @cnn/core's quantize/format.ts). cnn run,
  classify and evaluate take that file as --weights and run it in int8 (--backend wasm: the
  wasm int8 kernels for convolutions and linear layers; js: the scalar reference).
    --calibration DIR    PNG/JPEG images, preprocessed with the model's preset (as cnn classify),
                         and/or .npy files of preprocessed float32 NCHW inputs [n, c, h, w]
    --calibration X.npy  one such .npy file
    --limit N            use at most N calibration images (default 500)
    --observer KIND      minmax (default): the extremes seen; percentile: the 0.01th and 99.99th
                         percentiles per image, averaged (clips rare outliers)
    --reduce-range       quantise activations to [0, 127] (torch fbgemm's reduce_range)
    --backend NAME       backend that runs the float calibration passes (default wasm)
    --json               print {model, output, images, observer, layers, tensors, bytes, seconds}
  Progress goes to stderr on a terminal only.`;

const IMAGE = /\.(png|jpe?g)$/i;

/** True when `path` is a .safetensors file whose metadata says it is an int8 model (reads the header only). */
export async function isInt8WeightsFile(path: string): Promise<boolean> {
  if (!path.endsWith('.safetensors')) return false;
  let handle;
  try {
    handle = await open(path);
    const head = Buffer.alloc(8);
    await handle.read(head, 0, 8, 0);
    const length = Number(head.readBigUInt64LE(0));
    if (length > 100_000_000) return false;
    const header = Buffer.alloc(length);
    await handle.read(header, 0, length, 8);
    return (JSON.parse(header.toString('utf8')) as { __metadata__?: { format?: string } }).__metadata__?.format === INT8_MODEL_FORMAT;
  } catch {
    return false; // the float loader reports what is wrong with the file
  } finally {
    await handle?.close();
  }
}

/** Loads float weights, or an int8 file (cnn quantize's) into `model.useInt8`. */
export async function loadAnyWeights(model: Model, path: string, options: { allowUnexpected?: boolean } = {}): Promise<Model> {
  if (await isInt8WeightsFile(path)) return useInt8(model, decodeQuantizedModel(new Uint8Array(await readFile(path))));
  return loadWeights(model, path, options);
}

/** A file of @cnn/kernels' wasm folder (the cnn binary is ESM; the library build also CommonJS). */
function kernelsFile(file: string): string {
  const spec = `@cnn/kernels/wasm/${file}`;
  // tsup's shims give the CommonJS build an import.meta.url (tsup.config.ts)
  return createRequire(import.meta.url).resolve(spec);
}

/**
 * The backend `name` for `model`: an int8 model on 'wasm' runs on the wasm-int8 backend
 * (cnn_q8-relaxed.wasm where this engine validates relaxed SIMD, else cnn_q8.wasm): convolutions
 * and linear layers in wasm, the other int8 ops on the js reference over the same memory.
 */
export async function backendFor(model: Model, name: string): Promise<Backend> {
  if (!isInt8(model) || name !== 'wasm') return createBackend(name);
  const { createInt8WasmBackend } = await import('@cnn/kernels/wasm/q8');
  const relaxed = new Uint8Array(await readFile(kernelsFile('cnn_q8-relaxed.wasm')));
  const binary = WebAssembly.validate(relaxed) ? relaxed : new Uint8Array(await readFile(kernelsFile('cnn_q8.wasm')));
  return createInt8WasmBackend(binary);
}

/** Calibration inputs, one NCHW [1, c, h, w] tensor at a time. */
async function* calibrationInputs(model: Model, source: string, limit: number): AsyncGenerator<Tensor> {
  const files = source.endsWith('.npy') ? [source] : (await readdir(source)).sort().map((f) => join(source, f)).filter((f) => IMAGE.test(f) || f.endsWith('.npy'));
  if (files.length === 0) throw new CliError(`--calibration ${source}: no PNG, JPEG or .npy files there`);
  const channels = model.architecture.inputShape[0] as 1 | 3;
  const preset = presetFor(model.architecture);
  let count = 0;
  for (const file of files) {
    if (count >= limit) return;
    if (IMAGE.test(file)) {
      count++;
      yield preprocessBatch([await readImage(file)], preset, channels);
      continue;
    }
    const t = parseNpy(new Uint8Array(await readFile(file)));
    if (t.shape.length !== 4 || t.shape[1] !== channels) throw new CliError(`${file}: expected float NCHW inputs [n, ${channels}, h, w], got [${t.shape.join(', ')}]`);
    const [n, c, h, w] = t.shape;
    for (let i = 0; i < n && count < limit; i++, count++) {
      yield { shape: [1, c, h, w], data: t.data.subarray(i * c * h * w, (i + 1) * c * h * w) } as unknown as Tensor;
    }
  }
}

export async function quantizeCommand(io: Io, args: ParsedArgs, stderr: { isTTY?: boolean; write(s: string): unknown } = process.stderr): Promise<void> {
  const value = (k: string) => {
    const v = args.flags.get(k);
    return typeof v === 'string' ? v : undefined;
  };
  const name = args.positionals[0];
  if (!name || args.positionals.length !== 1) throw new UsageError(QUANTIZE_USAGE);
  const [weights, source, output] = ['weights', 'calibration', 'output'].map(value);
  if (!weights || !source || !output) throw new UsageError(`cnn quantize: --weights, --calibration and --output are required\n\n${QUANTIZE_USAGE}`);
  const limitText = value('limit') ?? '500';
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1) throw new UsageError(`--limit must be a positive integer, got '${limitText}'`);
  const observer = value('observer') ?? 'minmax';
  if (observer !== 'minmax' && observer !== 'percentile') throw new UsageError(`--observer must be minmax or percentile, got '${observer}'`);
  const json = args.flags.has('json');
  const tty = stderr.isTTY === true && !json;

  const started = performance.now();
  const model = await loadWeights(findModel(name).create(), weights, { keepWeights: true });
  const backend = await createBackend(value('backend') ?? 'wasm');
  // the calibration plan's input size is the first input's; every other must match it
  const inputs = calibrationInputs(model, source, limit);
  const first = await inputs.next();
  if (first.done) throw new CliError(`--calibration ${source}: no inputs`);
  const [, c, h, w] = first.value.shape;
  async function* nhwc(): AsyncGenerator<Float32Array> {
    for (let t = first; !t.done; t = await inputs.next()) {
      const s = t.value.shape;
      if (s[2] !== h || s[3] !== w) throw new CliError(`calibration inputs differ in size: ${h}x${w} first, then ${s[2]}x${s[3]}`);
      yield nchwToNhwc(t.value.data, 1, c, h, w);
    }
  }
  let images = 0;
  const { parameters } = await calibrate(model, backend, nhwc(), {
    inputSize: [h, w],
    observer,
    reduceRange: args.flags.has('reduce-range'),
    onBatch: (done) => {
      images = done;
      if (tty) stderr.write(`\rcalibrating ${name}: ${done} input(s)`);
    },
  });
  if (tty) stderr.write('\n');
  const bytes = encodeQuantizedModel(parameters, { model: name, observer, 'reduce-range': String(args.flags.has('reduce-range')) });
  const temp = `${output}.partial-${process.pid}`;
  try {
    await writeFile(temp, bytes);
    await rename(temp, output);
  } catch (e) {
    await rm(temp, { force: true });
    throw new CliError(`cannot write '${output}': ${(e as Error).message}`);
  }
  const report = { model: name, weights, calibration: source, output, images, observer, reduceRange: args.flags.has('reduce-range'), layers: parameters.layers.size, tensors: parameters.activations.size, bytes: bytes.length, seconds: (performance.now() - started) / 1000 };
  if (json) return io.out(JSON.stringify(report, null, 2));
  io.out(`${output}: ${report.layers} int8 layers, ${report.tensors} quantised tensors, ${bytes.length.toLocaleString('en-US')} bytes (${images} calibration inputs, ${observer}, ${report.seconds.toFixed(1)} s)`);
}
