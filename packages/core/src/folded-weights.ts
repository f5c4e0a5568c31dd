// Batch norms and layer scales fold into the weights of the convolution or linear layer before
// them (passes/fold-affine.ts), but the multiplication waits until something reads the weights:
// a plan op's `weight` scales its rows on first read (into a new array, kept), while a backend
// that repacks the weights anyway takes the unscaled rows and the factors (`unfoldedWeight`) and
// scales while packing (the wasm backend does it with SIMD in its staging buffer). Scaling
// ResNet-50's 25 M floats in JavaScript took 50 ms, and 80 ms with the pages of a fresh copy.
// Either way every weight is fround(w * scale[row]), the product taken in double precision.
import type { Conv2dOp, LinearOp } from './plan.js';

/** A layer's weights before a folded scale: rows of weight.length / scale.length floats. */
export interface UnfoldedWeight {
  readonly weight: Float32Array;
  /** per row (output channel): the folded factor; absent when `weight` is final */
  readonly scale?: Float64Array;
}

const unfolded = new WeakMap<object, UnfoldedWeight>();

/**
 * Gives a plan op a `weight` that is `weight` with `scale` folded in (rows of weight.length /
 * scale.length floats, each times its factor), computed on first read, and records the parts
 * for `unfoldedWeight`.
 */
export function defineFoldedWeight(op: object, weight: Float32Array, scale: Float64Array): void {
  unfolded.set(op, { weight, scale });
  let folded: Float32Array | undefined;
  Object.defineProperty(op, 'weight', {
    enumerable: true,
    get() {
      if (!folded) {
        folded = new Float32Array(weight.length);
        for (let r = 0, i = 0, per = weight.length / scale.length; r < scale.length; r++) for (const s = scale[r], end = i + per; i < end; i++) folded[i] = weight[i] * s;
      }
      return folded;
    },
  });
}

/**
 * A convolution's or linear layer's weights as a packer wants them: the unscaled rows and the
 * folded factors when the op still holds them apart (reading neither scales anything), else its
 * final weights.
 */
export function unfoldedWeight(op: Conv2dOp | LinearOp): UnfoldedWeight {
  return unfolded.get(op) ?? { weight: op.weight };
}
