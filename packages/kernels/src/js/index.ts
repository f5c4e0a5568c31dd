// The plain TypeScript backend: the oracle. Slow, obviously correct, runs anywhere.
import type { Backend, Executable, ExecutionPlan, PlanOp } from '@cnn/core';
import { DisposedError } from '@cnn/core';
import * as ops from './ops.js';

function runOp(arena: Float32Array, op: PlanOp): void {
  switch (op.kind) {
    case 'conv2d':
      return ops.conv2d(arena, op);
    case 'linear':
      return ops.linear(arena, op);
    case 'pool2d':
      return ops.pool2d(arena, op);
    case 'adaptiveAvgPool2d':
      return ops.adaptiveAvgPool2d(arena, op);
    case 'add':
      return ops.add(arena, op);
    case 'channelAffine':
      return ops.channelAffine(arena, op);
    case 'activation':
      return ops.activation(arena, op);
    case 'copyChannels':
      return ops.copyChannels(arena, op);
    case 'scaleChannels':
      return ops.scaleChannels(arena, op);
    case 'layerNorm':
      return ops.layerNorm(arena, op);
    case 'localResponseNorm':
      return ops.localResponseNorm(arena, op);
  }
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
