// Training kernels with convolution and linear layers as GEMMs (im2col over the whole batch);
// everything else falls through to the reference, so this is a decorator over it, not a fork.
// The GEMM itself is a parameter: TypeScript here, wasm SIMD in ./wasm.ts.
import { gemm as gemmTs, view } from './gemm.js';
import { referenceKernels } from './reference.js';
import type { ConvGeometry, FloatArray, PoolGeometry, TrainKernels } from './types.js';

export type Gemm = typeof gemmTs;

const like = (a: FloatArray, length: number): FloatArray => (a instanceof Float64Array ? new Float64Array(length) : new Float32Array(length));

/** The output columns [lo, hi) whose input column ox·stride − pad + kx·dilation lies inside [0, inW). */
function validColumns(outW: number, inW: number, stride: number, pad: number, offset: number): [number, number] {
  const shift = offset - pad;
  const lo = Math.min(outW, Math.max(0, Math.ceil(-shift / stride)));
  const hi = Math.max(lo, Math.min(outW, Math.floor((inW - 1 - shift) / stride) + 1));
  return [lo, hi];
}

/**
 * Walks the im2col matrix of one group row by row: col[kk, n·P + p], kk over (input channel in
 * group, ky, kx), P = outH·outW. For each output row (b, oy) of each kk it calls
 * `visit(o, inside, src, lo, hi)`: col[o + ox] pairs with x[src + ox·stride] for ox in [lo, hi); the
 * other columns, and the whole row when it is not `inside` the input, lie in the padding. im2col and its adjoint share it
 * (as train_im2col_f32 does in Rust); the visit is per row, so the per-value loops stay closure-free.
 */
function forEachColRow(g: ConvGeometry, group: number, visit: (o: number, inside: boolean, src: number, lo: number, hi: number) => void): void {
  const { n, inC, inH, inW, outH, outW, kernel: [kh, kw], stride: [sh, sw], padding: [ph, pw], dilation: [dh, dw], groups } = g;
  const icg = inC / groups;
  const P = outH * outW;
  const NP = n * P;
  for (let ic = 0; ic < icg; ic++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const row = ((ic * kh + ky) * kw + kx) * NP;
        const [lo, hi] = validColumns(outW, inW, sw, pw, kx * dw);
        const shift = kx * dw - pw;
        for (let b = 0; b < n; b++) {
          const plane = (b * inC + group * icg + ic) * inH * inW;
          let o = row + b * P;
          for (let oy = 0; oy < outH; oy++, o += outW) {
            const iy = oy * sh - ph + ky * dh;
            visit(o, iy >= 0 && iy < inH, plane + iy * inW + shift, lo, hi);
          }
        }
      }
    }
  }
}

/** col = im2col(x) for one group. */
function im2col(g: ConvGeometry, x: FloatArray, group: number, col: FloatArray): void {
  const { outW, stride: [, sw] } = g;
  forEachColRow(g, group, (o, inside, src, lo, hi) => {
    // rows are short (tens of values): plain loops beat fill/set, which allocate views
    if (!inside) {
      for (let ox = 0; ox < outW; ox++) col[o + ox] = 0;
      return;
    }
    for (let ox = 0; ox < lo; ox++) col[o + ox] = 0;
    for (let ox = hi; ox < outW; ox++) col[o + ox] = 0;
    for (let ox = lo; ox < hi; ox++) col[o + ox] = x[src + ox * sw];
  });
}

/** The adjoint of im2col: dx += scatter(col). */
function col2im(g: ConvGeometry, col: FloatArray, group: number, dx: FloatArray): void {
  const sw = g.stride[1];
  forEachColRow(g, group, (o, inside, src, lo, hi) => {
    if (inside) for (let ox = lo; ox < hi; ox++) dx[src + ox * sw] += col[o + ox];
  });
}

/**
 * The forward pass's im2col matrix, kept for the weight gradient of the same step (keyed by the
 * input array, which the tape keeps alive until then); only single-group convolutions, whose
 * whole col is one buffer.
 */
