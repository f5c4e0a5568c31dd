// Matrix templates: convolution as an implicit GEMM tiled through workgroup memory
// (Y[M = n*oh*ow, N = out channels] = A[M, K = kh*kw*inC/groups] * B[K, N]), and the
// fully connected layer as a weight-streaming matrix-vector product.
//
// Three ways to read A, generated from one template:
// - pointwise: 1x1, stride 1, no padding: A is the NHWC input itself, a plain matrix.
// - tap-aligned: inC/groups is a multiple of the K tile, so a K tile never leaves one kernel tap
//   (every 3x3 of ResNet/VGG): the tap and the padding test are worked out once per tile and row.
// - general: each element decodes its (ky, kx, ic); stems with 3 input channels, odd group widths.
import type { Activation } from '@cnn/core';
import { activationFn, constants, entry, foldGrid, header, type Binding, type Kernel, type TemplateContext } from './common.js';

/** K tile depth. */
export const TILE_K = 16;

export interface ConvGemmShape {
  n: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kernel: readonly [number, number];
  stride: readonly [number, number];
  padding: readonly [number, number];
  dilation: readonly [number, number];
  groups: number;
  /** first group of this dispatch, how many groups it covers */
  groupStart: number;
  groupCount: number;
  /** channel range within each group that this dispatch (and its weight chunk) covers */
  channelStart: number;
  channelCount: number;
  residual: boolean;
  activation: Activation;
  /** floats between output (and residual) pixels: outC, or more when the output is a channel view */
  outStride: number;
}

export type ConvGemmVariant = 'pointwise' | 'tapAligned' | 'general';

export function convGemmVariant(s: ConvGemmShape): ConvGemmVariant {
  const inCg = s.inC / s.groups;
  const [kh, kw] = s.kernel;
  if (kh === 1 && kw === 1 && s.stride[0] === 1 && s.stride[1] === 1 && s.padding[0] === 0 && s.padding[1] === 0 && s.outH === s.inH && s.outW === s.inW) {
    return 'pointwise';
  }
  return inCg % TILE_K === 0 ? 'tapAligned' : 'general';
}

/**
 * The GEMM's tiling knobs. The defaults were set on small GPUs and SwiftShader; `bench:webgpu`'s
 * `--tunings` races alternatives on the GPU at hand (benchmarks/gpu/README.md).
 */
export interface ConvGemmTuning {
  /** output rows (pixels) per tile: 32, 64, or 'auto' (64 where that still leaves `wideTileMinTiles` tiles, else 32) */
  rowTile: 'auto' | 32 | 64;
  /** with rowTile 'auto': the fewest 64-row tiles a dispatch may have */
  wideTileMinTiles: number;
  /** a dispatch with fewer output tiles than this splits its K loop across workgroups (0: never) */
  splitKBelowTiles: number;
  /** workgroups a split aims at (tiles x slices) */
  splitKTargetWorkgroups: number;
  /** the shortest K slice a split makes */
  splitKMinSlice: number;
}

export const DEFAULT_CONV_GEMM_TUNING: Readonly<ConvGemmTuning> = Object.freeze({
  rowTile: 'auto',
  wideTileMinTiles: 256,
  splitKBelowTiles: 256,
  splitKTargetWorkgroups: 512,
  splitKMinSlice: 256,
});

/**
 * Checks a partial tuning (typed errors name the knob, what it takes and what came) and fills in
 * the defaults.
 */
export function resolveConvGemmTuning(t: Partial<ConvGemmTuning> | undefined): ConvGemmTuning {
  const out: ConvGemmTuning = { ...DEFAULT_CONV_GEMM_TUNING };
  if (t === undefined) return out;
  if (typeof t !== 'object' || t === null) throw new TypeError(`gemmTuning must be an object, got ${t === null ? 'null' : typeof t}`);
  for (const [key, value] of Object.entries(t)) {
    if (value === undefined) continue;
    if (key === 'rowTile') {
      if (value !== 'auto' && value !== 32 && value !== 64) throw new RangeError(`gemmTuning.rowTile must be 'auto', 32 or 64, got ${JSON.stringify(value)}`);
      out.rowTile = value;
    } else if (key === 'wideTileMinTiles' || key === 'splitKBelowTiles' || key === 'splitKTargetWorkgroups' || key === 'splitKMinSlice') {
      const least = key === 'splitKBelowTiles' || key === 'wideTileMinTiles' ? 0 : 1;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < least || value > 1 << 24) {
        throw new RangeError(`gemmTuning.${key} must be an integer from ${least} to ${1 << 24}, got ${JSON.stringify(value)}`);
      }
      out[key] = value;
    } else {
      throw new RangeError(`gemmTuning has no knob '${key}'; the knobs are ${Object.keys(DEFAULT_CONV_GEMM_TUNING).join(', ')}`);
    }
  }
  return out;
}

