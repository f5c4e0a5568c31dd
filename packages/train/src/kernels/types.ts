// The training backend contract: forward and backward primitives over flat NCHW arrays.
import type { Pair } from '@cnn/core';

export type FloatArray = Float32Array | Float64Array;

export interface ConvGeometry {
  readonly n: number;
  readonly inC: number;
  readonly inH: number;
  readonly inW: number;
  readonly outC: number;
  readonly outH: number;
  readonly outW: number;
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly groups: number;
}

export interface PoolGeometry {
  readonly n: number;
  readonly c: number;
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly countIncludePad: boolean;
}

/** Unary activations the tape differentiates; each has a kernel and a derivative. */
export type TrainActivation = 'relu' | 'relu6' | 'tanh' | 'sigmoid' | 'silu';

/**
 * Every kernel writes into a caller-provided output. Functions named `...Backward...` *add* into
 * their gradient output, so a value used twice accumulates both contributions.
 */
export interface TrainKernels {
  readonly name: string;
  /**
   * Called at the start of each forward pass. `keep`: a backward pass will follow, so forward
   * results a backward kernel needs may be kept until the next call (the wasm kernels keep each
   * convolution's column matrix for its weight gradient). Optional: stateless kernels omit it.
   */
  startPass?(keep: boolean): void;
  /** Releases what the kernels hold beyond memory (the wasm kernels' worker threads); optional. */
  dispose?(): void;
  /** y = conv(x, w) + b; y is overwritten */
  conv2d(g: ConvGeometry, x: FloatArray, w: FloatArray, b: FloatArray | null, y: FloatArray): void;
  /** dx += convᵀ(dy, w) */
  conv2dBackwardInput(g: ConvGeometry, dy: FloatArray, w: FloatArray, dx: FloatArray): void;
  /** dw += dy ⋆ x, db += Σ dy */
  conv2dBackwardWeight(g: ConvGeometry, x: FloatArray, dy: FloatArray, dw: FloatArray, db: FloatArray | null): void;
  /** y[n, o] = Σ_i x[n, i] w[o, i] + b[o]; y is overwritten */
  linear(n: number, inF: number, outF: number, x: FloatArray, w: FloatArray, b: FloatArray | null, y: FloatArray): void;
  /** dx += dy·w */
  linearBackwardInput(n: number, inF: number, outF: number, dy: FloatArray, w: FloatArray, dx: FloatArray): void;
  /** dw += dyᵀ·x, db += Σ_n dy */
  linearBackwardWeight(n: number, inF: number, outF: number, x: FloatArray, dy: FloatArray, dw: FloatArray, db: FloatArray | null): void;
  /** max pooling; `argmax` receives the flat input index of each output's winner (-1 for an empty window) */
  maxPool2d(g: PoolGeometry, x: FloatArray, y: FloatArray, argmax: Int32Array): void;
  maxPool2dBackward(g: PoolGeometry, dy: FloatArray, argmax: Int32Array, dx: FloatArray): void;
  avgPool2d(g: PoolGeometry, x: FloatArray, y: FloatArray): void;
  avgPool2dBackward(g: PoolGeometry, dy: FloatArray, dx: FloatArray): void;
  /**
   * Batch norm's batch statistics over NCHW [n, c, plane]: stats[2·ch] = the channel's mean,
   * stats[2·ch + 1] = Σ (x − mean)² (the caller derives the biased and unbiased variances).
   */
  batchNormStats(n: number, c: number, plane: number, x: FloatArray, stats: Float64Array): void;
  /** y = (x − mean)·invstd·γ + β; `params` holds [mean, invstd, γ, β] per channel; y is overwritten */
  batchNormApply(n: number, c: number, plane: number, x: FloatArray, params: FloatArray, y: FloatArray): void;
  /**
   * Batch norm's backward pass, x̂ = (x − mean)·invstd recomputed from `params` as in
   * batchNormApply: sums[2·ch] = Σ dy, sums[2·ch + 1] = Σ dy·x̂ (β's and γ's gradients, written);
   * with dx, adds γ·invstd·(dy − Σdy/m − x̂·Σdy·x̂/m) (training) or γ·invstd·dy (eval) into it.
   */
  batchNormBackward(n: number, c: number, plane: number, x: FloatArray, dy: FloatArray, params: FloatArray, sums: Float64Array, dx: FloatArray | null, training: boolean): void;
  activation(fn: TrainActivation, x: FloatArray, y: FloatArray): void;
  /**
   * One AdamW update in place, as the AdamW optimiser's own loop computes it (float64 arithmetic
   * on float32 storage, same bits): `h` is [decay, β₁, β₂, step size, √(bias correction 2), eps].
   * Optional: the optimiser runs its own loop when a backend has none.
   */
  adamw?(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, h: Float64Array): void;
  /** dx += dy · f'(x), given x and y = f(x) */
  activationBackward(fn: TrainActivation, x: FloatArray, y: FloatArray, dy: FloatArray, dx: FloatArray): void;
}
