// Test-only helpers shared by the wasm and WebGPU tests: hand-built arenas and plans, and a
// comparison of any backend against the js reference kernels, op by op.
import type { Backend, ExecutionPlan, PlanOp, Slot } from '@cnn/core';
import { runJsOp } from './js/run-op.js';

/** Deterministic uniform floats in [lo, hi) (mulberry32). */
export function randomFloats(length: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

/** Hands out slots one after another at odd offsets, so no tensor starts on a binding boundary. */
export class ArenaBuilder {
  size = 0;
  private nextId = 0;
  slot(shape: readonly [number, number, number, number], gap = 5): Slot {
    const offset = this.size + gap;
    const size = shape[0] * shape[1] * shape[2] * shape[3];
    this.size = offset + size;
    return { id: this.nextId++, shape, offset, size };
  }
}

/** A plan whose input and single output are the whole arena, so any op sequence can be checked. */
export function wholeArenaPlan(ops: readonly PlanOp[], arenaSize: number): ExecutionPlan {
  const all: Slot = { id: -1, shape: [1, 1, 1, arenaSize], offset: 0, size: arenaSize };
  return { batch: 1, input: all, outputs: [all], ops, arenaSize };
}

/** max |got - ref| / max |ref| over one slot (NaN counts as infinitely wrong). */
export function slotError(got: Float32Array, ref: Float32Array, slot: Slot): number {
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = slot.offset; i < slot.offset + slot.size; i++) {
    const d = Math.abs(got[i] - ref[i]);
    maxDiff = Number.isNaN(d) ? Infinity : Math.max(maxDiff, d);
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
  }
  return maxDiff / Math.max(maxRef, 1e-30);
}

/** Runs `ops` on a random arena with `backend` and with the js reference; worst error over the ops' outputs. */
export async function compareWithReference(backend: Backend, ops: readonly PlanOp[], arenaSize: number, seed = 1, range: [number, number] = [-1, 1]): Promise<number> {
  const arena = randomFloats(arenaSize, seed, range[0], range[1]);
  const ref = arena.slice();
  for (const op of ops) runJsOp(ref, op);
  const exe = await backend.compile(wholeArenaPlan(ops, arenaSize));
  const [got] = await exe.run(arena);
  exe.dispose();
  return Math.max(...ops.map((op) => slotError(got, ref, op.output)));
}
