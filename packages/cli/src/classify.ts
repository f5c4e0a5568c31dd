// cnn classify: image files in, the top classes of each out (text, or --json for tools).
import { buildGraph, loadWeights } from '@cnn/core';
import { FASHION_MNIST_LABELS, MNIST_LABELS } from '@cnn/labels/mnist';
import { IMAGENET_LABELS } from '@cnn/labels/imagenet';
import { createClassifier, type Classification } from '@cnn/vision';
import { readImage } from '@cnn/vision/node';
import { backendFor, loadAnyWeights } from './quantize.js';
import { BACKENDS, createBackend, type Io, type ParsedArgs } from './commands.js';
import { UsageError, findModel } from './registry.js';

export const CLASSIFY_USAGE = `usage: cnn classify <model> [--weights W.safetensors | --generated-weights SEED] <image...>
                    [--top K] [--backend js|wasm] [--labels imagenet|mnist|fashion-mnist|none] [--json]

  Decodes each PNG or JPEG, preprocesses it with the model's torchvision preset (resize, centre
  crop, mean/std; for lenet5 grayscale, 28 on the shorter side, zero-padded to 32x32, Fashion-MNIST's
  mean and std) and prints the K most probable classes (default 5).
  Without --weights or --generated-weights, a model that ships weights uses them (lenet5: trained
  on Fashion-MNIST, @cnn/lenet/weights); the others need one of the two.
  Labels default to those of the shipped weights, ImageNet's for 1000-class models, class indices otherwise.
  --json prints [{ "image": PATH, "top": [{ "index", "label", "probability" }] }], one entry per
  image in argument order, probabilities as softmax over the logits.`;

const FLAGS = new Set(['weights', 'generated-weights', 'top', 'backend', 'labels', 'json', 'help', 'allow-unexpected']);
const LABEL_SETS: Record<string, readonly string[] | undefined> = {
  imagenet: IMAGENET_LABELS,
  mnist: MNIST_LABELS,
  'fashion-mnist': FASHION_MNIST_LABELS,
  none: undefined,
};
/** images per forward pass: enough to amortise a run, small enough for VGG's activations */
const MAX_BATCH = 8;

function positiveInteger(text: string, name: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got '${text}'`);
  return n;
}

export interface ClassifyResult {
  image: string;
  top: Classification[];
}

export async function classifyCommand(io: Io, args: ParsedArgs): Promise<ClassifyResult[]> {
  if (args.flags.has('help')) {
    io.out(CLASSIFY_USAGE);
    return [];
  }
  const unknown = [...args.flags.keys()].filter((k) => !FLAGS.has(k));
  if (unknown.length > 0) throw new UsageError(`cnn classify: unknown option ${unknown.map((k) => `--${k}`).join(', ')}\n\n${CLASSIFY_USAGE}`);
  for (const name of ['json', 'help', 'allow-unexpected']) {
    if (typeof args.flags.get(name) === 'string') throw new UsageError(`cnn classify: --${name} takes no value`);
  }
  const [name, ...paths] = args.positionals;
  if (!name || paths.length === 0) throw new UsageError(CLASSIFY_USAGE);
  const value = (key: string) => {
    const v = args.flags.get(key);
    return typeof v === 'string' ? v : undefined;
  };
  const topK = positiveInteger(value('top') ?? '5', 'top');
  const labelsName = value('labels');
  if (labelsName !== undefined && !(labelsName in LABEL_SETS)) {
    throw new UsageError(`--labels must be one of ${Object.keys(LABEL_SETS).join(', ')}, got '${labelsName}'`);
  }
  const weights = value('weights');
  const generated = value('generated-weights');
  if (weights !== undefined && generated !== undefined) {
    throw new UsageError('cnn classify: give one of --weights W.safetensors and --generated-weights SEED, not both');
  }
  const entry = findModel(name);
  const shipped = weights === undefined && generated === undefined ? entry.shippedWeights : undefined;
  if (weights === undefined && generated === undefined && shipped === undefined) {
    throw new UsageError(`cnn classify: ${name} ships no weights; give --weights W.safetensors or --generated-weights SEED`);
  }
  const backendName = value('backend') ?? 'wasm';
  if (!BACKENDS.includes(backendName as never)) await createBackend(backendName); // a usage error before any loading

  const model = entry.create();
  const started = performance.now();
  if (shipped !== undefined) await loadWeights(model, shipped.url);
  else if (weights !== undefined) await loadAnyWeights(model, weights, { allowUnexpected: args.flags.has('allow-unexpected') });
  else model.useGeneratedWeights(positiveInteger(generated!, 'generated-weights'));
  // an int8 file's model runs on the int8 kernels of this backend (backendFor)
  const backend = await backendFor(model, backendName);
  const images = [];
  for (const path of paths) images.push(await readImage(path));
  const graph = buildGraph(model.architecture);
  const numClasses = graph.nodes[graph.outputs.get('logits')!].shape[0];
  const labels = labelsName !== undefined ? LABEL_SETS[labelsName] : shipped !== undefined ? shipped.labels : numClasses === 1000 ? IMAGENET_LABELS : undefined;
  const classifier = await createClassifier(model, { backend, labels, batch: Math.min(images.length, MAX_BATCH) });
  const results = (await classifier.classify(images, { topK })).map((top, i) => ({ image: paths[i], top }));
  classifier.dispose();

  if (args.flags.has('json')) io.out(JSON.stringify(results, null, 2));
  else {
    for (const { image, top } of results) {
      io.out(image);
      for (const c of top) io.out(`  ${(c.probability * 100).toFixed(2).padStart(6)}%  ${String(c.index).padStart(4)}  ${c.label}`);
    }
  }
  // Timings are for people at a terminal; a pipe gets only the results.
  if (process.stderr.isTTY) {
    io.err(`${name} on ${backend.name}: ${images.length} image(s) in ${(performance.now() - started).toFixed(0)} ms (load, compile and run)`);
  }
  return results;
}