const forwardCols = new WeakMap<FloatArray, { readonly key: string; readonly col: FloatArray }>();
const geometryKey = (g: ConvGeometry) => JSON.stringify(g);

/** dy [n, outC, P] -> [outC/groups, n·P] for one group, the layout the GEMMs want. */
function gatherGroup(g: ConvGeometry, dy: FloatArray, group: number, out: FloatArray): void {
  const P = g.outH * g.outW;
  const ocg = g.outC / g.groups;
  for (let o = 0; o < ocg; o++) {
    for (let b = 0; b < g.n; b++) {
      const src = (b * g.outC + group * ocg + o) * P;
      out.set(dy.subarray(src, src + P), (o * g.n + b) * P);
    }
  }
}

function conv2dWith(gemm: Gemm, g: ConvGeometry, x: FloatArray, w: FloatArray, bias: FloatArray | null, y: FloatArray): void {
  const K = (g.inC / g.groups) * g.kernel[0] * g.kernel[1];
  const P = g.outH * g.outW;
  const NP = g.n * P;
  const ocg = g.outC / g.groups;
  const col = like(x, K * NP);
  const out = like(x, ocg * NP);
  if (g.groups === 1) forwardCols.set(x, { key: geometryKey(g), col });
  for (let group = 0; group < g.groups; group++) {
    im2col(g, x, group, col);
    gemm(ocg, NP, K, view(w, group * ocg * K, K, 1), view(col, 0, NP, 1), out, 0, NP, false);
    for (let o = 0; o < ocg; o++) {
      const oc = group * ocg + o;
      const add = bias ? bias[oc] : 0;
      for (let b = 0; b < g.n; b++) {
        const src = (o * g.n + b) * P;
        const dst = (b * g.outC + oc) * P;
        for (let p = 0; p < P; p++) y[dst + p] = out[src + p] + add;
      }
    }
  }
}

function conv2dBackwardInputWith(gemm: Gemm, g: ConvGeometry, dy: FloatArray, w: FloatArray, dx: FloatArray): void {
  const K = (g.inC / g.groups) * g.kernel[0] * g.kernel[1];
  const NP = g.n * g.outH * g.outW;
  const ocg = g.outC / g.groups;
  const dyg = like(dy, ocg * NP);
  const dcol = like(dy, K * NP);
  for (let group = 0; group < g.groups; group++) {
    gatherGroup(g, dy, group, dyg);
    gemm(K, NP, ocg, view(w, group * ocg * K, 1, K), view(dyg, 0, NP, 1), dcol, 0, NP, false);
    col2im(g, dcol, group, dx);
  }
}

function conv2dBackwardWeightWith(gemm: Gemm, g: ConvGeometry, x: FloatArray, dy: FloatArray, dw: FloatArray, db: FloatArray | null): void {
  const K = (g.inC / g.groups) * g.kernel[0] * g.kernel[1];
  const NP = g.n * g.outH * g.outW;
  const ocg = g.outC / g.groups;
  const dyg = like(dy, ocg * NP);
  const cached = g.groups === 1 ? forwardCols.get(x) : undefined;
  const reuse = cached !== undefined && cached.key === geometryKey(g);
  const col = reuse ? cached.col : like(x, K * NP);
  const dwt = like(dw, K * ocg);
  for (let group = 0; group < g.groups; group++) {
    gatherGroup(g, dy, group, dyg);
    if (!reuse) im2col(g, x, group, col);
    // dwᵀ[K, ocg] = col[K, NP] · dygᵀ: the long operand (col) stays row-major, only the short dy is read strided
    gemm(K, ocg, NP, view(col, 0, NP, 1), view(dyg, 0, 1, NP), dwt, 0, ocg, false);
    for (let o = 0; o < ocg; o++) {
      const row = (group * ocg + o) * K;
      for (let kk = 0; kk < K; kk++) dw[row + kk] += dwt[kk * ocg + o];
    }
    if (db) {
      for (let o = 0; o < ocg; o++) {
        let s = 0;
        for (let i = o * NP, end = i + NP; i < end; i++) s += dyg[i];
        db[group * ocg + o] += s;
      }
    }
  }
}

