// The training loop: seeded shuffling, mini-batches, a schedule driving the optimiser, held-out
// evaluation with a confusion matrix, and checkpoints at epoch boundaries.
import { ShapeError } from '@cnn/core';
import type { ImageDataset } from './idx.js';
import type { TrainableNetwork } from './network.js';
import { AdamW, SGD, type Optimizer, type OptimizerState } from './optim.js';
import { Random } from './random.js';
import { cosineSchedule, oneCycle, stepSchedule, type Schedule } from './schedule.js';
import { softmaxCrossEntropy } from './ops.js';
import type { FloatArray } from './kernels/types.js';

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  seed: number;
  optimizer: 'adamw' | 'sgd';
  /** peak learning rate (one-cycle's max_lr) */
  lr: number;
  weightDecay: number;
  /** SGD only */
  momentum?: number;
  nesterov?: boolean;
  schedule: 'onecycle' | 'cosine' | 'step' | 'constant';
}

export interface BatchProgress {
  readonly epoch: number;
  readonly batch: number;
  readonly batches: number;
  readonly loss: number;
  /** running accuracy over the epoch so far */
  readonly accuracy: number;
  readonly images: number;
}

export interface EpochResult {
  readonly epoch: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly seconds: number;
  /** false when `shouldStop` ended the epoch early */
  readonly complete: boolean;
}

export interface Evaluation {
  readonly accuracy: number;
  readonly loss: number;
  /** confusion[true][predicted] */
  readonly confusion: number[][];
}

/** The permutation of epoch `epoch`: a pure function of (seed, epoch), so a resumed run sees the same order. */
export function epochOrder(seed: number, epoch: number, count: number): Uint32Array {
  return new Random((seed ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0).permutation(count);
}

export class Trainer {
  readonly optimizer: Optimizer;
  readonly schedule: Schedule;
  readonly stepsPerEpoch: number;
  /** epochs finished (the next epoch to run) */
  epoch = 0;

  constructor(
    readonly net: TrainableNetwork,
    readonly data: ImageDataset,
    readonly config: TrainConfig,
  ) {
    if (!Number.isSafeInteger(config.batchSize) || config.batchSize < 1) throw new ShapeError(`batch size must be a positive integer, got ${config.batchSize}`);
    this.stepsPerEpoch = Math.ceil(data.count / config.batchSize);
    const params = net.parameters();
    this.optimizer =
      config.optimizer === 'adamw'
        ? new AdamW(params, { lr: config.lr, weightDecay: config.weightDecay, kernels: net.ops.kernels })
        : new SGD(params, { lr: config.lr, momentum: config.momentum ?? 0.9, nesterov: config.nesterov ?? false, weightDecay: config.weightDecay });
    const total = this.stepsPerEpoch * config.epochs;
    this.schedule =
      config.schedule === 'onecycle'
        ? oneCycle({ maxLr: config.lr, totalSteps: total })
        : config.schedule === 'cosine'
          ? cosineSchedule(config.lr, total)
          : config.schedule === 'step'
            ? stepSchedule(config.lr, this.stepsPerEpoch * Math.max(1, Math.floor(config.epochs / 3)))
            : () => ({ lr: config.lr });
  }

  /**
   * One epoch; `shouldStop` is polled between batches (Ctrl-C), `onBatch` after each. It yields
   * to the event loop a few times a second so signals and progress output get through.
   */
  async runEpoch(onBatch?: (p: BatchProgress) => void, shouldStop?: () => boolean): Promise<EpochResult> {
    let lastYield = performance.now();
    const t0 = performance.now();
    const { data, config, net } = this;
    const [c, h, w] = data.shape;
    const imageSize = c * h * w;
    const order = epochOrder(config.seed, this.epoch, data.count);
    const input = new Float32Array(config.batchSize * imageSize);
    const labels = new Uint8Array(config.batchSize);
    let seen = 0;
    let correct = 0;
    let lossSum = 0;
    for (let b = 0; b < this.stepsPerEpoch; b++) {
      if (performance.now() - lastYield > 200) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        lastYield = performance.now();
      }
      if (shouldStop?.()) return { epoch: this.epoch, loss: lossSum / Math.max(seen, 1), accuracy: correct / Math.max(seen, 1), seconds: (performance.now() - t0) / 1000, complete: false };
      const start = b * config.batchSize;
      const n = Math.min(config.batchSize, data.count - start);
      for (let i = 0; i < n; i++) {
        const src = order[start + i];
        input.set(data.images.subarray(src * imageSize, (src + 1) * imageSize), i * imageSize);
        labels[i] = data.labels[src];
      }
      const batchInput = n === config.batchSize ? input : input.subarray(0, n * imageSize);
      const batchLabels = labels.subarray(0, n);
      const s = this.schedule(this.epoch * this.stepsPerEpoch + b);
      this.optimizer.lr = s.lr;
      if (s.momentum !== undefined) {
        if (this.optimizer instanceof AdamW) this.optimizer.beta1 = s.momentum;
        else if (this.optimizer instanceof SGD) this.optimizer.momentum = s.momentum;
      }
      const logits = net.forward(batchInput, n, { training: true });
      const loss = softmaxCrossEntropy(logits, batchLabels);
      net.zeroGrad();
      loss.backward();
      this.optimizer.step();
      correct += countCorrect(logits.data, batchLabels, logits.shape[1]);
      lossSum += loss.data[0] * n;
      seen += n;
      onBatch?.({ epoch: this.epoch, batch: b + 1, batches: this.stepsPerEpoch, loss: lossSum / seen, accuracy: correct / seen, images: seen });
    }
    this.epoch++;
    return { epoch: this.epoch - 1, loss: lossSum / seen, accuracy: correct / seen, seconds: (performance.now() - t0) / 1000, complete: true };
  }

  /** The optimiser's state and the epoch count, for a checkpoint. */
  state(): { epoch: number; optimizer: OptimizerState } {
    return { epoch: this.epoch, optimizer: this.optimizer.state() };
  }

  loadState(s: { epoch: number; optimizer: OptimizerState }): void {
    this.epoch = s.epoch;
    this.optimizer.loadState(s.optimizer);
  }
}

function countCorrect(logits: FloatArray, labels: ArrayLike<number>, classes: number): number {
  let correct = 0;
  for (let r = 0; r < labels.length; r++) if (argmax(logits, r * classes, classes) === labels[r]) correct++;
  return correct;
}

function argmax(a: FloatArray, offset: number, length: number): number {
  let best = 0;
  for (let k = 1; k < length; k++) if (a[offset + k] > a[offset + best]) best = k;
  return best;
}

/** Accuracy, mean loss and confusion matrix of the network in eval mode. */
export function evaluate(net: TrainableNetwork, data: ImageDataset, batchSize = 500): Evaluation {
  const classes = data.classes.length;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  const imageSize = data.shape[0] * data.shape[1] * data.shape[2];
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < data.count; start += batchSize) {
    const n = Math.min(batchSize, data.count - start);
    const labels = data.labels.subarray(start, start + n);
    const logits = net.forward(data.images.subarray(start * imageSize, (start + n) * imageSize), n, { training: false });
    lossSum += softmaxCrossEntropy(logits, labels).data[0] * n;
    for (let r = 0; r < n; r++) {
      const p = argmax(logits.data, r * logits.shape[1], logits.shape[1]);
      confusion[labels[r]][p]++;
      if (p === labels[r]) correct++;
    }
  }
  return { accuracy: correct / data.count, loss: lossSum / data.count, confusion };
}