/** Output tile: rows (pixels) x columns (channels); each thread computes 4 x 4. */
function chooseTile(m: number, n: number, groups: number, t: ConvGemmTuning): [number, number] {
  const tn = n <= 16 ? 16 : n <= 32 ? 32 : 64;
  if (t.rowTile !== 'auto') return [t.rowTile, tn];
  // Big row tiles reuse weights best; fall back to 32 rows when that would leave a big GPU idle.
  const tm = Math.ceil(m / 64) * Math.ceil(n / tn) * groups >= t.wideTileMinTiles ? 64 : 32;
  return [tm, tn];
}

export interface ConvGemmPlan {
  M: number;
  N: number;
  K: number;
  tile: [number, number];
  /** K slices; above 1, partial sums go to scratch and splitKReduceKernel finishes the op */
  kSplit: number;
  /** K per slice (a multiple of TILE_K) */
  kSlice: number;
}

/**
 * Tiles and K split for one dispatch. Late layers at batch 1 (7x7 pixels, K in the thousands)
 * have too few output tiles to fill a large GPU: their K loop is split instead.
 */
export function planConvGemm(s: ConvGemmShape, tuning: ConvGemmTuning = DEFAULT_CONV_GEMM_TUNING): ConvGemmPlan {
  const M = s.n * s.outH * s.outW;
  const N = s.channelCount;
  const K = s.kernel[0] * s.kernel[1] * (s.inC / s.groups);
  const tile = chooseTile(M, N, s.groupCount, tuning);
  const tiles = Math.ceil(M / tile[0]) * Math.ceil(N / tile[1]) * s.groupCount;
  let kSplit = 1;
  if (tiles < tuning.splitKBelowTiles) {
    kSplit = Math.max(1, Math.min(Math.ceil(tuning.splitKTargetWorkgroups / tiles), Math.floor(K / tuning.splitKMinSlice)));
  }
  const kSlice = Math.ceil(Math.ceil(K / kSplit) / TILE_K) * TILE_K;
  return { M, N, K, tile, kSplit: Math.ceil(K / kSlice), kSlice };
}

/** Per-thread row bookkeeping, fixed for the whole K loop: which pixel each of its A rows reads. */
function convRowSetup(variant: ConvGemmVariant, loadsA: number, rowStep: number): string {
  return variant === 'pointwise'
      ? `  var rowBase: array<u32, ${loadsA}>;
  var rowOk: array<bool, ${loadsA}>;
  for (var i = 0u; i < ${loadsA}u; i++) {
    let m = tm * TM + lid / TK + i * ${rowStep}u;
    rowOk[i] = m < M;
    rowBase[i] = off.x + m * IC + (G0 + g) * ICG;
  }`
      : `  var pixBase: array<u32, ${loadsA}>;
  var iy0: array<i32, ${loadsA}>;
  var ix0: array<i32, ${loadsA}>;
  var rowOk: array<bool, ${loadsA}>;
  for (var i = 0u; i < ${loadsA}u; i++) {
    let m = tm * TM + lid / TK + i * ${rowStep}u;
    rowOk[i] = m < M;
    let ox = m % OW;
    let t = m / OW;
    let oy = t % OH;
    let b = t / OH;
    pixBase[i] = off.x + b * u32(IH * IW) * IC + (G0 + g) * ICG;
    iy0[i] = i32(oy) * SH - PT;
    ix0[i] = i32(ox) * SW - PL;
  }`;
}

