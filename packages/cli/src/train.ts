// `cnn train`: trains a model on a dataset with @cnn/train, with a progress bar on a terminal,
// per-epoch checkpoints, Ctrl-C that keeps the last complete checkpoint, and a model card.
import { parseArgs } from 'node:util';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { writeSafetensors, loadWeights } from '@cnn/core';
import { lenet5 } from '@cnn/lenet';
import { createWasmBackend } from '@cnn/kernels/wasm';
import {
  FASHION_MNIST_PREPROCESSING,
  Trainer,
  TrainableNetwork,
  createWasmTrainKernels,
  decodeCheckpoint,
  encodeCheckpoint,
  evaluate,
  fastKernels,
  type ImageDataset,
  type TrainConfig,
} from '@cnn/train';
import { FASHION_MNIST_DIR, loadFashionMnist } from '@cnn/train/node';
import { UsageError } from './registry.js';
import type { Io } from './commands.js';

export const TRAIN_USAGE = `cnn train lenet5 --dataset fashion-mnist [options]

Trains LeNet-5 on Fashion-MNIST (Debian's dataset-fashion-mnist) with AdamW and a one-cycle
schedule, evaluates on the held-out test set, and writes into --output:
  lenet5-fashion-mnist.safetensors   weights (torchvision keys; loads with lenet5().loadWeights)
  checkpoint.safetensors             weights + optimiser state after the last complete epoch
  model-card.json, model-card.md     accuracy, confusion matrix, epochs, time, seed, command

Options:
  --dataset NAME        fashion-mnist (the only one so far)
  --data-dir DIR        where the *-ubyte.gz files are (default ${FASHION_MNIST_DIR})
  --epochs N            default 15
  --batch N             images per step, default 64
  --lr X                peak learning rate (one-cycle max_lr), default 0.004
  --weight-decay X      AdamW's decoupled weight decay, default 0.01
  --optimizer NAME      adamw (default) or sgd (momentum 0.9)
  --schedule NAME       onecycle (default), cosine, step or constant
  --seed N              initialisation and shuffling seed, default 1
  --limit N             train on the first N training images only (quick trials)
  --test-limit N        evaluate on the first N test images only (quick trials)
  --output DIR          default ./lenet5-fashion-mnist
  --resume              continue from DIR/checkpoint.safetensors (its settings win)
  --threads N           1 (multi-threaded training is not implemented yet)
  --kernels NAME        wasm (default) or js
  --json                print the model card as JSON on stdout instead of the summary
  --help                this text

Progress (epoch, batch, loss, accuracy, images/s, time left) is drawn on a terminal only.
Ctrl-C stops after the current batch and keeps the last complete checkpoint; --resume continues.`;

const OPTIONS = {
  dataset: { type: 'string' },
  'data-dir': { type: 'string' },
  epochs: { type: 'string' },
  batch: { type: 'string' },
  lr: { type: 'string' },
  'weight-decay': { type: 'string' },
  optimizer: { type: 'string' },
  schedule: { type: 'string' },
  seed: { type: 'string' },
  limit: { type: 'string' },
  'test-limit': { type: 'string' },
  output: { type: 'string' },
  resume: { type: 'boolean' },
  threads: { type: 'string' },
  kernels: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

function integer(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${text}'`);
  return v;
}

function positive(name: string, text: string | undefined, fallback: number, allowZero = false): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) throw new UsageError(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got '${text}'`);
  return v;
}

function oneOf<T extends string>(name: string, text: string | undefined, allowed: readonly T[], fallback: T): T {
  if (text === undefined) return fallback;
  if (!allowed.includes(text as T)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got '${text}'`);
  return text as T;
}

function subset(d: ImageDataset, limit: number): ImageDataset {
  if (limit >= d.count) return d;
  const size = d.shape[0] * d.shape[1] * d.shape[2];
  return { ...d, count: limit, images: d.images.subarray(0, limit * size), labels: d.labels.subarray(0, limit) };
}

