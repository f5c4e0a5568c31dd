// One plan op on the reference kernels: the js backend's step, and the oracle the other backends'
// op tests compare against (through @cnn/kernels/testing).
import type { PlanOp } from '@cnn/core';
import * as ops from './ops.js';

export function runJsOp(arena: Float32Array, op: PlanOp): void {
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