/** One K column of the A tile (input pixels x reduction index) into workgroup memory, per variant. */
function convLoadA(variant: ConvGemmVariant, loadsA: number, rowStep: number, TM: number): string {
  const loads: Record<ConvGemmVariant, string> = {
    pointwise: `    let k = k0 + kc;
    for (var i = 0u; i < ${loadsA}u; i++) {
      let row = lid / TK + i * ${rowStep}u;
      var v = 0.0;
      if (rowOk[i] && k < K) { v = f32(arena[rowBase[i] + k]); }
      As[kc * ${TM / 4}u + row / 4u][row % 4u] = v;
    }`,
    tapAligned: `    let tap = k0 / ICG;
    let ky = i32(tap / KW);
    let kx = i32(tap % KW);
    let ic = k0 % ICG + kc;
    for (var i = 0u; i < ${loadsA}u; i++) {
      let row = lid / TK + i * ${rowStep}u;
      let iy = iy0[i] + ky * DH;
      let ix = ix0[i] + kx * DW;
      var v = 0.0;
      if (rowOk[i] && iy >= 0 && iy < IH && ix >= 0 && ix < IW) {
        v = f32(arena[pixBase[i] + u32(iy * IW + ix) * IC + ic]);
      }
      As[kc * ${TM / 4}u + row / 4u][row % 4u] = v;
    }`,
    general: `    let k = k0 + kc;
    let ic = k % ICG;
    let tap = k / ICG;
    let ky = i32(tap / KW);
    let kx = i32(tap % KW);
    for (var i = 0u; i < ${loadsA}u; i++) {
      let row = lid / TK + i * ${rowStep}u;
      let iy = iy0[i] + ky * DH;
      let ix = ix0[i] + kx * DW;
      var v = 0.0;
      if (rowOk[i] && k < K && iy >= 0 && iy < IH && ix >= 0 && ix < IW) {
        v = f32(arena[pixBase[i] + u32(iy * IW + ix) * IC + ic]);
      }
      As[kc * ${TM / 4}u + row / 4u][row % 4u] = v;
    }`,
  };
  return loads[variant];
}

/** One K step of the tile: the B tile (weights) into workgroup memory, then 4x4 outer products per thread. */
function convLoadBAndMultiply(loadsB: number, TM: number, TN: number): string {
  return `    for (var i = 0u; i < ${loadsB}u; i++) {
      let e = lid + i * THREADS;
      let col = e % TN;
      let kr = e / TN;
      let k = k0 + kr;
      let nn = tn * TN + col;
      var v = 0.0;
      if (k < K && nn < N) { v = f32(weights[(g * K + k) * N + nn]); }
      Bs[kr * ${TN / 4}u + col / 4u][col % 4u] = v;
    }
    workgroupBarrier();
    // Each K tile sums into fresh registers first: one sequential float32 sum over all of K
    // (VGG-16: 4,608 steps) put the logits 2.2x further from float64 than torchvision float32.
    var part = array<vec4<f32>, 4>(vec4<f32>(), vec4<f32>(), vec4<f32>(), vec4<f32>());
    for (var kk = 0u; kk < TK; kk++) {
      let a = As[kk * ${TM / 4}u + ty];
      let b = Bs[kk * ${TN / 4}u + tx];
      part[0] += a.x * b;
      part[1] += a.y * b;
      part[2] += a.z * b;
      part[3] += a.w * b;
    }
    acc[0] += part[0];
    acc[1] += part[1];
    acc[2] += part[2];
    acc[3] += part[3];
    workgroupBarrier();`;
}

/** Each thread's 4x4 outputs, written by `store` (final values, or raw partial sums with split K). */
function convStoreTile(store: string): string {
  return `  for (var i = 0u; i < 4u; i++) {
    let m = tm * TM + ty * 4u + i;
    if (m >= M) { break; }
    let rowOut = m * OS + (G0 + g) * OCG + CB;
    for (var j = 0u; j < 4u; j++) {
      let nn = tn * TN + tx * 4u + j;
      if (nn < N) {
${store}
      }
    }
  }`;
}

/**
 * Offsets [x, y, r]; weights [group][K][N] for this dispatch's groups and channels; perChannel = bias [group][N].
 * With plan.kSplit > 1 it writes raw partial sums to scratch[((slice * groups + g) * M + m) * N + n] instead.
 */
