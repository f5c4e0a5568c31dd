// Arrays of training passes, reused from step to step: a pass of the same network on the same
// batch size asks for the same arrays in the same order, so once shapes are known a step
// allocates nothing (fresh multi-megabyte typed arrays cost more than the arithmetic on them).
import type { FloatArray } from './kernels/types.js';

type Pooled = FloatArray | Int32Array;
type Kind = 'f32' | 'f64' | 'i32';

/** The arrays one forward pass (and its backward sweep) took. */
export class Pass {
  readonly arrays: Pooled[] = [];
  constructor(private readonly pool: PassBuffers) {}

  /** An array of `length` elements of `like`'s float type; `zero`: filled with zeros (fresh ones are). */
  floats(like: FloatArray, length: number, zero = false): FloatArray {
    return this.take(like instanceof Float64Array ? 'f64' : 'f32', length, zero) as FloatArray;
  }

  ints(length: number): Int32Array {
    return this.take('i32', length, false) as Int32Array;
  }

  private take(kind: Kind, length: number, zero: boolean): Pooled {
    const reused = this.pool.reuse(kind, length);
    if (reused && zero) reused.fill(0);
    const a = reused ?? (kind === 'f64' ? new Float64Array(length) : kind === 'f32' ? new Float32Array(length) : new Int32Array(length));
    this.arrays.push(a);
    return a;
  }
}

/**
 * Recycles a pass's arrays when the next pass begins, but only once a backward sweep has run
 * through that pass's output: until then its values may still be needed (two forward passes
 * before one backward, or features kept by the caller). So: the arrays of a trained step stay
 * valid until the next forward pass; copy what must outlive it.
 */
export class PassBuffers {
  private readonly free = new Map<string, Pooled[]>();
  private last: { pass: Pass; swept: () => boolean } | null = null;

  /** Starts a pass, first recycling the previous one if its backward sweep ran. */
  begin(): Pass {
    if (this.last?.swept()) {
      for (const a of this.last.pass.arrays) {
        const key = keyOf(a);
        const list = this.free.get(key);
        if (list) list.push(a);
        else this.free.set(key, [a]);
      }
    }
    this.last = null;
    return new Pass(this);
  }

  /** Ends `pass`; `swept` tells later whether a backward sweep reached its output. */
  end(pass: Pass, swept: () => boolean): void {
    this.last = { pass, swept };
  }

  /** @internal */
  reuse(kind: Kind, length: number): Pooled | undefined {
    // first in, first out: a step takes its arrays in the order the previous step did
    return this.free.get(`${kind}:${length}`)?.shift();
  }
}

const keyOf = (a: Pooled) => `${a instanceof Float64Array ? 'f64' : a instanceof Float32Array ? 'f32' : 'i32'}:${a.length}`;
