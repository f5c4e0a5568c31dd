// Calibration: the range every value of a float plan takes over some inputs, from a plan whose
// every value is an output (lowerForInt8 with observeAll).
import type { ExecutionPlan } from '../plan.js';
import { ShapeError } from '../errors.js';
import type { ActivationRange } from './numbers.js';

export type ObserverKind = 'minmax' | 'percentile';

/**
 * Per-slot ranges. 'minmax' keeps the extremes seen; 'percentile' keeps, per batch, the
 * `percentile`-th and (100 - percentile)-th percentiles and averages them over batches, which
 * ignores rare outliers (at the price of clipping them).
 */
export class ActivationObserver {
  private readonly min = new Map<number, number>();
  private readonly max = new Map<number, number>();
  private batches = 0;

  constructor(
    private readonly plan: ExecutionPlan,
    readonly kind: ObserverKind = 'minmax',
    readonly percentile = 99.99,
  ) {
    if (kind === 'percentile' && !(percentile > 50 && percentile <= 100)) throw new ShapeError(`percentile must lie in (50, 100], got ${percentile}`);
  }

  /** One run's outputs, in plan.outputs order. */
  observe(outputs: readonly Float32Array[]): void {
    if (outputs.length !== this.plan.outputs.length) throw new ShapeError(`expected ${this.plan.outputs.length} outputs (one per plan output), got ${outputs.length}`);
    this.batches++;
    this.plan.outputs.forEach((slot, i) => {
      const [lo, hi] = this.kind === 'minmax' ? extremes(outputs[i]) : percentiles(outputs[i], this.percentile);
      if (Number.isNaN(lo) || Number.isNaN(hi)) throw new ShapeError(`slot ${slot.id} holds NaN during calibration`);
      if (this.kind === 'minmax') {
        this.min.set(slot.id, Math.min(this.min.get(slot.id) ?? Infinity, lo));
        this.max.set(slot.id, Math.max(this.max.get(slot.id) ?? -Infinity, hi));
      } else {
        this.min.set(slot.id, (this.min.get(slot.id) ?? 0) + lo);
        this.max.set(slot.id, (this.max.get(slot.id) ?? 0) + hi);
      }
    });
  }

  /** Each observed slot's range, by slot id. */
  ranges(): Map<number, ActivationRange> {
    if (this.batches === 0) throw new ShapeError('no calibration data was observed');
    const n = this.kind === 'minmax' ? 1 : this.batches;
    return new Map([...this.min].map(([id, lo]) => [id, { min: lo / n, max: this.max.get(id)! / n }]));
  }
}

function extremes(v: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x !== x) return [NaN, NaN];
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return [lo, hi];
}

function percentiles(v: Float32Array, p: number): [number, number] {
  const sorted = Float32Array.from(v).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((q / 100) * (sorted.length - 1))))];
  return [at(100 - p), at(p)];
}
