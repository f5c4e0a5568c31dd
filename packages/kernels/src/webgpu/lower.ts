// Turns each plan op into GPU dispatches: picks the template, packs the weights once, and splits
// weights that exceed one storage binding into several chunks (one dispatch each).
import { ShapeError, pixelStride, slotSpan, type Conv2dOp, type LinearOp, type FloatOpKind, type PlanOp, type Slot } from '@cnn/core';
import type { Kernel, Offsets, TemplateContext } from './wgsl/common.js';
import {
  activationKernel,
  addKernel,
  channelAffineKernel,
  copyChannelsKernel,
  fakeQuantizeKernel,
  scaleChannelsKernel,
} from './wgsl/elementwise.js';
import { convGemmKernel, linearKernel, packConvGemmWeights, planConvGemm, splitKReduceKernel, type ConvGemmShape, type ConvGemmTuning } from './wgsl/matmul.js';
import { layerNormKernel, localResponseNormKernel } from './wgsl/normalization.js';
import { adaptiveAvgPoolKernel, depthwiseConvKernel, packDepthwiseWeights, poolKernel } from './wgsl/window.js';

/** One dispatch of a compiled plan. */
export interface Step {
  /** index of the plan op it belongs to (for error messages); -1 for input/output staging */
  op: number;
  kernel: Kernel;
  /** absolute arena float offsets [x, y, r] (0 where unused); s is an offset into the io buffer */
  offsets: Offsets;
  /** arena ranges [offset, length] the dispatch reads or writes: its binding must cover them */
  touches: [number, number][];
  /** weights in the kernel's packed layout, uploaded in the storage precision */
  weights?: Float32Array;
  /** f32 per-channel data (bias, scale | shift, weight | bias) */
  perChannel?: Float32Array;
  /** f32 scratch floats the step uses (split-K partial sums; shared by all steps) */
  scratchFloats?: number;
}

export interface LowerContext extends TemplateContext {
  /** largest storage binding, bytes */
  maxBindingBytes: number;
  /** convolution GEMM tiling (the defaults where absent) */
  gemmTuning?: ConvGemmTuning;
}

/** A channel view's range spans the base's other channels between its pixels. */
const range = (s: Slot): [number, number] => [s.offset, slotSpan(s)];

