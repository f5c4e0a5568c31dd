// cnn evaluate: a classifier with weights on a labelled test set, through the same preprocessing
// and classifier as `cnn classify`: a few predictions against the true labels, then the accuracy.
import { buildGraph, loadWeights } from '@cnn/core';
import { readFashionMnist, FASHION_MNIST_DIR } from '@cnn/train/node';
import { createClassifier, type Pixels } from '@cnn/vision';
import { backendFor, loadAnyWeights } from './quantize.js';
import { BACKENDS, createBackend, type Io, type ParsedArgs } from './commands.js';
import { CliError, UsageError, findModel } from './registry.js';

export const EVALUATE_USAGE = `usage: cnn evaluate <model> --dataset fashion-mnist [--weights W.safetensors] [--show N] [--limit N]
                    [--backend js|wasm] [--data-dir DIR] [--json]

  Classifies the dataset's test images as \`cnn classify\` would (the 28x28 bytes as stored, through
  the model's preprocessing preset), prints the first N predictions (default 10) against the true
  labels, then the accuracy over the whole test set (10,000 images) and the time it took: loading
  the weights, compiling, preprocessing and the forward passes.
  Without --weights a model that ships weights uses them (lenet5: @cnn/lenet/weights).
  --limit N evaluates the first N test images only; --data-dir is where Fashion-MNIST's *-ubyte.gz
  files are (default ${FASHION_MNIST_DIR}).
  --json prints { model, weights, dataset, backend, images, correct, accuracy, seconds, shown: [{ index, label, predicted, probability }] }.`;

/** images per forward pass: LeNet-5's activations for 500 images are about 4 MB */
const BATCH = 500;

export interface EvaluateResult {
  model: string;
  weights: string;
  dataset: string;
  backend: string;
  images: number;
  correct: number;
  accuracy: number;
  seconds: number;
  shown: { index: number; label: string; predicted: string; probability: number }[];
}

function count(args: ParsedArgs, name: string, fallback: number, min: number): number {
  const text = args.flags.get(name);
  if (typeof text !== 'string') return fallback;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${text}'`);
  return n;
}

export async function evaluateCommand(io: Io, args: ParsedArgs): Promise<EvaluateResult | undefined> {
  if (args.flags.has('help')) {
    io.out(EVALUATE_USAGE);
    return undefined;
  }
  const [name, ...extra] = args.positionals;
  if (!name || extra.length > 0) throw new UsageError(EVALUATE_USAGE);
  const value = (key: string) => {
    const v = args.flags.get(key);
    return typeof v === 'string' ? v : undefined;
  };
  const dataset = value('dataset');
  if (dataset !== 'fashion-mnist') throw new UsageError(`cnn evaluate: --dataset must be fashion-mnist (the only one so far), got ${dataset === undefined ? 'none' : `'${dataset}'`}`);
  const show = count(args, 'show', 10, 0);
  const limit = count(args, 'limit', Infinity, 1);
  const entry = findModel(name);
  const weightsPath = value('weights');
  if (weightsPath === undefined && entry.shippedWeights === undefined) {
    throw new UsageError(`cnn evaluate: ${name} ships no weights; give --weights W.safetensors`);
  }
  const model = entry.create();
  const graph = buildGraph(model.architecture);
  const numClasses = graph.nodes[graph.outputs.get('logits')!].shape[0];
  const set = await readFashionMnist('test', value('data-dir') ?? FASHION_MNIST_DIR);
  if (numClasses !== set.classes.length) {
    throw new UsageError(`cnn evaluate: ${name} has ${numClasses} classes; fashion-mnist needs a model with ${set.classes.length} (lenet5)`);
  }
  const backendName = value('backend') ?? 'wasm';
  if (!BACKENDS.includes(backendName as never)) await createBackend(backendName); // a usage error before any loading
  const [total, height, width] = set.images.dims;
  const n = Math.min(total, limit);
  const images: Pixels[] = [];
  for (let i = 0; i < n; i++) images.push({ width, height, channels: 1, data: set.images.data.subarray(i * height * width, (i + 1) * height * width) });

  const started = performance.now();
  if (weightsPath !== undefined) await loadAnyWeights(model, weightsPath);
  else await loadWeights(model, entry.shippedWeights!.url);
  // an int8 file's model runs on the int8 kernels of this backend (backendFor)
  const backend = await backendFor(model, backendName);
  const classifier = await createClassifier(model, { backend, labels: set.classes, batch: Math.min(BATCH, n) });
  let predictions;
  try {
    predictions = await classifier.classify(images, { topK: 1 });
  } finally {
    classifier.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  if (predictions.length !== n) throw new CliError(`cnn evaluate: expected ${n} predictions, got ${predictions.length}`);
  const correct = predictions.filter(([top], i) => top.index === set.labels[i]).length;

  const result: EvaluateResult = {
    model: name,
    weights: weightsPath ?? entry.shippedWeights!.description,
    dataset: 'fashion-mnist (test)',
    backend: backend.name,
    images: n,
    correct,
    accuracy: correct / n,
    seconds,
    shown: predictions.slice(0, show).map(([top], index) => ({ index, label: set.classes[set.labels[index]], predicted: top.label, probability: top.probability })),
  };
  if (args.flags.has('json')) {
    io.out(JSON.stringify(result, null, 2));
    return result;
  }
  io.out(`${name} with ${result.weights} on the Fashion-MNIST test set (${backend.name} backend)`);
  if (result.shown.length > 0) {
    io.out(`${'image'.padStart(6)}  ${'true label'.padEnd(12)}  ${'predicted'.padEnd(12)}  probability`);
    for (const s of result.shown) {
      io.out(`${String(s.index).padStart(6)}  ${s.label.padEnd(12)}  ${s.predicted.padEnd(12)}  ${(s.probability * 100).toFixed(1).padStart(10)}%${s.predicted === s.label ? '' : '  (wrong)'}`);
    }
  }
  io.out(
    `accuracy ${(result.accuracy * 100).toFixed(2)}% (${correct.toLocaleString('en-US')} of ${n.toLocaleString('en-US')} test images) ` +
      `in ${seconds.toFixed(2)} s (${Math.round(n / seconds).toLocaleString('en-US')} images/s: load, compile, preprocess, classify)`,
  );
  return result;
}
