// The reverse-mode tape, micrograd-style: a value, its parents, its local backward rule.
import type { FloatArray } from './kernels/types.js';

export type BackwardRule = (out: Var) => void;

export class Var {
  /** d(loss)/d(this), allocated on first use; backward rules add into it */
  grad: FloatArray | null = null;
  /** where the gradient buffer comes from (a training pass's reused arrays); default a fresh zeroed array */
  allocateGrad: ((length: number) => FloatArray) | null = null;

  constructor(
    /** forward result, flat, NCHW or [n, f] */
    readonly data: FloatArray,
    readonly shape: readonly number[],
    readonly parents: readonly Var[] = [],
    /** reads `out.grad` and adds into each parent's grad */
    private readonly backwardRule: BackwardRule | null = null,
    /** false for inputs and frozen parameters: no gradient is computed for them */
    public requiresGrad = parents.some((p) => p.requiresGrad),
  ) {}

  /** The gradient buffer, zero-filled on first use. */
  gradBuffer(): FloatArray {
    if (this.grad === null) {
      this.grad = this.allocateGrad ? this.allocateGrad(this.data.length) : this.data instanceof Float64Array ? new Float64Array(this.data.length) : new Float32Array(this.data.length);
    }
    return this.grad;
  }

  /** Seeds d(this)/d(this) = 1 (this must be a scalar) and sweeps the tape once in reverse topological order. */
  backward(): void {
    if (this.data.length !== 1) throw new Error(`backward() starts from a scalar loss, got ${this.data.length} values`);
    const order: Var[] = [];
    const seen = new Set<Var>();
    // iterative depth-first post-order, so deep networks do not overflow the call stack
    const stack: [Var, number][] = [[this, 0]];
    seen.add(this);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const [v, next] = top;
      if (next < v.parents.length) {
        top[1]++;
        const p = v.parents[next];
        if (p.requiresGrad && !seen.has(p)) {
          seen.add(p);
          stack.push([p, 0]);
        }
      } else {
        stack.pop();
        order.push(v);
      }
    }
    this.gradBuffer().fill(1);
    for (let i = order.length - 1; i >= 0; i--) {
      const v = order[i];
      if (v.backwardRule && v.grad) v.backwardRule(v);
    }
  }
}