export function convGemmKernel(ctx: TemplateContext, s: ConvGemmShape, plan: ConvGemmPlan = planConvGemm(s)): Kernel {
  const variant = convGemmVariant(s);
  const { M, N, K, kSplit } = plan;
  const [TM, TN] = plan.tile;
  const split = kSplit > 1;
  const threads = (TM / 4) * (TN / 4);
  const total = Math.ceil(M / TM) * Math.ceil(N / TN) * s.groupCount * kSplit;
  const grid = foldGrid(total, ctx.maxWorkgroupsPerDimension);
  const loadsA = (TM * TILE_K) / threads;
  const loadsB = (TILE_K * TN) / threads;
  const rowStep = threads / TILE_K;

  const rowSetup = convRowSetup(variant, loadsA, rowStep);
  const loadA = convLoadA(variant, loadsA, rowStep, TM);
  const bindings: Binding[] = split ? ['weights', 'scratch'] : ['weights', 'perChannel'];
  const source = `${header(ctx, bindings)}
${convGemmConstants(s, plan, threads, total)}
${activationFn(s.activation)}
var<workgroup> As: array<vec4<f32>, ${(TILE_K * TM) / 4}>;
var<workgroup> Bs: array<vec4<f32>, ${(TILE_K * TN) / 4}>;
${entry(threads, grid[0])}
  if (wg >= TOTAL) { return; }
  let tn = wg % TILES_N;
  let tm = (wg / TILES_N) % TILES_M;
  let g = (wg / (TILES_N * TILES_M)) % GROUPS;
  let ks = wg / (TILES_N * TILES_M * GROUPS);
  let kc = lid % TK;
  let tx = lid % ${TN / 4}u;
  let ty = lid / ${TN / 4}u;
${rowSetup}
  var acc: array<vec4<f32>, 4>;
  let kEnd = min(K, (ks + 1u) * KSLICE);
  for (var k0 = ks * KSLICE; k0 < kEnd; k0 += TK) {
${loadA}
${convLoadBAndMultiply(loadsB, TM, TN)}
  }
${convStoreTile(convEpilogue(s, split))}
}
`;
  return { name: `conv.${variant} ${TM}x${TN}${split ? ` splitK${kSplit}` : ''} ${s.kernel[0]}x${s.kernel[1]}`, source, bindings, grid };
}

/** The shape and tiling as WGSL constants; the window arithmetic ones are i32. */
function convGemmConstants(s: ConvGemmShape, plan: ConvGemmPlan, threads: number, total: number): string {
  const { M, N, K, kSlice } = plan;
  const [TM, TN] = plan.tile;
  return constants(
    {
      M, N, K, TM, TN, TK: TILE_K, THREADS: threads, TILES_M: Math.ceil(M / TM), TILES_N: Math.ceil(N / TN), TOTAL: total,
      GROUPS: s.groupCount, KSLICE: kSlice,
      IH: s.inH, IW: s.inW, IC: s.inC, ICG: s.inC / s.groups, OH: s.outH, OW: s.outW, OS: s.outStride, OCG: s.outC / s.groups,
      KW: s.kernel[1], SH: s.stride[0], SW: s.stride[1], PT: s.padding[0], PL: s.padding[1], DH: s.dilation[0], DW: s.dilation[1],
      G0: s.groupStart, CB: s.channelStart,
    },
    ['IH', 'IW', 'SH', 'SW', 'PT', 'PL', 'DH', 'DW'],
  );
}

/** What each output does: a raw partial sum to scratch (split K), or bias, residual and activation into the arena. */
function convEpilogue(s: ConvGemmShape, split: boolean): string {
  return split
    ? '        scratch[((ks * GROUPS + g) * M + m) * N + nn] = acc[i][j];'
    : `        var v = acc[i][j] + perChannel[g * N + nn];
${s.residual ? '        v += f32(arena[off.r + rowOut + nn]);\n' : ''}        arena[off.y + rowOut + nn] = T(act(v));`;
}

/** Finishes a split-K convolution: sums the slices, adds bias and residual, applies the activation. Offsets [-, y, r]. */
export function splitKReduceKernel(ctx: TemplateContext, s: ConvGemmShape, plan: ConvGemmPlan): Kernel {
  const total = s.groupCount * plan.M * plan.N;
  const grid = foldGrid(Math.ceil(total / 256), ctx.maxWorkgroupsPerDimension);
  const bindings: Binding[] = ['perChannel', 'scratch'];
  const source = `${header(ctx, bindings)}
${constants({ TOTAL: total, M: plan.M, N: plan.N, S: plan.kSplit, OS: s.outStride, OCG: s.outC / s.groups, G0: s.groupStart, CB: s.channelStart })}
${activationFn(s.activation)}
${entry(256, grid[0])}
  let i = wg * 256u + lid;
  if (i >= TOTAL) { return; }
  let nn = i % N;
  let m = (i / N) % M;
  let g = i / (N * M);
  var v = perChannel[g * N + nn];
  for (var k = 0u; k < S; k++) { v += scratch[k * TOTAL + i]; }
  let o = m * OS + (G0 + g) * OCG + CB + nn;
${s.residual ? '  v += f32(arena[off.r + o]);\n' : ''}  arena[off.y + o] = T(act(v));
}
`;
  return { name: 'conv.splitKReduce', source, bindings, grid };
}