const formatTime = (s: number) => (s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`);

async function writeAtomically(path: string, bytes: Uint8Array | string): Promise<void> {
  await writeFile(`${path}.partial`, bytes);
  await rename(`${path}.partial`, path);
}

export async function trainCommand(io: Io, argv: readonly string[], stderr: { isTTY?: boolean; write(s: string): unknown } = process.stderr): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`cnn train: ${(e as Error).message}\n\n${TRAIN_USAGE}`);
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    io.out(TRAIN_USAGE);
    return 0;
  }
  const modelName = positionals[0];
  if (modelName !== 'lenet5') throw new UsageError(`cnn train: expected the model 'lenet5' (the only trainable built-in so far), got ${modelName ? `'${modelName}'` : 'nothing'}\n\n${TRAIN_USAGE}`);
  if (positionals.length > 1) throw new UsageError(`cnn train: unexpected argument '${positionals[1]}'`);
  oneOf('dataset', v.dataset ?? 'fashion-mnist', ['fashion-mnist'], 'fashion-mnist');
  const threads = integer('threads', v.threads, 1);
  if (threads !== 1) throw new UsageError(`--threads ${threads}: training runs on 1 thread so far (multi-threaded training is not implemented)`);
  const outDir = v.output ?? 'lenet5-fashion-mnist';
  const checkpointPath = join(outDir, 'checkpoint.safetensors');
  let config: TrainConfig = {
    epochs: integer('epochs', v.epochs, 15),
    batchSize: integer('batch', v.batch, 64),
    seed: integer('seed', v.seed, 1, 0),
    optimizer: oneOf('optimizer', v.optimizer, ['adamw', 'sgd'] as const, 'adamw'),
    lr: positive('lr', v.lr, 0.004),
    weightDecay: positive('weight-decay', v['weight-decay'], 0.01, true),
    schedule: oneOf('schedule', v.schedule, ['onecycle', 'cosine', 'step', 'constant'] as const, 'onecycle'),
  };
  let limit = integer('limit', v.limit, Number.MAX_SAFE_INTEGER);
  let testLimit = integer('test-limit', v['test-limit'], Number.MAX_SAFE_INTEGER);
  let kernelsName = oneOf('kernels', v.kernels, ['wasm', 'js'] as const, 'wasm');

  let resumed: ReturnType<typeof decodeCheckpoint> | undefined;
  if (v.resume) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(checkpointPath));
    } catch {
      throw new UsageError(`--resume: no checkpoint at ${checkpointPath}; run without --resume first`);
    }
    resumed = decodeCheckpoint(bytes);
    config = resumed.config;
    // the run's own data limits and kernels, so a resumed run is the same run
    limit = Number(resumed.extra.limit ?? limit);
    testLimit = Number(resumed.extra.testLimit ?? testLimit);
    kernelsName = (resumed.extra.kernels as 'wasm' | 'js' | undefined) ?? kernelsName;
  }

  const dataDir = v['data-dir'];
  const [trainSet, fullTestSet] = await Promise.all([loadFashionMnist('train', dataDir), loadFashionMnist('test', dataDir)]);
  const train = subset(trainSet, limit);
  const testSet = subset(fullTestSet, testLimit);
  const kernels = kernelsName === 'wasm' ? await createWasmTrainKernels() : fastKernels;
  const net = TrainableNetwork.fromArchitecture(lenet5().architecture, { seed: config.seed, kernels });
  const trainer = new Trainer(net, train, config);
  let seconds = 0;
  if (resumed) {
    net.loadWeights(resumed.weights);
    trainer.loadState({ epoch: resumed.epoch, optimizer: resumed.optimizer });
    seconds = resumed.seconds;
  }
  await mkdir(outDir, { recursive: true });

  let stop = false;
  const onSigint = () => {
    if (stop) process.exit(130);
    stop = true;
  };
  process.on('SIGINT', onSigint);
  const tty = stderr.isTTY === true && !v.json;
  const totalImages = config.epochs * train.count;
  const history: { epoch: number; loss: number; trainAccuracy: number; testAccuracy: number; seconds: number }[] = [];
  let lastDraw = 0;
  try {
    while (trainer.epoch < config.epochs && !stop) {
      const epochStart = performance.now();
      const epoch = await trainer.runEpoch(
        (p) => {
          if (!tty) return;
          const now = performance.now();
          if (now - lastDraw < 100 && p.batch < p.batches) return;
          lastDraw = now;
          const elapsed = (now - epochStart) / 1000;
          const rate = p.images / Math.max(elapsed, 1e-3);
          const left = (totalImages - p.epoch * train.count - p.images) / rate;
          const width = 20;
          const filled = Math.round((p.batch / p.batches) * width);
          stderr.write(
            `\r\x1b[2Kepoch ${p.epoch + 1}/${config.epochs} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.batch}/${p.batches} ` +
              `loss ${p.loss.toFixed(4)} acc ${(p.accuracy * 100).toFixed(1)}% ${rate.toFixed(0)} img/s ETA ${formatTime(left)}`,
          );
        },
        () => stop,
      );
      if (!epoch.complete) break;
      seconds += epoch.seconds;
      const test = evaluate(net, testSet);
      history.push({ epoch: epoch.epoch + 1, loss: epoch.loss, trainAccuracy: epoch.accuracy, testAccuracy: test.accuracy, seconds: epoch.seconds });
      await writeAtomically(checkpointPath, encodeCheckpoint(net, trainer, seconds, { limit: String(limit), testLimit: String(testLimit), kernels: kernelsName }));
      const line = `epoch ${epoch.epoch + 1}/${config.epochs}: loss ${epoch.loss.toFixed(4)}, train ${(epoch.accuracy * 100).toFixed(2)}%, test ${(test.accuracy * 100).toFixed(2)}%, ${(train.count / epoch.seconds).toFixed(0)} img/s, ${epoch.seconds.toFixed(1)} s`;
      if (tty) stderr.write(`\r\x1b[2K${line}\n`);
      else if (!v.json) io.err(line);
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (stop) {
    if (tty) stderr.write('\n');
    io.err(`stopped; the last complete checkpoint (epoch ${trainer.epoch}/${config.epochs}) is ${checkpointPath}; continue with --resume`);
    return 130;
  }

  // The held-out evaluation runs the exported weights on the inference path, as a user would.
  const weights = net.exportWeights();
  const model = await loadWeights(lenet5(), weights);
  const evalBatch = Math.min(500, testSet.count);
  const runner = await model.compile(await createWasmBackend(), { batch: evalBatch });
  const classes = testSet.classes.length;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  const imageSize = 32 * 32;
  let correct = 0;
  let evaluated = 0;
  for (let start = 0; start + evalBatch <= testSet.count; start += evalBatch) {
    const logits = await runner.run(testSet.images.slice(start * imageSize, (start + evalBatch) * imageSize));
    logits.argmax().forEach((p, i) => {
      const label = testSet.labels[start + i];
      confusion[label][p]++;
      if (p === label) correct++;
      evaluated++;
    });
  }
  runner.dispose();
  const accuracy = correct / evaluated;

  const weightsPath = join(outDir, 'lenet5-fashion-mnist.safetensors');
  await writeAtomically(weightsPath, writeSafetensors(weights, { format: 'pt', model: 'lenet5', dataset: 'fashion-mnist', test_accuracy: accuracy.toFixed(4) }));
  const card = {
    model: 'lenet5',
    dataset: 'fashion-mnist',
    testAccuracy: accuracy,
    testImages: evaluated,
    trainImages: train.count,
    epochs: config.epochs,
    batch: config.batchSize,
    optimizer: config.optimizer,
    lr: config.lr,
    weightDecay: config.weightDecay,
    schedule: config.schedule,
    seed: config.seed,
    trainingSeconds: Number(seconds.toFixed(1)),
    kernels: kernels.name,
    threads,
    preprocessing: { pad: FASHION_MNIST_PREPROCESSING.padding, size: [32, 32], mean: FASHION_MNIST_PREPROCESSING.mean, std: FASHION_MNIST_PREPROCESSING.std, scale: '1/255' },
    classes: testSet.classes,
    confusion,
    history,
    command: `cnn train lenet5 --dataset fashion-mnist --epochs ${config.epochs} --batch ${config.batchSize} --lr ${config.lr} --weight-decay ${config.weightDecay} --optimizer ${config.optimizer} --schedule ${config.schedule} --seed ${config.seed}${limit < trainSet.count ? ` --limit ${limit}` : ''}${testLimit < fullTestSet.count ? ` --test-limit ${testLimit}` : ''} --kernels ${kernelsName}`,
    machine: { cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
    weights: 'lenet5-fashion-mnist.safetensors',
  };
  await writeAtomically(join(outDir, 'model-card.json'), `${JSON.stringify(card, null, 2)}\n`);
  await writeAtomically(join(outDir, 'model-card.md'), modelCardMarkdown(card));
  if (v.json) {
    io.out(JSON.stringify(card, null, 2));
    return 0;
  }
  io.out(`test accuracy ${(accuracy * 100).toFixed(2)}% on ${evaluated} held-out images after ${config.epochs} epochs (${formatTime(seconds)} of training)`);
  io.out(confusionTable(testSet.classes, confusion));
  io.out(`wrote ${weightsPath}, model-card.json and model-card.md in ${outDir}`);
  return 0;
}

function confusionTable(classes: readonly string[], confusion: number[][]): string {
  const short = classes.map((c) => c.slice(0, 7));
  const lines = [`${'true \\ predicted'.padEnd(18)}${short.map((c) => c.padStart(8)).join('')}`];
  confusion.forEach((row, i) => lines.push(`${classes[i].padEnd(18)}${row.map((n) => String(n).padStart(8)).join('')}`));
  return lines.join('\n');
}

function modelCardMarkdown(card: {
  testAccuracy: number; testImages: number; trainImages: number; epochs: number; batch: number; optimizer: string; lr: number; weightDecay: number; schedule: string; seed: number;
  trainingSeconds: number; kernels: string; threads: number; classes: readonly string[]; confusion: number[][]; command: string; machine: { cpu: string; node: string };
  history: { epoch: number; loss: number; trainAccuracy: number; testAccuracy: number }[];
}): string {
  return `# LeNet-5 on Fashion-MNIST (trained by @cnn/train)

- Test accuracy: **${(card.testAccuracy * 100).toFixed(2)}%** on ${card.testImages} held-out images
- Training: ${card.epochs} epochs over ${card.trainImages} images, batch ${card.batch}, ${card.optimizer} (lr ${card.lr}, weight decay ${card.weightDecay}), ${card.schedule} schedule, seed ${card.seed}
- Time: ${card.trainingSeconds} s of training on ${card.threads} thread (${card.kernels} kernels, ${card.machine.cpu}, Node ${card.machine.node})
- Input: 28x28 grayscale padded with zeros to 32x32, scaled to [0, 1], normalised with mean 0.2860 and std 0.3530
- Architecture: @cnn/lenet (tanh, 2x2 average pooling, C3 connected to all six S2 maps, linear output)

Reproduce:

\`\`\`sh
${card.command}
\`\`\`

| epoch | loss | train | test |
|------:|-----:|------:|-----:|
${card.history.map((h) => `| ${h.epoch} | ${h.loss.toFixed(4)} | ${(h.trainAccuracy * 100).toFixed(2)}% | ${(h.testAccuracy * 100).toFixed(2)}% |`).join('\n')}

Confusion matrix (rows: true class, columns: predicted):

| | ${card.classes.join(' | ')} |
|---|${card.classes.map(() => '---:').join('|')}|
${card.confusion.map((row, i) => `| ${card.classes[i]} | ${row.join(' | ')} |`).join('\n')}
`;
}
