// The plain TypeScript backend: the oracle. Slow, obviously correct, runs anywhere.
import type { Backend, Executable, ExecutionPlan } from '@cnn/core';
import { DisposedError } from '@cnn/core';
import { runJsOp as runOp } from './run-op.js';
import { conv2dParams, linearParams, store } from './q8-ops.js';
import { linearAsConv2d } from './q8.js';
import type { PreparedQ8Conv2d, Q8WasmKernels } from '../wasm/q8.js';


class JsExecutable implements Executable {
  private arena: Float32Array;
  /** quantised slots of an int8 plan, one byte per element at the same offsets (empty for a float plan) */
  private bytes: Uint8Array;
  readonly weightBytes: number;
  readonly arenaBytes: number;
  /** per op: the int8 convolution or linear layer prepared on the wasm int8 kernels, if given */
  private readonly prepared: (PreparedQ8Conv2d | undefined)[];
  constructor(
    private readonly plan: ExecutionPlan,
    int8Kernels?: Q8WasmKernels,
  ) {
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
    const bytes = this.bytes;
    this.prepared = plan.ops.map((op) => {
      if (!int8Kernels) return undefined;
      if (op.kind === 'q8conv2d') return int8Kernels.prepareConv2d(conv2dParams(op, bytes));
      if (op.kind === 'q8linear') return int8Kernels.prepareConv2d(linearAsConv2d(linearParams(op, bytes)));
      return undefined;
    });
  }
  async run(input: Float32Array): Promise<Float32Array[]> {
    const { plan, arena } = this;
    if (arena.length === 0 && plan.arenaSize > 0) throw new DisposedError('This js executable was disposed; compile the plan again.');
    arena.set(input, plan.input.offset);
    const bytes = this.bytes;
    plan.ops.forEach((op, i) => {
      const p = this.prepared[i];
      if (!p || (op.kind !== 'q8conv2d' && op.kind !== 'q8linear')) return runOp(arena, op, bytes);
      const at = (s: { offset: number; size: number }) => bytes.subarray(s.offset, s.offset + s.size);
      p.setInput(at(op.input), op.residual && at(op.residual));
      p.execute();
      store(bytes, op.output, { ...p.output(), shape: op.output.shape }, op.kind);
    });
    return plan.outputs.map((s) => arena.slice(s.offset, s.offset + s.size));
  }
  dispose(): void {
    this.arena = new Float32Array(0);
    this.bytes = new Uint8Array(0);
  }
}

export interface JsBackendOptions {
  /**
   * Int8 plans: run convolutions and linear layers on these wasm int8 kernels
   * (instantiateQ8Kernels from '@cnn/kernels/wasm/q8', with cnn_q8.wasm or cnn_q8-relaxed.wasm)
   * instead of the scalar reference; the outputs are bit-identical (INT8.md).
   */
  int8Kernels?: Q8WasmKernels;
}

/** Creates the reference backend. */
export function createJsBackend(options: JsBackendOptions = {}): Backend {
  return {
    name: options.int8Kernels ? 'js+wasm-int8' : 'js',
    async compile(plan) {
      return new JsExecutable(plan, options.int8Kernels);
    },
  };
}

/** The int8 reference kernels (issue 15): the arithmetic of INT8.md, bit for bit. */
export * as q8 from './q8.js';