/** Packs torch [outC, inC/groups, kh, kw] into this dispatch's [group][K = (ky, kx, ic)][N] and its bias. */
export function packConvGemmWeights(
  weight: Float32Array,
  bias: Float32Array,
  s: ConvGemmShape,
): { weights: Float32Array; perChannel: Float32Array } {
  const inCg = s.inC / s.groups;
  const outCg = s.outC / s.groups;
  const [kh, kw] = s.kernel;
  const K = kh * kw * inCg;
  const N = s.channelCount;
  const out = new Float32Array(s.groupCount * K * N);
  const b = new Float32Array(s.groupCount * N);
  for (let gl = 0; gl < s.groupCount; gl++) {
    for (let n = 0; n < N; n++) {
      const oc = (s.groupStart + gl) * outCg + s.channelStart + n;
      b[gl * N + n] = bias[oc];
      for (let ic = 0; ic < inCg; ic++) {
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            const k = (ky * kw + kx) * inCg + ic;
            out[(gl * K + k) * N + n] = weight[((oc * inCg + ic) * kh + ky) * kw + kx];
          }
        }
      }
    }
  }
  return { weights: out, perChannel: b };
}

const LINEAR_THREADS = 64;
const LINEAR_ROWS = 4;
const LINEAR_BATCH_TILE = 8;

export interface LinearShape {
  batch: number;
  inF: number;
  outF: number;
  /** the rows [rowStart, rowStart + rowCount) of the weight that this dispatch's chunk holds */
  rowStart: number;
  rowCount: number;
  residual: boolean;
  activation: Activation;
}

/**
 * Each workgroup streams LINEAR_ROWS weight rows once for up to LINEAR_BATCH_TILE images,
 * 64 threads striding along K, then reduces through workgroup memory.
 * Offsets [x, y, r]; weights = rows [rowStart, +rowCount) of [outF, inF]; perChannel = their bias.
 */
export function linearKernel(ctx: TemplateContext, s: LinearShape): Kernel {
  const bt = Math.min(s.batch, LINEAR_BATCH_TILE);
  const rowGroups = Math.ceil(s.rowCount / LINEAR_ROWS);
  const batchTiles = Math.ceil(s.batch / bt);
  const grid = foldGrid(rowGroups * batchTiles, ctx.maxWorkgroupsPerDimension);
  const R = LINEAR_ROWS;
  const P = R * bt;
  const source = `${header(ctx, ['weights', 'perChannel'])}
${constants({ NB: s.batch, INF: s.inF, OUTF: s.outF, ROWS: s.rowCount, R0: s.rowStart, RG: rowGroups, TOTAL: rowGroups * batchTiles, BT: bt })}
${activationFn(s.activation)}
var<workgroup> partial: array<f32, ${P * LINEAR_THREADS}>;
${entry(LINEAR_THREADS, grid[0])}
  if (wg >= TOTAL) { return; }
  let rg = wg % RG;
  let b0 = (wg / RG) * BT;
  var acc: array<f32, ${P}>;
  for (var i = lid; i < INF; i += ${LINEAR_THREADS}u) {
    var xv: array<f32, ${bt}>;
    for (var b = 0u; b < BT; b++) {
      if (b0 + b < NB) { xv[b] = f32(arena[off.x + (b0 + b) * INF + i]); }
    }
    for (var r = 0u; r < ${R}u; r++) {
      let row = rg * ${R}u + r;
      if (row < ROWS) {
        let w = f32(weights[row * INF + i]);
        for (var b = 0u; b < BT; b++) { acc[r * BT + b] += w * xv[b]; }
      }
    }
  }
  for (var p = 0u; p < ${P}u; p++) { partial[p * ${LINEAR_THREADS}u + lid] = acc[p]; }
  for (var stride = ${LINEAR_THREADS / 2}u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) {
      for (var p = 0u; p < ${P}u; p++) { partial[p * ${LINEAR_THREADS}u + lid] += partial[p * ${LINEAR_THREADS}u + lid + stride]; }
    }
  }
  workgroupBarrier();
  if (lid < ${P}u) {
    let row = rg * ${R}u + lid / BT;
    let b = b0 + lid % BT;
    if (row < ROWS && b < NB) {
      let o = b * OUTF + R0 + row;
      var v = partial[lid * ${LINEAR_THREADS}u] + perChannel[row];
${s.residual ? '      v += f32(arena[off.r + o]);\n' : ''}      arena[off.y + o] = T(act(v));
    }
  }
}
`;
  return { name: 'linear', source, bindings: ['weights', 'perChannel'], grid };
}