function bytesPerElement(ctx: LowerContext): number {
  return ctx.precision === 'f16' ? 2 : 4;
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function tooLarge(what: string, bytes: number, ctx: LowerContext): never {
  throw new Error(
    `${what} needs ${bytes} bytes in one storage binding, more than this device's maxStorageBufferBindingSize ` +
      `(${ctx.maxBindingBytes} bytes), and cannot be split further`,
  );
}

function lowerConv(op: Conv2dOp, index: number, ctx: LowerContext): Step[] {
  const [, , , inC] = op.input.shape;
  const outC = op.output.shape[3];
  // A 1 -> 1 channel convolution stays a GEMM: its output may be a channel view.
  if (op.groups > 1 && op.groups === inC && op.groups === outC) return [lowerDepthwise(op, index, ctx)];
  return convChunks(op, index, ctx).flatMap((chunk) => convChunkSteps(op, index, ctx, chunk));
}

function lowerDepthwise(op: Conv2dOp, index: number, ctx: LowerContext): Step {
  const [n, inH, inW, inC] = op.input.shape;
  const [, outH, outW, outC] = op.output.shape;
  const weights = packDepthwiseWeights(op.weight, outC, op.kernel[0], op.kernel[1]);
  if (weights.length * bytesPerElement(ctx) > ctx.maxBindingBytes) tooLarge(`plan.ops[${index}] depthwise weights`, weights.length * bytesPerElement(ctx), ctx);
  const kernel = depthwiseConvKernel(ctx, {
    n, inH, inW, channels: inC, outH, outW, kernel: op.kernel, stride: op.stride, padding: op.padding,
    dilation: op.dilation, residual: op.residual !== undefined, activation: op.activation,
  });
  return { op: index, kernel, ...slotsOf(op.input, op.output, op.residual), weights, perChannel: op.bias };
}

type ConvChunk = Pick<ConvGemmShape, 'groupStart' | 'groupCount' | 'channelStart' | 'channelCount'>;

/** Weight chunks that each fit one storage binding: whole groups, or slices of one group's output channels. */
function convChunks(op: Conv2dOp, index: number, ctx: LowerContext): ConvChunk[] {
  const inCg = op.input.shape[3] / op.groups;
  const outCg = op.output.shape[3] / op.groups;
  // Bytes one output channel's weights (and its f32 bias) take: chunks are whole channels.
  const perChannelBytes = Math.max(op.kernel[0] * op.kernel[1] * inCg * bytesPerElement(ctx), 4);
  const chunks: ConvChunk[] = [];
  const groupsPerChunk = Math.floor(ctx.maxBindingBytes / (perChannelBytes * outCg));
  if (groupsPerChunk >= 1) {
    for (let g = 0; g < op.groups; g += groupsPerChunk) {
      chunks.push({ groupStart: g, groupCount: Math.min(groupsPerChunk, op.groups - g), channelStart: 0, channelCount: outCg });
    }
    return chunks;
  }
  const channelsPerChunk = Math.floor(ctx.maxBindingBytes / perChannelBytes);
  if (channelsPerChunk < 1) tooLarge(`plan.ops[${index}] one output channel of conv2d weights`, perChannelBytes, ctx);
  for (let g = 0; g < op.groups; g++) {
    for (let c = 0; c < outCg; c += channelsPerChunk) {
      chunks.push({ groupStart: g, groupCount: 1, channelStart: c, channelCount: Math.min(channelsPerChunk, outCg - c) });
    }
  }
  return chunks;
}

/** One chunk as a GEMM: one step, or with split K, partial sums into scratch and a second step that reduces them. */
function convChunkSteps(op: Conv2dOp, index: number, ctx: LowerContext, chunk: ConvChunk): Step[] {
  const [n, inH, inW, inC] = op.input.shape;
  const [, outH, outW, outC] = op.output.shape;
  const shape: ConvGemmShape = {
    n, inH, inW, inC, outH, outW, outC, kernel: op.kernel, stride: op.stride, padding: op.padding,
    dilation: op.dilation, groups: op.groups, residual: op.residual !== undefined, activation: op.activation, outStride: pixelStride(op.output), ...chunk,
  };
  const packed = packConvGemmWeights(op.weight, op.bias, shape);
  const plan = planConvGemm(shape, ctx.gemmTuning);
  const whole = (p: typeof plan): Step => ({ op: index, kernel: convGemmKernel(ctx, shape, p), ...slotsOf(op.input, op.output, op.residual), weights: packed.weights, perChannel: packed.perChannel });
  if (plan.kSplit === 1) return [whole(plan)];
  // Split K: slices write partial sums to scratch, a second dispatch sums them and finishes the op.
  const scratchFloats = plan.kSplit * shape.groupCount * plan.M * plan.N;
  if (scratchFloats * 4 > ctx.maxBindingBytes) return [whole({ ...plan, kSplit: 1, kSlice: Math.ceil(plan.K / 16) * 16 })];
  return [
    { op: index, kernel: convGemmKernel(ctx, shape, plan), offsets: [op.input.offset, 0, 0, 0], touches: [range(op.input)], weights: packed.weights, scratchFloats },
    {
      op: index,
      kernel: splitKReduceKernel(ctx, shape, plan),
      offsets: [0, op.output.offset, op.residual?.offset ?? 0, 0],
      touches: [range(op.output), ...(op.residual ? [range(op.residual)] : [])],
      perChannel: packed.perChannel,
      scratchFloats,
    },
  ];
}

/** A step's arena offsets (input, output, an optional third slot) and the ranges it touches. */
function slotsOf(input: Slot, output: Slot, extra?: Slot): Pick<Step, 'offsets' | 'touches'> {
  return {
    offsets: [input.offset, output.offset, extra?.offset ?? 0, 0],
    touches: [range(input), range(output), ...(extra ? [range(extra)] : [])],
  };
}

function lowerLinear(op: LinearOp, index: number, ctx: LowerContext): Step[] {
  const batch = op.input.shape[0];
  const inF = op.input.size / batch;
  const outF = op.output.size / batch;
  const rowBytes = Math.max(inF * bytesPerElement(ctx), 4);
  const rowsPerChunk = Math.floor(ctx.maxBindingBytes / rowBytes);
  if (rowsPerChunk < 1) tooLarge(`plan.ops[${index}] one row of linear weights`, rowBytes, ctx);
  const steps: Step[] = [];
  for (let r = 0; r < outF; r += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, outF - r);
    steps.push({
      op: index,
      kernel: linearKernel(ctx, { batch, inF, outF, rowStart: r, rowCount: rows, residual: op.residual !== undefined, activation: op.activation }),
      offsets: [op.input.offset, op.output.offset, op.residual?.offset ?? 0, 0],
      touches: [range(op.input), range(op.output), ...(op.residual ? [range(op.residual)] : [])],
      weights: op.weight.subarray(r * inF, (r + rows) * inF),
      perChannel: op.bias.subarray(r, r + rows),
    });
  }
  return steps;
}

