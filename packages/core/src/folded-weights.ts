// Batch norms and layer scales fold into the weights of the convolution or linear layer before
// them (passes/fold-affine.ts), but the multiplication waits until something reads the weights:
// a plan op's `weight` scales its rows on first read (and keeps the result), while a backend that
// repacks the weights anyway takes the unscaled rows and the factors (`unfoldedWeight`) and
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

const unfolded = new WeakMap<object, { weight: Float32Array; scale?: Float64Array }>();

/** out[r][j] = fround(w[r][j] * scale[r]) over rows of w.length / scale.length floats (`out` may be `w`). */
export function scaleRows(w: Float32Array, scale: Float64Array, out: Float32Array): Float32Array {
  const per = w.length / scale.length;
  for (let r = 0, at = 0; r < scale.length; r++) scaleRow(w, out, at, (at += per), scale[r]);
  return out;
}

/** A small function of its own: V8 optimises it early. */
function scaleRow(w: Float32Array, out: Float32Array, from: number, to: number, s: number): void {
  for (let i = from; i < to; i++) out[i] = w[i] * s;
}

/**
 * Gives a plan op a `weight` that is `weight` with `scale` folded in, computed on first read
 * (in place when `inPlace`: an array decoded for this compile alone), and records the parts
 * for `unfoldedWeight`.
 */
export function defineFoldedWeight(op: object, weight: Float32Array, scale: Float64Array, inPlace: boolean): void {
  const parts: { weight: Float32Array; scale?: Float64Array } = { weight, scale };
  unfolded.set(op, parts);
  let folded: Float32Array | undefined;
  Object.defineProperty(op, 'weight', {
    enumerable: true,
    get(): Float32Array {
      if (folded === undefined) {
        folded = scaleRows(weight, scale, inPlace ? weight : new Float32Array(weight.length));
        // scaled in place, the rows are final
        if (inPlace) parts.scale = undefined;
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
  const parts = unfolded.get(op);
  return parts ? { weight: parts.weight, scale: parts.scale } : { weight: op.weight };
}