function linearWith(gemm: Gemm, n: number, inF: number, outF: number, x: FloatArray, w: FloatArray, b: FloatArray | null, y: FloatArray): void {
  gemm(n, outF, inF, view(x, 0, inF, 1), view(w, 0, 1, inF), y, 0, outF, false);
  if (b) for (let r = 0; r < n; r++) for (let o = 0; o < outF; o++) y[r * outF + o] += b[o];
}

function linearBackwardInputWith(gemm: Gemm, n: number, inF: number, outF: number, dy: FloatArray, w: FloatArray, dx: FloatArray): void {
  gemm(n, inF, outF, view(dy, 0, outF, 1), view(w, 0, inF, 1), dx, 0, inF, true);
}

function linearBackwardWeightWith(gemm: Gemm, n: number, inF: number, outF: number, x: FloatArray, dy: FloatArray, dw: FloatArray, db: FloatArray | null): void {
  gemm(outF, inF, n, view(dy, 0, 1, outF), view(x, 0, inF, 1), dw, 0, inF, true);
  if (db) {
    for (let o = 0; o < outF; o++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += dy[r * outF + o];
      db[o] += s;
    }
  }
}

/** Convolution and linear kernels over any GEMM with the signature of ./gemm.ts; the rest is the reference. */
/** Non-overlapping k x k average pooling without padding (LeNet's subsampling), without per-window closures. */
function avgPool2d(g: PoolGeometry, x: FloatArray, y: FloatArray): void {
  if (!isTiling(g)) return referenceKernels.avgPool2d(g, x, y);
  const [k] = g.kernel;
  const scale = 1 / (k * k);
  for (let plane = 0; plane < g.n * g.c; plane++) {
    const xin = plane * g.inH * g.inW;
    const yout = plane * g.outH * g.outW;
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        let s = 0;
        for (let ky = 0; ky < k; ky++) {
          const r = xin + (oy * k + ky) * g.inW + ox * k;
          for (let kx = 0; kx < k; kx++) s += x[r + kx];
        }
        y[yout + oy * g.outW + ox] = s * scale;
      }
    }
  }
}

function avgPool2dBackward(g: PoolGeometry, dy: FloatArray, dx: FloatArray): void {
  if (!isTiling(g)) return referenceKernels.avgPool2dBackward(g, dy, dx);
  const [k] = g.kernel;
  const scale = 1 / (k * k);
  for (let plane = 0; plane < g.n * g.c; plane++) {
    const xin = plane * g.inH * g.inW;
    const yout = plane * g.outH * g.outW;
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        const share = dy[yout + oy * g.outW + ox] * scale;
        for (let ky = 0; ky < k; ky++) {
          const r = xin + (oy * k + ky) * g.inW + ox * k;
          for (let kx = 0; kx < k; kx++) dx[r + kx] += share;
        }
      }
    }
  }
}

const isTiling = (g: PoolGeometry) =>
  g.kernel[0] === g.kernel[1] && g.stride[0] === g.kernel[0] && g.stride[1] === g.kernel[1] && g.padding[0] === 0 && g.padding[1] === 0 &&
  g.outH * g.kernel[0] <= g.inH && g.outW * g.kernel[1] <= g.inW;

export function gemmKernels(name: string, gemm: Gemm): TrainKernels {
  return {
    ...referenceKernels,
    name,
    avgPool2d,
    avgPool2dBackward,
    conv2d: (...a) => conv2dWith(gemm, ...a),
    conv2dBackwardInput: (...a) => conv2dBackwardInputWith(gemm, ...a),
    conv2dBackwardWeight: (...a) => conv2dBackwardWeightWith(gemm, ...a),
    linear: (...a) => linearWith(gemm, ...a),
    linearBackwardInput: (...a) => linearBackwardInputWith(gemm, ...a),
    linearBackwardWeight: (...a) => linearBackwardWeightWith(gemm, ...a),
  };
}

/** The GEMM kernels with the TypeScript GEMM: no wasm needed, float32 or float64. */
export const fastKernels: TrainKernels = gemmKernels('fast', gemmTs);
