// One plan op on the reference kernels: the js backend's step, and the oracle the other backends'
// op tests compare against (through @cnn/kernels/testing).
import type { PlanOp } from '@cnn/core';
import * as ops from './ops.js';
import * as q8ops from './q8-ops.js';

/** `bytes`: the arena of quantised (uint8) slots, same offsets; only int8 ops touch it. */
type Kernel<K extends PlanOp['kind']> = (arena: Float32Array, op: Extract<PlanOp, { kind: K }>, bytes: Uint8Array) => void;

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
  fakeQuantize: ops.fakeQuantize,
  quantize: q8ops.quantize,
  dequantize: q8ops.dequantize,
  q8conv2d: q8ops.q8conv2d,
  q8linear: q8ops.q8linear,
  q8pool2d: q8ops.q8pool2d,
  q8adaptiveAvgPool2d: q8ops.q8adaptiveAvgPool2d,
  q8lookup: q8ops.q8lookup,
  q8add: q8ops.q8add,
};

const NO_BYTES = new Uint8Array(0);

export function runJsOp(arena: Float32Array, op: PlanOp, bytes: Uint8Array = NO_BYTES): void {
  (KERNELS[op.kind] as Kernel<PlanOp['kind']>)(arena, op, bytes);
}
