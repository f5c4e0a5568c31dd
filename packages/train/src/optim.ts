// Optimisers with torch.optim's update rules, in its order of operations.
import type { FloatArray, TrainKernels } from './kernels/types.js';
import type { Parameter } from './network.js';

const zerosLike = (a: FloatArray): FloatArray => (a instanceof Float64Array ? new Float64Array(a.length) : new Float32Array(a.length));

export interface Optimizer {
  /** learning rate of the next step; schedules set it */
  lr: number;
  step(): void;
  /** state for a checkpoint: the step count and every moment buffer by parameter key */
  state(): OptimizerState;
  loadState(state: OptimizerState): void;
}

export interface OptimizerState {
  readonly steps: number;
  readonly buffers: ReadonlyMap<string, FloatArray>;
}

export interface SgdOptions {
  lr: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

/** torch.optim.SGD with dampening 0: buf = m·buf + g (buf = g on the first step), p -= lr·(g + m·buf or buf). */
export class SGD implements Optimizer {
  lr: number;
  momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  private steps = 0;
  private readonly velocity = new Map<string, FloatArray>();

  constructor(
    private readonly params: readonly Parameter[],
    options: SgdOptions,
  ) {
    this.lr = options.lr;
    this.momentum = options.momentum ?? 0;
    this.nesterov = options.nesterov ?? false;
    this.weightDecay = options.weightDecay ?? 0;
    if (this.nesterov && this.momentum <= 0) throw new RangeError('Nesterov momentum needs momentum > 0');
  }

  step(): void {
    const { lr, momentum: m, weightDecay: wd, nesterov } = this;
    for (const p of this.params) {
      if (!p.requiresGrad || !p.grad) continue;
      const w = p.data;
      const g = p.grad;
      let buf = this.velocity.get(p.key);
      const first = buf === undefined && m !== 0;
      if (first) {
        buf = zerosLike(w);
        this.velocity.set(p.key, buf);
      }
      for (let i = 0; i < w.length; i++) {
        let d = wd !== 0 ? g[i] + wd * w[i] : g[i];
        if (buf) {
          buf[i] = first ? d : buf[i] * m + d;
          d = nesterov ? d + m * buf[i] : buf[i];
        }
        w[i] = w[i] - lr * d;
      }
    }
    this.steps++;
  }

  state(): OptimizerState {
    return { steps: this.steps, buffers: new Map([...this.velocity].map(([k, v]) => [`${k}.momentum_buffer`, v.slice()])) };
  }

  loadState(state: OptimizerState): void {
    this.steps = state.steps;
    for (const p of this.params) {
      const b = state.buffers.get(`${p.key}.momentum_buffer`);
      if (b) this.velocity.set(p.key, b.slice());
    }
  }
}

export interface AdamWOptions {
  lr: number;
  betas?: readonly [number, number];
  eps?: number;
  /** decoupled weight decay; torch's default 0.01 */
  weightDecay?: number;
  /** kernels whose `adamw` runs the update (the wasm kernels': same results, several times faster); default this file's loop */
  kernels?: TrainKernels;
}

/** torch.optim.AdamW: p ·= 1 − lr·wd, then the bias-corrected Adam step. */
export class AdamW implements Optimizer {
  lr: number;
  /** β₁ is public so one-cycle schedules can cycle it, as PyTorch's OneCycleLR does */
  beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private steps = 0;
  private readonly m = new Map<string, FloatArray>();
  private readonly v = new Map<string, FloatArray>();
  private readonly kernels: TrainKernels | undefined;

  constructor(
    private readonly params: readonly Parameter[],
    options: AdamWOptions,
  ) {
    this.lr = options.lr;
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.01;
    this.kernels = options.kernels;
  }

  step(): void {
    this.steps++;
    const { lr, beta1: b1, beta2: b2, eps, weightDecay: wd } = this;
    const bc1 = 1 - b1 ** this.steps;
    const bc2 = 1 - b2 ** this.steps;
    const stepSize = lr / bc1;
    const bc2Sqrt = Math.sqrt(bc2);
    const decay = 1 - lr * wd;
    for (const p of this.params) {
      if (!p.requiresGrad || !p.grad) continue;
      const w = p.data;
      const g = p.grad;
      let m = this.m.get(p.key);
      let v = this.v.get(p.key);
      if (!m || !v) {
        m = zerosLike(w);
        v = zerosLike(w);
        this.m.set(p.key, m);
        this.v.set(p.key, v);
      }
      if (this.kernels?.adamw && w instanceof Float32Array && g instanceof Float32Array && m instanceof Float32Array && v instanceof Float32Array) {
        this.kernels.adamw(w, g, m, v, Float64Array.of(decay, b1, b2, stepSize, bc2Sqrt, eps));
      } else if (w instanceof Float32Array) {
        adamwFloat32(w, g, m, v, decay, b1, b2, stepSize, bc2Sqrt, eps);
      } else {
        for (let i = 0; i < w.length; i++) {
          w[i] = w[i] * decay;
          m[i] = m[i] * b1 + g[i] * (1 - b1);
          v[i] = v[i] * b2 + (1 - b2) * g[i] * g[i];
          w[i] = w[i] - (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2Sqrt + eps);
        }
      }
    }
  }

  state(): OptimizerState {
    const buffers = new Map<string, FloatArray>();
    for (const [k, a] of this.m) buffers.set(`${k}.exp_avg`, a.slice());
    for (const [k, a] of this.v) buffers.set(`${k}.exp_avg_sq`, a.slice());
    return { steps: this.steps, buffers };
  }

  loadState(state: OptimizerState): void {
    this.steps = state.steps;
    for (const p of this.params) {
      const m = state.buffers.get(`${p.key}.exp_avg`);
      const v = state.buffers.get(`${p.key}.exp_avg_sq`);
      if (m && v) {
        this.m.set(p.key, m.slice());
        this.v.set(p.key, v.slice());
      }
    }
  }
}

/**
 * AdamW on float32 parameters in float32 arithmetic, one rounding per operation as in
 * torch.optim.AdamW (Math.fround after each; kernels-wasm's train_adamw_f32 computes the same bits).
 */
function adamwFloat32(w: Float32Array, g: FloatArray, m: FloatArray, v: FloatArray, decay: number, beta1: number, beta2: number, stepSize: number, bc2Sqrt: number, epsilon: number): void {
  const f = Math.fround;
  const [d, b1, b2, c1, c2, step, bc2, eps] = [decay, beta1, beta2, 1 - beta1, 1 - beta2, stepSize, bc2Sqrt, epsilon].map(f);
  for (let i = 0; i < w.length; i++) {
    const gi = g[i];
    const wi = f(w[i] * d);
    const mi = f(f(m[i] * b1) + f(gi * c1));
    const vi = f(f(v[i] * b2) + f(f(c2 * gi) * gi));
    m[i] = mi;
    v[i] = vi;
    w[i] = f(wi - f(f(step * mi) / f(f(f(Math.sqrt(vi)) / bc2) + eps)));
  }
}
