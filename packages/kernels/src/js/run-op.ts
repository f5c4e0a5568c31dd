// One plan op on the reference kernels: the js backend's step, and the oracle the other backends'
// op tests compare against (through @cnn/kernels/testing).
import type { PlanOp } from '@cnn/core';
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
  fakeQuantize: ops.fakeQuantize,
};

export function runJsOp(arena: Float32Array, op: PlanOp): void {
  (KERNELS[op.kind] as Kernel<PlanOp['kind']>)(arena, op);
}
