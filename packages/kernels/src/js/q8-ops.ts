// The int8 plan ops on the reference kernels of q8.ts: each reads its quantised slots from the
// byte arena (one uint8 per element, at the slot's offset) and its float slots from the float
// arena, and calls the one q8 kernel that defines its arithmetic.
import type { DequantizeOp, Q8AddOp, Q8AdaptiveAvgPool2dOp, Q8Conv2dOp, Q8LinearOp, Q8LookupOp, Q8Pool2dOp, QuantizeOp, Slot } from '@cnn/core';
import { ShapeError } from '@cnn/core';
import * as q8 from './q8.js';

const tensor = (bytes: Uint8Array, s: Slot): q8.Q8Tensor => ({ data: bytes.subarray(s.offset, s.offset + s.size), shape: s.shape, quant: s.quant! });

/** Writes a kernel's result into its slot, once its shape is the plan's. */
function store(bytes: Uint8Array, s: Slot, t: q8.Q8Tensor, where: string): void {
  if (t.shape.join() !== s.shape.join()) {
    throw new ShapeError(`${where}: the int8 kernel made [${t.shape.join(', ')}], the plan's output is [${s.shape.join(', ')}] (asymmetric padding has no int8 kernel yet)`);
  }
  bytes.set(t.data, s.offset);
}

export function quantize(arena: Float32Array, op: QuantizeOp, bytes: Uint8Array): void {
  const x = arena.subarray(op.input.offset, op.input.offset + op.input.size);
  store(bytes, op.output, q8.quantize(x, op.input.shape, op.output.quant!), 'quantize');
}

export function dequantize(arena: Float32Array, op: DequantizeOp, bytes: Uint8Array): void {
  arena.set(q8.dequantize(tensor(bytes, op.input)), op.output.offset);
}

/** The reference kernel's parameters of a q8conv2d op over the byte arena. */
function conv2dParams(op: Q8Conv2dOp, bytes: Uint8Array): q8.Q8Conv2dParams {
  const output = op.output.quant!;
  return {
    input: tensor(bytes, op.input),
    weight: op.weight,
    weightScales: op.weightScale,
    bias: op.bias,
    outChannels: op.output.shape[3],
    kernel: op.kernel,
    stride: op.stride,
    padding: op.padding,
    dilation: op.dilation,
    groups: op.groups,
    output,
    clamp: q8.activationBounds(op.activation, output),
    residual: op.residual && tensor(bytes, op.residual),
  };
}

export function q8conv2d(_arena: Float32Array, op: Q8Conv2dOp, bytes: Uint8Array): void {
  store(bytes, op.output, q8.conv2d(conv2dParams(op, bytes)), `q8conv2d '${op.name}'`);
}

/** The reference kernel's parameters of a q8linear op over the byte arena. */
function linearParams(op: Q8LinearOp, bytes: Uint8Array): q8.Q8LinearParams {
  const output = op.output.quant!;
  return {
    input: tensor(bytes, op.input),
    weight: op.weight,
    weightScales: op.weightScale,
    bias: op.bias,
    outFeatures: op.output.size / op.output.shape[0],
    output,
    clamp: q8.activationBounds(op.activation, output),
    residual: op.residual && tensor(bytes, op.residual),
  };
}

export function q8linear(_arena: Float32Array, op: Q8LinearOp, bytes: Uint8Array): void {
  store(bytes, op.output, { ...q8.linear(linearParams(op, bytes)), shape: op.output.shape }, `q8linear '${op.name}'`);
}

export function q8pool2d(_arena: Float32Array, op: Q8Pool2dOp, bytes: Uint8Array): void {
  const input = tensor(bytes, op.input);
  const floor = { kernel: op.kernel, stride: op.stride, padding: op.padding };
  // the plan's output shape says whether PyTorch's ceil_mode was on
  const [, inH, inW] = op.input.shape;
  const floorH = Math.floor((inH + 2 * op.padding[0] - op.kernel[0]) / op.stride[0]) + 1;
  const floorW = Math.floor((inW + 2 * op.padding[1] - op.kernel[1]) / op.stride[1]) + 1;
  const p = { ...floor, ceilMode: op.output.shape[1] > floorH || op.output.shape[2] > floorW };
  const y = op.mode === 'max' ? q8.maxPool2d(input, p) : q8.avgPool2d(input, { ...p, countIncludePad: op.countIncludePad, output: op.output.quant! });
  store(bytes, op.output, y, `q8pool2d (${op.mode})`);
}

export function q8adaptiveAvgPool2d(_arena: Float32Array, op: Q8AdaptiveAvgPool2dOp, bytes: Uint8Array): void {
  const y = q8.adaptiveAvgPool2d(tensor(bytes, op.input), [op.output.shape[1], op.output.shape[2]], op.output.quant!);
  store(bytes, op.output, y, 'q8adaptiveAvgPool2d');
}

/** y = table[x]: the table already holds the function's quantised values. */
export function q8lookup(_arena: Float32Array, op: Q8LookupOp, bytes: Uint8Array): void {
  const { table } = op;
  for (let i = 0, x = op.input.offset, y = op.output.offset; i < op.input.size; i++) bytes[y + i] = table[bytes[x + i]];
}

export function q8add(_arena: Float32Array, op: Q8AddOp, bytes: Uint8Array): void {
  const output = op.output.quant!;
  const y = q8.add(tensor(bytes, op.a), tensor(bytes, op.b), output, q8.activationBounds(op.activation, output));
  store(bytes, op.output, y, 'q8add');
}
