// Turns each plan op into GPU dispatches: picks the template, packs the weights once, and splits
// weights that exceed one storage binding into several chunks (one dispatch each).
import type { Conv2dOp, LinearOp, PlanOp, Slot } from '@cnn/core';
import type { Kernel, Offsets, TemplateContext } from './wgsl/common.js';
import {
  activationKernel,
  addKernel,
  channelAffineKernel,
  copyChannelsKernel,
  scaleChannelsKernel,
} from './wgsl/elementwise.js';
import { convGemmKernel, linearKernel, packConvGemmWeights, planConvGemm, splitKReduceKernel, type ConvGemmShape } from './wgsl/matmul.js';
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
}

const range = (s: Slot): [number, number] => [s.offset, s.size];

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
  const [n, inH, inW, inC] = op.input.shape;
  const [, outH, outW, outC] = op.output.shape;
  const residual = op.residual !== undefined;
  const offsets: Offsets = [op.input.offset, op.output.offset, op.residual?.offset ?? 0, 0];
  const touches = [range(op.input), range(op.output), ...(op.residual ? [range(op.residual)] : [])];
  const [kh, kw] = op.kernel;
  if (op.groups === inC && op.groups === outC) {
    const weights = packDepthwiseWeights(op.weight, outC, kh, kw);
    if (weights.length * bytesPerElement(ctx) > ctx.maxBindingBytes) tooLarge(`plan.ops[${index}] depthwise weights`, weights.length * bytesPerElement(ctx), ctx);
    const kernel = depthwiseConvKernel(ctx, {
      n, inH, inW, channels: inC, outH, outW, kernel: op.kernel, stride: op.stride, padding: op.padding,
      dilation: op.dilation, residual, activation: op.activation,
    });
    return [{ op: index, kernel, offsets, touches, weights, perChannel: op.bias }];
  }
  const inCg = inC / op.groups;
  const outCg = outC / op.groups;
  // Bytes one output channel's weights (and its f32 bias) take: chunks are whole channels.
  const perChannelBytes = Math.max(kh * kw * inCg * bytesPerElement(ctx), 4);
  const chunks: { groupStart: number; groupCount: number; channelStart: number; channelCount: number }[] = [];
  const groupsPerChunk = Math.floor(ctx.maxBindingBytes / (perChannelBytes * outCg));
  if (groupsPerChunk >= 1) {
    for (let g = 0; g < op.groups; g += groupsPerChunk) {
      chunks.push({ groupStart: g, groupCount: Math.min(groupsPerChunk, op.groups - g), channelStart: 0, channelCount: outCg });
    }
  } else {
    const channelsPerChunk = Math.floor(ctx.maxBindingBytes / perChannelBytes);
    if (channelsPerChunk < 1) tooLarge(`plan.ops[${index}] one output channel of conv2d weights`, perChannelBytes, ctx);
    for (let g = 0; g < op.groups; g++) {
      for (let c = 0; c < outCg; c += channelsPerChunk) {
        chunks.push({ groupStart: g, groupCount: 1, channelStart: c, channelCount: Math.min(channelsPerChunk, outCg - c) });
      }
    }
  }
  return chunks.flatMap((chunk): Step[] => {
    const shape: ConvGemmShape = {
      n, inH, inW, inC, outH, outW, outC, kernel: op.kernel, stride: op.stride, padding: op.padding,
      dilation: op.dilation, groups: op.groups, residual, activation: op.activation, ...chunk,
    };
    const packed = packConvGemmWeights(op.weight, op.bias, shape);
    const plan = planConvGemm(shape);
    if (plan.kSplit === 1) {
      return [{ op: index, kernel: convGemmKernel(ctx, shape, plan), offsets, touches, weights: packed.weights, perChannel: packed.perChannel }];
    }
    // Split K: slices write partial sums to scratch, a second dispatch sums them and finishes the op.
    const scratchFloats = plan.kSplit * shape.groupCount * plan.M * plan.N;
    if (scratchFloats * 4 > ctx.maxBindingBytes) {
      return [{ op: index, kernel: convGemmKernel(ctx, shape, { ...plan, kSplit: 1, kSlice: Math.ceil(plan.K / 16) * 16 }), offsets, touches, weights: packed.weights, perChannel: packed.perChannel }];
    }
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
  });
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

export function lowerOp(op: PlanOp, index: number, ctx: LowerContext): Step[] {
  const io = (input: Slot, output: Slot, extra?: Slot): Pick<Step, 'offsets' | 'touches'> => ({
    offsets: [input.offset, output.offset, extra?.offset ?? 0, 0],
    touches: [range(input), range(output), ...(extra ? [range(extra)] : [])],
  });
  switch (op.kind) {
    case 'conv2d':
      return lowerConv(op, index, ctx);
    case 'linear':
      return lowerLinear(op, index, ctx);
    case 'pool2d': {
      const [n, inH, inW, channels] = op.input.shape;
      const [, outH, outW] = op.output.shape;
      const kernel = poolKernel(ctx, {
        n, inH, inW, channels, outH, outW, kernel: op.kernel, stride: op.stride, padding: op.padding,
        mode: op.mode, countIncludePad: op.countIncludePad, activation: op.activation,
      });
      return [{ op: index, kernel, ...io(op.input, op.output) }];
    }
    case 'adaptiveAvgPool2d': {
      const [n, inH, inW, channels] = op.input.shape;
      const [, outH, outW] = op.output.shape;
      return [{ op: index, kernel: adaptiveAvgPoolKernel(ctx, { n, inH, inW, channels, outH, outW }), ...io(op.input, op.output) }];
    }
    case 'add':
      return [{ op: index, kernel: addKernel(ctx, op.output.size, op.activation), ...io(op.a, op.output, op.b) }];
    case 'channelAffine':
      return [{
        op: index,
        kernel: channelAffineKernel(ctx, op.output.size, op.input.shape[3], op.activation),
        ...io(op.input, op.output),
        perChannel: concat(op.scale, op.shift),
      }];
    case 'activation':
      return [{ op: index, kernel: activationKernel(ctx, op.output.size, op.activation), ...io(op.input, op.output) }];
    case 'copyChannels':
      return [{
        op: index,
        kernel: copyChannelsKernel(ctx, op.input.size, op.input.shape[3], op.output.shape[3], op.channelOffset),
        ...io(op.input, op.output),
      }];
    case 'scaleChannels': {
      const [, h, w, c] = op.input.shape;
      return [{ op: index, kernel: scaleChannelsKernel(ctx, op.output.size, h * w, c), ...io(op.input, op.output, op.scale) }];
    }
    case 'layerNorm': {
      const c = op.input.shape[3];
      return [{
        op: index,
        kernel: layerNormKernel(ctx, op.input.size / c, c, op.eps, op.activation),
        ...io(op.input, op.output),
        perChannel: concat(op.weight, op.bias),
      }];
    }
    case 'localResponseNorm':
      return [{
        op: index,
        kernel: localResponseNormKernel(ctx, op.output.size, op.input.shape[3], op.size, op.alpha, op.beta, op.k),
        ...io(op.input, op.output),
      }];
  }
}
