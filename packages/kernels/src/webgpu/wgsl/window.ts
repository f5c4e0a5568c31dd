// Sliding-window templates over NHWC, one thread per output element with the channel fastest
// so neighbouring threads read neighbouring floats: depthwise convolution (kernel size baked in,
// so 3x3, 5x5 and 7x7 unroll), max/avg pooling, adaptive average pooling, and a workgroup
// reduction for global pooling where a single thread would walk thousands of pixels.
import { adaptiveCell, type Activation } from '@cnn/core';
import { activationFn, constants, entry, foldGrid, header, type Kernel, type TemplateContext } from './common.js';

const WORKGROUP = 256;

interface WindowShape {
  n: number;
  inH: number;
  inW: number;
  channels: number;
  outH: number;
  outW: number;
  kernel: readonly [number, number];
  stride: readonly [number, number];
  padding: readonly [number, number];
}

function windowConstants(s: WindowShape, extra: Record<string, number> = {}): string {
  return constants(
    {
      TOTAL: s.n * s.outH * s.outW * s.channels,
      C: s.channels, IH: s.inH, IW: s.inW, OH: s.outH, OW: s.outW,
      KH: s.kernel[0], KW: s.kernel[1], SH: s.stride[0], SW: s.stride[1], PT: s.padding[0], PL: s.padding[1],
      ...extra,
    },
    ['IH', 'IW', 'KH', 'KW', 'SH', 'SW', 'PT', 'PL', 'DH', 'DW'],
  );
}

const decodeOutput = `  let i = wg * ${WORKGROUP}u + lid;
  if (i >= TOTAL) { return; }
  let c = i % C;
  let t = i / C;
  let ox = i32(t % OW);
  let t2 = t / OW;
  let oy = i32(t2 % OH);
  let b = t2 / OH;
  let inBase = off.x + b * u32(IH * IW) * C + c;
  let y0 = oy * SH - PT;
  let x0 = ox * SW - PL;`;

export interface DepthwiseShape extends WindowShape {
  dilation: readonly [number, number];
  residual: boolean;
  activation: Activation;
}

/** Offsets [x, y, r]; weights [ky][kx][C]; perChannel = bias [C]. */
export function depthwiseConvKernel(ctx: TemplateContext, s: DepthwiseShape): Kernel {
  const total = s.n * s.outH * s.outW * s.channels;
  const grid = foldGrid(Math.ceil(total / WORKGROUP), ctx.maxWorkgroupsPerDimension);
  const source = `${header(ctx, ['weights', 'perChannel'])}
${windowConstants(s, { DH: s.dilation[0], DW: s.dilation[1] })}
${activationFn(s.activation)}
${entry(WORKGROUP, grid[0])}
${decodeOutput}
  var acc = perChannel[c];
  for (var ky = 0; ky < KH; ky++) {
    let iy = y0 + ky * DH;
    if (iy < 0 || iy >= IH) { continue; }
    for (var kx = 0; kx < KW; kx++) {
      let ix = x0 + kx * DW;
      if (ix < 0 || ix >= IW) { continue; }
      acc += f32(arena[inBase + u32(iy * IW + ix) * C]) * f32(weights[u32(ky * KW + kx) * C + c]);
    }
  }
${s.residual ? '  acc += f32(arena[off.r + i]);\n' : ''}  arena[off.y + i] = T(act(acc));
}
`;
  return { name: `depthwise ${s.kernel[0]}x${s.kernel[1]}`, source, bindings: ['weights', 'perChannel'], grid };
}

/** torch [C, 1, kh, kw] -> [ky][kx][C]. */
export function packDepthwiseWeights(weight: Float32Array, channels: number, kh: number, kw: number): Float32Array {
  const out = new Float32Array(weight.length);
  for (let c = 0; c < channels; c++) {
    for (let t = 0; t < kh * kw; t++) out[t * channels + c] = weight[c * kh * kw + t];
  }
  return out;
}

export interface PoolShape extends WindowShape {
  /** floats between output pixels: channels, or more when the output is a channel view */
  outStride: number;
  mode: 'max' | 'avg';
  countIncludePad: boolean;
  activation: Activation;
}

/** Offsets [x, y]. Padded cells never win a max; avg divides as PyTorch's count_include_pad says. */
export function poolKernel(ctx: TemplateContext, s: PoolShape): Kernel {
  const total = s.n * s.outH * s.outW * s.channels;
  const grid = foldGrid(Math.ceil(total / WORKGROUP), ctx.maxWorkgroupsPerDimension);
  const max = s.mode === 'max';
  const divisor = s.countIncludePad
    ? // cells of the padded input under the window, not those past the padding (ceil_mode windows)
      '(min(y0 + KH, IH + PT) - y0) * (min(x0 + KW, IW + PL) - x0)'
    : '(yEnd - yStart) * (xEnd - xStart)';
  const source = `${header(ctx, [])}
${windowConstants(s, { YS: s.outStride })}
${activationFn(s.activation)}
${entry(WORKGROUP, grid[0])}
${decodeOutput}
  let yStart = max(y0, 0);
  let yEnd = min(y0 + KH, IH);
  let xStart = max(x0, 0);
  let xEnd = min(x0 + KW, IW);
  var acc = ${max ? '-3.402823466e38' : '0.0'};
  for (var iy = yStart; iy < yEnd; iy++) {
    for (var ix = xStart; ix < xEnd; ix++) {
      let v = f32(arena[inBase + u32(iy * IW + ix) * C]);
      ${max ? 'acc = max(acc, v);' : 'acc += v;'}
    }
  }
${max ? '' : `  acc /= f32(${divisor});\n`}  arena[off.y + t * YS + c] = T(act(acc));
}
`;
  return { name: `pool.${s.mode} ${s.kernel[0]}x${s.kernel[1]}`, source, bindings: [], grid };
}

