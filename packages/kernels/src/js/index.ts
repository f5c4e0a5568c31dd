// The plain TypeScript backend: the oracle. Slow, obviously correct, runs anywhere.
import type { Backend, Executable, ExecutionPlan } from '@cnn/core';
import { DisposedError } from '@cnn/core';
import { runJsOp as runOp } from './run-op.js';

class JsExecutable implements Executable {
  private arena: Float32Array;
  /** quantised slots of an int8 plan, one byte per element at the same offsets (empty for a float plan) */
  private bytes: Uint8Array;
  readonly weightBytes: number;
  readonly arenaBytes: number;
  constructor(private readonly plan: ExecutionPlan) {
    this.arena = new Float32Array(plan.arenaSize);
    const int8 = plan.ops.some((op) => op.kind === 'quantize');
    this.bytes = new Uint8Array(int8 ? plan.arenaSize : 0);
    this.arenaBytes = plan.arenaSize * 4 + this.bytes.length;
    let w = 0;
    for (const op of plan.ops) {
      if (op.kind === 'conv2d' || op.kind === 'linear') w += op.weight.byteLength + op.bias.byteLength;
      else if (op.kind === 'q8conv2d' || op.kind === 'q8linear') w += op.weight.byteLength + op.bias.byteLength + op.weightScale.byteLength;
      else if (op.kind === 'layerNorm') w += op.weight.byteLength + op.bias.byteLength;
      else if (op.kind === 'channelAffine') w += op.scale.byteLength + op.shift.byteLength;
    }
    this.weightBytes = w;
  }
  async run(input: Float32Array): Promise<Float32Array[]> {
    const { plan, arena } = this;
    if (arena.length === 0 && plan.arenaSize > 0) throw new DisposedError('This js executable was disposed; compile the plan again.');
    arena.set(input, plan.input.offset);
    for (const op of plan.ops) runOp(arena, op, this.bytes);
    return plan.outputs.map((s) => arena.slice(s.offset, s.offset + s.size));
  }
  dispose(): void {
    this.arena = new Float32Array(0);
    this.bytes = new Uint8Array(0);
  }
}

/**
 * Creates the reference backend: float and int8 plans, every op in TypeScript (for int8 plans on
 * the wasm int8 kernels, createInt8WasmBackend from '@cnn/kernels/wasm/q8', bit for bit the same).
 */
export function createJsBackend(): Backend {
  return {
    name: 'js',
    async compile(plan) {
      return new JsExecutable(plan);
    },
  };
}

/** The int8 reference kernels (issue 15): the arithmetic of INT8.md, bit for bit. */
export * as q8 from './q8.js';