type Lowering<K extends PlanOp['kind']> = (op: Extract<PlanOp, { kind: K }>, index: number, ctx: LowerContext) => Step[];

/** The WebGPU steps of every op kind (a missing kind is a compile error). */
const LOWERINGS: { readonly [K in FloatOpKind]: Lowering<K> } = {
  conv2d: lowerConv,
  linear: lowerLinear,
  pool2d: (op, index, ctx) => {
    const [n, inH, inW, channels] = op.input.shape;
    const [, outH, outW] = op.output.shape;
    const kernel = poolKernel(ctx, {
      n, inH, inW, channels, outH, outW, kernel: op.kernel, stride: op.stride, padding: op.padding,
      mode: op.mode, countIncludePad: op.countIncludePad, activation: op.activation, outStride: pixelStride(op.output),
    });
    return [{ op: index, kernel, ...slotsOf(op.input, op.output) }];
  },
  adaptiveAvgPool2d: (op, index, ctx) => {
    const [n, inH, inW, channels] = op.input.shape;
    const [, outH, outW] = op.output.shape;
    return [{ op: index, kernel: adaptiveAvgPoolKernel(ctx, { n, inH, inW, channels, outH, outW }), ...slotsOf(op.input, op.output) }];
  },
  add: (op, index, ctx) => [{ op: index, kernel: addKernel(ctx, op.output.size, op.activation), ...slotsOf(op.a, op.output, op.b) }],
  channelAffine: (op, index, ctx) => [{
    op: index,
    kernel: channelAffineKernel(ctx, op.output.size, op.input.shape[3], op.activation, pixelStride(op.input)),
    ...slotsOf(op.input, op.output),
    perChannel: concat(op.scale, op.shift),
  }],
  activation: (op, index, ctx) => [{ op: index, kernel: activationKernel(ctx, op.output.size, op.activation), ...slotsOf(op.input, op.output) }],
  copyChannels: (op, index, ctx) => [{
    op: index,
    kernel: copyChannelsKernel(ctx, op.input.size, op.input.shape[3], pixelStride(op.output), op.channelOffset, pixelStride(op.input)),
    ...slotsOf(op.input, op.output),
  }],
  scaleChannels: (op, index, ctx) => {
    const [, h, w, c] = op.input.shape;
    return [{ op: index, kernel: scaleChannelsKernel(ctx, op.output.size, h * w, c), ...slotsOf(op.input, op.output, op.scale) }];
  },
  layerNorm: (op, index, ctx) => {
    const c = op.input.shape[3];
    return [{ op: index, kernel: layerNormKernel(ctx, op.input.size / c, c, op.eps, op.activation), ...slotsOf(op.input, op.output), perChannel: concat(op.weight, op.bias) }];
  },
  fakeQuantize: (op, index, ctx) => [{ op: index, kernel: fakeQuantizeKernel(ctx, op.output.size, op), ...slotsOf(op.input, op.output) }],
  localResponseNorm: (op, index, ctx) => [{
    op: index,
    kernel: localResponseNormKernel(ctx, op.output.size, op.input.shape[3], op.size, op.alpha, op.beta, op.k),
    ...slotsOf(op.input, op.output),
  }],
};

export function lowerOp(op: PlanOp, index: number, ctx: LowerContext): Step[] {
  const run = (LOWERINGS as { readonly [k: string]: Lowering<PlanOp['kind']> | undefined })[op.kind];
  // int8 ops (Int8OpKind) have kernels on the js backend only so far
  if (!run) throw new ShapeError(`webgpu: no kernel for op '${op.kind}'`, { code: 'unsupported' });
  return run(op, index, ctx);
}