export interface AdaptivePoolShape {
  n: number;
  inH: number;
  inW: number;
  channels: number;
  outH: number;
  outW: number;
}

/** Largest cell of PyTorch's adaptive pooling along one axis. */
function maxCell(inSize: number, outSize: number): number {
  let m = 0;
  for (let o = 0; o < outSize; o++) {
    const [start, end] = adaptiveCell(o, inSize, outSize);
    m = Math.max(m, end - start);
  }
  return m;
}

/** Channels per workgroup and pixel lanes of the reducing variant. */
const REDUCE_CHANNELS = 16;
const REDUCE_LANES = 16;

/**
 * Offsets [x, y]. Cell (oy, ox) spans [floor(oy*H/OH), ceil((oy+1)*H/OH)) rows and likewise
 * columns. Cells of 64 pixels or more (global pooling, squeeze-and-excitation) are summed by
 * REDUCE_LANES threads per channel and folded in workgroup memory.
 */
export function adaptiveAvgPoolKernel(ctx: TemplateContext, s: AdaptivePoolShape): Kernel {
  const cell = maxCell(s.inH, s.outH) * maxCell(s.inW, s.outW);
  return cell < 64 ? adaptiveAvgPoolDirect(ctx, s) : adaptiveAvgPoolReduce(ctx, s);
}

const adaptivePoolConstants = (s: AdaptivePoolShape, total: number) =>
  constants({ TOTAL: total, C: s.channels, IH: s.inH, IW: s.inW, OH: s.outH, OW: s.outW });

/** WGSL: the input window of output cell (oy, ox) and where its channel c starts in image b. */
const CELL_BOUNDS = `  let y0 = (oy * IH) / OH;
  let y1 = ((oy + 1u) * IH + OH - 1u) / OH;
  let x0 = (ox * IW) / OW;
  let x1 = ((ox + 1u) * IW + OW - 1u) / OW;
  let inBase = off.x + b * IH * IW * C + c;`;

/** Small cells: one thread per output element sums its window. */
function adaptiveAvgPoolDirect(ctx: TemplateContext, s: AdaptivePoolShape): Kernel {
  const total = s.n * s.outH * s.outW * s.channels;
  const grid = foldGrid(Math.ceil(total / WORKGROUP), ctx.maxWorkgroupsPerDimension);
  const source = `${header(ctx, [])}
${adaptivePoolConstants(s, total)}
${entry(WORKGROUP, grid[0])}
  let i = wg * ${WORKGROUP}u + lid;
  if (i >= TOTAL) { return; }
  let c = i % C;
  let t = i / C;
  let ox = t % OW;
  let oy = (t / OW) % OH;
  let b = t / (OW * OH);
${CELL_BOUNDS}
  var acc = 0.0;
  for (var iy = y0; iy < y1; iy++) {
    for (var ix = x0; ix < x1; ix++) { acc += f32(arena[inBase + (iy * IW + ix) * C]); }
  }
  arena[off.y + i] = T(acc / f32((y1 - y0) * (x1 - x0)));
}
`;
  return { name: 'adaptiveAvgPool', source, bindings: [], grid };
}

/** Large cells: a workgroup per (cell, REDUCE_CHANNELS channels), REDUCE_LANES lanes each, folded in workgroup memory. */
function adaptiveAvgPoolReduce(ctx: TemplateContext, s: AdaptivePoolShape): Kernel {
  const channelTiles = Math.ceil(s.channels / REDUCE_CHANNELS);
  const total = s.n * s.outH * s.outW * channelTiles;
  const grid = foldGrid(total, ctx.maxWorkgroupsPerDimension);
  const source = `${header(ctx, [])}
${adaptivePoolConstants(s, total)}
var<workgroup> partial: array<f32, ${REDUCE_CHANNELS * REDUCE_LANES}>;
${entry(REDUCE_CHANNELS * REDUCE_LANES, grid[0])}
  if (wg >= TOTAL) { return; }
  let cl = lid % ${REDUCE_CHANNELS}u;
  let lane = lid / ${REDUCE_CHANNELS}u;
  let c = (wg % ${channelTiles}u) * ${REDUCE_CHANNELS}u + cl;
  let cellIndex = wg / ${channelTiles}u;
  let ox = cellIndex % OW;
  let oy = (cellIndex / OW) % OH;
  let b = cellIndex / (OW * OH);
${CELL_BOUNDS}
  let width = x1 - x0;
  let count = (y1 - y0) * width;
  var acc = 0.0;
  if (c < C) {
    for (var p = lane; p < count; p += ${REDUCE_LANES}u) {
      acc += f32(arena[inBase + ((y0 + p / width) * IW + x0 + p % width) * C]);
    }
  }
  partial[lane * ${REDUCE_CHANNELS}u + cl] = acc;
  for (var stride = ${REDUCE_LANES / 2}u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lane < stride) { partial[lane * ${REDUCE_CHANNELS}u + cl] += partial[(lane + stride) * ${REDUCE_CHANNELS}u + cl]; }
  }
  if (lane == 0u && c < C) {
    arena[off.y + ((b * OH + oy) * OW + ox) * C + c] = T(partial[cl] / f32(count));
  }
}
`;
  return { name: 'adaptiveAvgPool.reduce', source, bindings: [], grid };
}
