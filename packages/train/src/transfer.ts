// Transfer learning: a backbone cut at a named tap runs once per image on the fast inference
// path, and a new linear head trains on the cached features (a linear probe).
import { GraphBuilder, ShapeError, type Runner } from '@cnn/core';
import { TrainableNetwork } from './network.js';
import { AdamW } from './optim.js';
import { cosineSchedule } from './schedule.js';
import { softmaxCrossEntropy } from './ops.js';
import { Random } from './random.js';

export interface CachedFeatures {
  /** [count, size], row-major */
  readonly features: Float32Array;
  readonly count: number;
  readonly size: number;
}

/**
 * Runs `runner` (compiled with `outputs: [tap]`) over `count` NCHW images and keeps the tap's
 * values per image, global-average-pooled over space unless `pool` is 'flatten'.
 */
export async function extractFeatures(runner: Runner, images: Float32Array, count: number, pool: 'average' | 'flatten' = 'average'): Promise<CachedFeatures> {
  const [batch, c, h, w] = runner.inputShape;
  const imageSize = c * h * w;
  if (images.length !== count * imageSize) throw new ShapeError(`expected ${count} images of ${c}x${h}x${w} (${count * imageSize} values), got ${images.length}`);
  let features: Float32Array | undefined;
  let size = 0;
  const input = new Float32Array(batch * imageSize);
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    input.fill(0);
    input.set(images.subarray(start * imageSize, (start + n) * imageSize));
    const out = await runner.run(input);
    const perImage = out.data.length / batch;
    const spatial = out.shape.length === 4 ? out.shape[2] * out.shape[3] : 1;
    if (!features) {
      size = pool === 'average' ? perImage / spatial : perImage;
      features = new Float32Array(count * size);
    }
    for (let i = 0; i < n; i++) {
      const src = out.data.subarray(i * perImage, (i + 1) * perImage);
      const dst = (start + i) * size;
      if (pool === 'flatten') features.set(src, dst);
      else for (let ch = 0; ch < size; ch++) {
        let s = 0;
        for (let p = 0; p < spatial; p++) s += src[ch * spatial + p];
        features[dst + ch] = s / spatial;
      }
    }
  }
  return { features: features ?? new Float32Array(0), count, size };
}

export interface LinearProbeOptions {
  classes: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  weightDecay?: number;
  seed?: number;
}

/**
 * Trains a linear classifier (`fc.weight` [classes, size], `fc.bias`) on cached features with
 * AdamW and a cosine schedule; features are standardised per dimension first, and the returned
 * head folds that standardisation back into its weights, so it applies to raw features.
 */
export function trainLinearProbe(data: CachedFeatures, labels: ArrayLike<number>, o: LinearProbeOptions): TrainableNetwork {
  const { count, size } = data;
  if (labels.length !== count) throw new ShapeError(`${count} feature rows but ${labels.length} labels`);
  const mean = new Float64Array(size);
  const std = new Float64Array(size);
  for (let r = 0; r < count; r++) for (let k = 0; k < size; k++) mean[k] += data.features[r * size + k] / count;
  for (let r = 0; r < count; r++) for (let k = 0; k < size; k++) std[k] += (data.features[r * size + k] - mean[k]) ** 2 / count;
  for (let k = 0; k < size; k++) std[k] = Math.sqrt(std[k]) + 1e-6;
  const x = new Float32Array(count * size);
  for (let r = 0; r < count; r++) for (let k = 0; k < size; k++) x[r * size + k] = (data.features[r * size + k] - mean[k]) / std[k];

  const b = new GraphBuilder();
  b.output('logits', b.linear(b.input([size]), 'fc', o.classes));
  const head = TrainableNetwork.fromGraph(b.build(), { seed: o.seed ?? 1 });
  const epochs = o.epochs ?? 30;
  const batch = Math.min(o.batchSize ?? 64, count);
  const steps = Math.ceil(count / batch);
  const opt = new AdamW(head.parameters(), { lr: o.lr ?? 1e-2, weightDecay: o.weightDecay ?? 1e-2, kernels: head.ops.kernels });
  const schedule = cosineSchedule(o.lr ?? 1e-2, epochs * steps);
  const random = new Random(o.seed ?? 1);
  const xb = new Float32Array(batch * size);
  const yb = new Uint8Array(batch);
  for (let e = 0; e < epochs; e++) {
    const order = random.permutation(count);
    for (let s = 0; s < steps; s++) {
      const n = Math.min(batch, count - s * batch);
      for (let i = 0; i < n; i++) {
        const r = order[s * batch + i];
        xb.set(x.subarray(r * size, (r + 1) * size), i * size);
        yb[i] = labels[r];
      }
      opt.lr = schedule(e * steps + s).lr;
      const loss = softmaxCrossEntropy(head.forward(xb.subarray(0, n * size), n, { training: true }), yb.subarray(0, n));
      head.zeroGrad();
      loss.backward();
      opt.step();
    }
  }
  // fold the standardisation: w·((f − μ)/σ) + b = (w/σ)·f + (b − Σ w·μ/σ)
  const w = head.parameter('fc.weight').data;
  const bias = head.parameter('fc.bias').data;
  for (let c = 0; c < o.classes; c++) {
    let shift = 0;
    for (let k = 0; k < size; k++) {
      w[c * size + k] /= std[k];
      shift += w[c * size + k] * mean[k];
    }
    bias[c] -= shift;
  }
  return head;
}
