// The plain TypeScript backend: the oracle. Slow, obviously correct, runs anywhere.
import type { Backend, Executable, ExecutionPlan, PlanOp } from '@cnn/core';
import { DisposedError } from '@cnn/core';
import * as ops from './ops.js';

type Kernel<K extends PlanOp['kind']> = (arena: Float32Array, op: Extract<PlanOp, { kind: K }>) => void;

/** The reference kernel of every op kind (a missing kind is a compile error). */
const KERNELS: { readonly [K in PlanOp['kind']]: Kernel<K> } = {
  conv2d: ops.conv2d,
  linear: ops.linear,
  pool2d: ops.pool2d,
  adaptiveAvgPool2d: ops.adaptiveAvgPool2d,
  add: ops.add,
  channelAffine: ops.channelAffine,
  activation: ops.activation,
  copyChannels: ops.copyChannels,
  scaleChannels: ops.scaleChannels,
  layerNorm: ops.layerNorm,
  localResponseNorm: ops.localResponseNorm,
};

function runOp(arena: Float32Array, op: PlanOp): void {
  (KERNELS[op.kind] as Kernel<PlanOp['kind']>)(arena, op);
}

class JsExecutable implements Executable {
  private arena: Float32Array;
  readonly weightBytes: number;
  readonly arenaBytes: number;
  constructor(private readonly plan: ExecutionPlan) {
    this.arena = new Float32Array(plan.arenaSize);
    this.arenaBytes = plan.arenaSize * 4;
    let w = 0;
    for (const op of plan.ops) {
      if (op.kind === 'conv2d' || op.kind === 'linear') w += op.weight.byteLength + op.bias.byteLength;
      else if (op.kind === 'layerNorm') w += op.weight.byteLength + op.bias.byteLength;
      else if (op.kind === 'channelAffine') w += op.scale.byteLength + op.shift.byteLength;
    }
    this.weightBytes = w;
  }
  async run(input: Float32Array): Promise<Float32Array[]> {
    const { plan, arena } = this;
    if (arena.length === 0 && plan.arenaSize > 0) throw new DisposedError('This js executable was disposed; compile the plan again.');
    arena.set(input, plan.input.offset);
    for (const op of plan.ops) runOp(arena, op);
    return plan.outputs.map((s) => arena.slice(s.offset, s.offset + s.size));
  }
  dispose(): void {
    this.arena = new Float32Array(0);
  }
}

export interface JsBackendOptions {}

/** Creates the reference backend. */
export function createJsBackend(_options: JsBackendOptions = {}): Backend {
  return {
    name: 'js',
    async compile(plan) {
      return new JsExecutable(plan);
    },
  };
}

export { runOp as runJsOp };
