// Differentiable ops: each runs a forward kernel, keeps what its backward rule needs, and
// returns a Var whose rule calls the backward kernels. The kernels (the backend) do the arithmetic.
import { ShapeError, adaptiveCell, type Pair } from '@cnn/core';
import { formatShape } from './format.js';
import { Var, type BackwardRule } from './tape.js';
import type { Pass } from './buffers.js';
import type { ConvGeometry, FloatArray, PoolGeometry, TrainActivation, TrainKernels } from './kernels/types.js';

const like = (a: FloatArray, length: number): FloatArray => (a instanceof Float64Array ? new Float64Array(length) : new Float32Array(length));

export interface Conv2dParams {
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly groups: number;
}

export interface Pool2dParams {
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
}

export interface BatchNormState {
  readonly runningMean: FloatArray;
  readonly runningVar: FloatArray;
  /** PyTorch's default 0.1: running = (1 - momentum)·running + momentum·batch */
  readonly momentum: number;
  readonly eps: number;
}

function poolOutput(size: number, k: number, s: number, p: number, ceil: boolean): number {
  let out = Math.floor((size + 2 * p - k + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

/** The autodiff layer over one set of training kernels. */
export class Autodiff {
  /**
   * Where op results and their gradients come from: the arrays of the pass that
   * TrainableNetwork.forward opened (reused across steps), or fresh arrays when null.
   */
  pass: Pass | null = null;

  constructor(readonly kernels: TrainKernels) {}

  /** A result array like `x` (float32 or float64); reused from an earlier step when a pass is open. */
  private like(x: FloatArray, length: number): FloatArray {
    return this.pass ? this.pass.floats(x, length) : like(x, length);
  }

  /** The Var of an op's result; its gradient buffer comes from the same pass. */
  private result(data: FloatArray, shape: readonly number[], parents: readonly Var[], rule: BackwardRule): Var {
    const v = new Var(data, shape, parents, rule);
    const pass = this.pass;
    if (pass) v.allocateGrad = (length) => pass.floats(data, length, true);
    return v;
  }

  conv2d(x: Var, w: Var, b: Var | null, p: Conv2dParams): Var {
    const [n, inC, inH, inW] = x.shape;
    const [outC, icg, kh, kw] = w.shape;
    if (x.shape.length !== 4 || icg * p.groups !== inC) {
      throw new ShapeError(`conv2d: weight ${formatShape(w.shape)} with ${p.groups} group(s) does not fit input ${formatShape(x.shape)}`);
    }
    const outH = Math.floor((inH + 2 * p.padding[0] - p.dilation[0] * (kh - 1) - 1) / p.stride[0]) + 1;
    const outW = Math.floor((inW + 2 * p.padding[1] - p.dilation[1] * (kw - 1) - 1) / p.stride[1]) + 1;
    const g: ConvGeometry = { n, inC, inH, inW, outC, outH, outW, kernel: [kh, kw], stride: p.stride, padding: p.padding, dilation: p.dilation, groups: p.groups };
    const y = this.like(x.data, n * outC * outH * outW);
    this.kernels.conv2d(g, x.data, w.data, b ? b.data : null, y);
    const parents = b ? [x, w, b] : [x, w];
    return this.result(y, [n, outC, outH, outW], parents, (out) => {
      const dy = out.grad!;
      if (x.requiresGrad) this.kernels.conv2dBackwardInput(g, dy, w.data, x.gradBuffer());
      if (w.requiresGrad || b?.requiresGrad) {
        this.kernels.conv2dBackwardWeight(g, x.data, dy, w.gradBuffer(), b && b.requiresGrad ? b.gradBuffer() : null);
      }
    });
  }

  linear(x: Var, w: Var, b: Var | null): Var {
    const [n, inF] = x.shape;
    const [outF, wIn] = w.shape;
    if (x.shape.length !== 2 || wIn !== inF) throw new ShapeError(`linear: weight ${formatShape(w.shape)} does not fit input ${formatShape(x.shape)}`);
    const y = this.like(x.data, n * outF);
    this.kernels.linear(n, inF, outF, x.data, w.data, b ? b.data : null, y);
    return this.result(y, [n, outF], b ? [x, w, b] : [x, w], (out) => {
      const dy = out.grad!;
      if (x.requiresGrad) this.kernels.linearBackwardInput(n, inF, outF, dy, w.data, x.gradBuffer());
      if (w.requiresGrad || b?.requiresGrad) {
        this.kernels.linearBackwardWeight(n, inF, outF, x.data, dy, w.gradBuffer(), b && b.requiresGrad ? b.gradBuffer() : null);
      }
    });
  }

  activation(x: Var, fn: TrainActivation): Var {
    const y = this.like(x.data, x.data.length);
    this.kernels.activation(fn, x.data, y);
    return this.result(y, x.shape, [x], (out) => this.kernels.activationBackward(fn, x.data, y, out.grad!, x.gradBuffer()));
  }

  pool2d(x: Var, mode: 'max' | 'avg', p: Pool2dParams): Var {
    const [n, c, inH, inW] = x.shape;
    const outH = poolOutput(inH, p.kernel[0], p.stride[0], p.padding[0], p.ceilMode);
    const outW = poolOutput(inW, p.kernel[1], p.stride[1], p.padding[1], p.ceilMode);
    const g: PoolGeometry = { n, c, inH, inW, outH, outW, kernel: p.kernel, stride: p.stride, padding: p.padding, countIncludePad: p.countIncludePad };
    const y = this.like(x.data, n * c * outH * outW);
    if (mode === 'max') {
      const argmax = this.pass ? this.pass.ints(y.length) : new Int32Array(y.length);
      this.kernels.maxPool2d(g, x.data, y, argmax);
      return this.result(y, [n, c, outH, outW], [x], (out) => this.kernels.maxPool2dBackward(g, out.grad!, argmax, x.gradBuffer()));
    }
    this.kernels.avgPool2d(g, x.data, y);
    return this.result(y, [n, c, outH, outW], [x], (out) => this.kernels.avgPool2dBackward(g, out.grad!, x.gradBuffer()));
  }

  /** torch.nn.AdaptiveAvgPool2d: window i spans [floor(i·in/out), ceil((i+1)·in/out)). */
  adaptiveAvgPool2d(x: Var, size: Pair): Var {
    const [n, c, inH, inW] = x.shape;
    const [outH, outW] = size;
    const y = this.like(x.data, n * c * outH * outW);
    const windows: [number, number, number, number][] = [];
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        windows.push([...adaptiveCell(oy, inH, outH), ...adaptiveCell(ox, inW, outW)]);
      }
    }
    const area = inH * inW;
    for (let plane = 0; plane < n * c; plane++) {
      windows.forEach(([y0, y1, x0, x1], o) => {
        let s = 0;
        for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) s += x.data[plane * area + iy * inW + ix];
        y[plane * windows.length + o] = s / ((y1 - y0) * (x1 - x0));
      });
    }
    return this.result(y, [n, c, outH, outW], [x], (out) => {
      const dy = out.grad!;
      const dx = x.gradBuffer();
      for (let plane = 0; plane < n * c; plane++) {
        windows.forEach(([y0, y1, x0, x1], o) => {
          const share = dy[plane * windows.length + o] / ((y1 - y0) * (x1 - x0));
          for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) dx[plane * area + iy * inW + ix] += share;
        });
      }
    });
  }

  add(a: Var, b: Var): Var {
    if (formatShape(a.shape) !== formatShape(b.shape)) throw new ShapeError(`add: shapes differ, ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
    const y = this.like(a.data, a.data.length);
    for (let i = 0; i < y.length; i++) y[i] = a.data[i] + b.data[i];
    return this.result(y, a.shape, [a, b], (out) => {
      const dy = out.grad!;
      for (const p of [a, b]) {
        if (!p.requiresGrad) continue;
        const dp = p.gradBuffer();
        for (let i = 0; i < dy.length; i++) dp[i] += dy[i];
      }
    });
  }

  /** [n, c, h, w] -> [n, c·h·w]; NCHW order, as torch.flatten(x, 1). */
  flatten(x: Var): Var {
    const n = x.shape[0];
    return this.result(x.data, [n, x.data.length / n], [x], (out) => {
      const dy = out.grad!;
      const dx = x.gradBuffer();
      for (let i = 0; i < dy.length; i++) dx[i] += dy[i];
    });
  }

  /**
   * torch.nn.BatchNorm2d. Training mode normalises with the batch's biased variance and updates
   * the running statistics with the unbiased one; eval mode uses the running statistics.
   */
  batchNorm2d(x: Var, gamma: Var, beta: Var, state: BatchNormState, training: boolean): Var {
    const [n, c, h, w] = x.shape;
    const plane = h * w;
    const m = n * plane;
    // [mean, invstd, γ, β] per channel, what the kernels normalise with
    const params = this.like(x.data, 4 * c);
    if (training) {
      if (m < 2) throw new ShapeError(`batchNorm2d: training needs more than one value per channel, got input ${formatShape(x.shape)}`);
      const stats = new Float64Array(2 * c);
      this.kernels.batchNormStats(n, c, plane, x.data, stats);
      for (let ch = 0; ch < c; ch++) {
        const [mu, squares] = [stats[2 * ch], stats[2 * ch + 1]];
        params[4 * ch] = mu;
        params[4 * ch + 1] = 1 / Math.sqrt(squares / m + state.eps);
        state.runningMean[ch] = (1 - state.momentum) * state.runningMean[ch] + state.momentum * mu;
        state.runningVar[ch] = (1 - state.momentum) * state.runningVar[ch] + state.momentum * (squares / (m - 1));
      }
    } else {
      for (let ch = 0; ch < c; ch++) {
        params[4 * ch] = state.runningMean[ch];
        params[4 * ch + 1] = 1 / Math.sqrt(state.runningVar[ch] + state.eps);
      }
    }
    for (let ch = 0; ch < c; ch++) {
      params[4 * ch + 2] = gamma.data[ch];
      params[4 * ch + 3] = beta.data[ch];
    }
    const y = this.like(x.data, x.data.length);
    this.kernels.batchNormApply(n, c, plane, x.data, params, y);
    return this.result(y, x.shape, [x, gamma, beta], (out) => {
      const sums = new Float64Array(2 * c);
      this.kernels.batchNormBackward(n, c, plane, x.data, out.grad!, params, sums, x.requiresGrad ? x.gradBuffer() : null, training);
      if (gamma.requiresGrad) {
        const dg = gamma.gradBuffer();
        for (let ch = 0; ch < c; ch++) dg[ch] += sums[2 * ch + 1];
      }
      if (beta.requiresGrad) {
        const db = beta.gradBuffer();
        for (let ch = 0; ch < c; ch++) db[ch] += sums[2 * ch];
      }
    });
  }
}

/**
 * Mean softmax cross-entropy over the batch, as torch.nn.functional.cross_entropy.
 * Returns the scalar loss; `probabilities` keeps the softmax for accuracy bookkeeping.
 */
export function softmaxCrossEntropy(logits: Var, labels: ArrayLike<number>): Var {
  const [n, classes] = logits.shape;
  if (logits.shape.length !== 2) throw new ShapeError(`softmaxCrossEntropy: expects logits [n, classes], got ${formatShape(logits.shape)}`);
  if (labels.length !== n) throw new ShapeError(`softmaxCrossEntropy: ${n} logits rows but ${labels.length} labels`);
  const prob = like(logits.data, logits.data.length);
  let loss = 0;
  for (let r = 0; r < n; r++) {
    const label = labels[r];
    if (!Number.isInteger(label) || label < 0 || label >= classes) throw new ShapeError(`softmaxCrossEntropy: label ${label} at row ${r} is outside 0..${classes - 1}`);
    let max = -Infinity;
    for (let k = 0; k < classes; k++) max = Math.max(max, logits.data[r * classes + k]);
    let z = 0;
    for (let k = 0; k < classes; k++) z += Math.exp(logits.data[r * classes + k] - max);
    for (let k = 0; k < classes; k++) prob[r * classes + k] = Math.exp(logits.data[r * classes + k] - max) / z;
    loss += Math.log(z) + max - logits.data[r * classes + label];
  }
  const out = like(logits.data, 1);
  out[0] = loss / n;
  return new Var(out, [], [logits], (o) => {
    const scale = o.grad![0] / n;
    const dx = logits.gradBuffer();
    for (let r = 0; r < n; r++) {
      for (let k = 0; k < classes; k++) dx[r * classes + k] += scale * (prob[r * classes + k] - (k === labels[r] ? 1 : 0));
    }
  });
}
