// The reference training kernels: direct loops written to be read, generic over float32 and float64.
import type { ConvGeometry, FloatArray, PoolGeometry, TrainActivation, TrainKernels } from './types.js';

function conv2d(g: ConvGeometry, x: FloatArray, w: FloatArray, b: FloatArray | null, y: FloatArray): void {
  const { n, inC, inH, inW, outC, outH, outW, kernel: [kh, kw], stride: [sh, sw], padding: [ph, pw], dilation: [dh, dw], groups } = g;
  const icg = inC / groups;
  const ocg = outC / groups;
  for (let b0 = 0; b0 < n; b0++) {
    for (let oc = 0; oc < outC; oc++) {
      const ic0 = Math.floor(oc / ocg) * icg;
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          let sum = b ? b[oc] : 0;
          for (let ic = 0; ic < icg; ic++) {
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * sh - ph + ky * dh;
              if (iy < 0 || iy >= inH) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * sw - pw + kx * dw;
                if (ix < 0 || ix >= inW) continue;
                sum += x[((b0 * inC + ic0 + ic) * inH + iy) * inW + ix] * w[((oc * icg + ic) * kh + ky) * kw + kx];
              }
            }
          }
          y[((b0 * outC + oc) * outH + oy) * outW + ox] = sum;
        }
      }
    }
  }
}

/** Visits every (output, input, weight) index triple of a convolution; the two gradients share it. */
function forEachConvTap(g: ConvGeometry, visit: (yi: number, xi: number, wi: number, oc: number) => void): void {
  const { n, inC, inH, inW, outC, outH, outW, kernel: [kh, kw], stride: [sh, sw], padding: [ph, pw], dilation: [dh, dw], groups } = g;
  const icg = inC / groups;
  const ocg = outC / groups;
  for (let b0 = 0; b0 < n; b0++) {
    for (let oc = 0; oc < outC; oc++) {
      const ic0 = Math.floor(oc / ocg) * icg;
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          const yi = ((b0 * outC + oc) * outH + oy) * outW + ox;
          for (let ic = 0; ic < icg; ic++) {
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * sh - ph + ky * dh;
              if (iy < 0 || iy >= inH) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * sw - pw + kx * dw;
                if (ix < 0 || ix >= inW) continue;
                visit(yi, ((b0 * inC + ic0 + ic) * inH + iy) * inW + ix, ((oc * icg + ic) * kh + ky) * kw + kx, oc);
              }
            }
          }
        }
      }
    }
  }
}

function conv2dBackwardInput(g: ConvGeometry, dy: FloatArray, w: FloatArray, dx: FloatArray): void {
  forEachConvTap(g, (yi, xi, wi) => {
    dx[xi] += dy[yi] * w[wi];
  });
}

function conv2dBackwardWeight(g: ConvGeometry, x: FloatArray, dy: FloatArray, dw: FloatArray, db: FloatArray | null): void {
  forEachConvTap(g, (yi, xi, wi) => {
    dw[wi] += dy[yi] * x[xi];
  });
  if (db) {
    const plane = g.outH * g.outW;
    for (let b0 = 0; b0 < g.n; b0++) {
      for (let oc = 0; oc < g.outC; oc++) {
        let s = 0;
        const base = (b0 * g.outC + oc) * plane;
        for (let p = 0; p < plane; p++) s += dy[base + p];
        db[oc] += s;
      }
    }
  }
}

function linear(n: number, inF: number, outF: number, x: FloatArray, w: FloatArray, b: FloatArray | null, y: FloatArray): void {
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i];
      y[r * outF + o] = s;
    }
  }
}

function linearBackwardInput(n: number, inF: number, outF: number, dy: FloatArray, w: FloatArray, dx: FloatArray): void {
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < inF; i++) {
      let s = 0;
      for (let o = 0; o < outF; o++) s += dy[r * outF + o] * w[o * inF + i];
      dx[r * inF + i] += s;
    }
  }
}

function linearBackwardWeight(n: number, inF: number, outF: number, x: FloatArray, dy: FloatArray, dw: FloatArray, db: FloatArray | null): void {
  for (let o = 0; o < outF; o++) {
    for (let i = 0; i < inF; i++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += dy[r * outF + o] * x[r * inF + i];
      dw[o * inF + i] += s;
    }
    if (db) {
      let s = 0;
      for (let r = 0; r < n; r++) s += dy[r * outF + o];
      db[o] += s;
    }
  }
}

/** Calls `visit(window index, clamped bounds, divisor)` for each pooling window, PyTorch's rules. */
function forEachWindow(
  g: PoolGeometry,
  visit: (plane: number, out: number, y0: number, y1: number, x0: number, x1: number, divisor: number) => void,
): void {
  const { n, c, inH, inW, outH, outW, kernel: [kh, kw], stride: [sh, sw], padding: [ph, pw], countIncludePad } = g;
  for (let plane = 0; plane < n * c; plane++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        let y0 = oy * sh - ph;
        let x0 = ox * sw - pw;
        let y1 = Math.min(y0 + kh, inH + ph);
        let x1 = Math.min(x0 + kw, inW + pw);
        const padded = (y1 - y0) * (x1 - x0);
        y0 = Math.max(y0, 0);
        x0 = Math.max(x0, 0);
        y1 = Math.min(y1, inH);
        x1 = Math.min(x1, inW);
        visit(plane, (plane * outH + oy) * outW + ox, y0, y1, x0, x1, countIncludePad ? padded : (y1 - y0) * (x1 - x0));
      }
    }
  }
}

function maxPool2d(g: PoolGeometry, x: FloatArray, y: FloatArray, argmax: Int32Array): void {
  const area = g.inH * g.inW;
  forEachWindow(g, (plane, out, y0, y1, x0, x1) => {
    let best = -Infinity;
    let at = -1;
    for (let iy = y0; iy < y1; iy++) {
      for (let ix = x0; ix < x1; ix++) {
        const i = plane * area + iy * g.inW + ix;
        // strict '>' keeps the first maximum, as PyTorch's kernel does; NaN wins, as there
        if (at < 0 || x[i] > best || Number.isNaN(x[i])) {
          best = x[i];
          at = i;
        }
      }
    }
    y[out] = best;
    argmax[out] = at;
  });
}

function maxPool2dBackward(_g: PoolGeometry, dy: FloatArray, argmax: Int32Array, dx: FloatArray): void {
  for (let o = 0; o < argmax.length; o++) if (argmax[o] >= 0) dx[argmax[o]] += dy[o];
}

function avgPool2d(g: PoolGeometry, x: FloatArray, y: FloatArray): void {
  const area = g.inH * g.inW;
  forEachWindow(g, (plane, out, y0, y1, x0, x1, divisor) => {
    let s = 0;
    for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) s += x[plane * area + iy * g.inW + ix];
    y[out] = s / divisor;
  });
}

function avgPool2dBackward(g: PoolGeometry, dy: FloatArray, dx: FloatArray): void {
  const area = g.inH * g.inW;
  forEachWindow(g, (plane, out, y0, y1, x0, x1, divisor) => {
    const share = dy[out] / divisor;
    for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) dx[plane * area + iy * g.inW + ix] += share;
  });
}

function batchNormStats(n: number, c: number, plane: number, x: FloatArray, stats: Float64Array): void {
  const m = n * plane;
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let b = 0; b < n; b++) for (let i = (b * c + ch) * plane, e = i + plane; i < e; i++) s += x[i];
    const mean = s / m;
    let v = 0;
    for (let b = 0; b < n; b++) {
      for (let i = (b * c + ch) * plane, e = i + plane; i < e; i++) {
        const d = x[i] - mean;
        v += d * d;
      }
    }
    stats[2 * ch] = mean;
    stats[2 * ch + 1] = v;
  }
}

function batchNormApply(n: number, c: number, plane: number, x: FloatArray, params: FloatArray, y: FloatArray): void {
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const [mean, invstd, gamma, beta] = params.subarray(4 * ch, 4 * ch + 4);
      for (let i = (b * c + ch) * plane, e = i + plane; i < e; i++) y[i] = (x[i] - mean) * invstd * gamma + beta;
    }
  }
}

function batchNormBackward(n: number, c: number, plane: number, x: FloatArray, dy: FloatArray, params: FloatArray, sums: Float64Array, dx: FloatArray | null, training: boolean): void {
  const m = n * plane;
  for (let ch = 0; ch < c; ch++) {
    const [mean, invstd, gamma] = params.subarray(4 * ch, 4 * ch + 3);
    let sumDy = 0;
    let sumDyXhat = 0;
    for (let b = 0; b < n; b++) {
      for (let i = (b * c + ch) * plane, e = i + plane; i < e; i++) {
        sumDy += dy[i];
        sumDyXhat += dy[i] * (x[i] - mean) * invstd;
      }
    }
    sums[2 * ch] = sumDy;
    sums[2 * ch + 1] = sumDyXhat;
    if (!dx) continue;
    const k = gamma * invstd;
    const a = training ? sumDy / m : 0;
    const bb = training ? sumDyXhat / m : 0;
    for (let b = 0; b < n; b++) {
      for (let i = (b * c + ch) * plane, e = i + plane; i < e; i++) dx[i] += k * (dy[i] - a - (x[i] - mean) * invstd * bb);
    }
  }
}

function activation(fn: TrainActivation, x: FloatArray, y: FloatArray): void {
  const len = x.length;
  switch (fn) {
    case 'relu':
      for (let i = 0; i < len; i++) y[i] = x[i] > 0 ? x[i] : 0;
      return;
    case 'relu6':
      for (let i = 0; i < len; i++) y[i] = Math.min(Math.max(x[i], 0), 6);
      return;
    case 'tanh':
      for (let i = 0; i < len; i++) y[i] = Math.tanh(x[i]);
      return;
    case 'sigmoid':
      for (let i = 0; i < len; i++) y[i] = 1 / (1 + Math.exp(-x[i]));
      return;
    case 'silu':
      for (let i = 0; i < len; i++) y[i] = x[i] / (1 + Math.exp(-x[i]));
      return;
  }
}

function activationBackward(fn: TrainActivation, x: FloatArray, y: FloatArray, dy: FloatArray, dx: FloatArray): void {
  const len = x.length;
  switch (fn) {
    case 'relu':
      for (let i = 0; i < len; i++) if (x[i] > 0) dx[i] += dy[i];
      return;
    case 'relu6':
      for (let i = 0; i < len; i++) if (x[i] > 0 && x[i] < 6) dx[i] += dy[i];
      return;
    case 'tanh':
      for (let i = 0; i < len; i++) dx[i] += dy[i] * (1 - y[i] * y[i]);
      return;
    case 'sigmoid':
      for (let i = 0; i < len; i++) dx[i] += dy[i] * y[i] * (1 - y[i]);
      return;
    case 'silu':
      for (let i = 0; i < len; i++) {
        const s = 1 / (1 + Math.exp(-x[i]));
        dx[i] += dy[i] * s * (1 + x[i] * (1 - s));
      }
      return;
  }
}

export const referenceKernels: TrainKernels = {
  name: 'reference',
  conv2d,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  linear,
  linearBackwardInput,
  linearBackwardWeight,
  maxPool2d,
  maxPool2dBackward,
  avgPool2d,
  avgPool2dBackward,
  batchNormStats,
  batchNormApply,
  batchNormBackward,
  activation,
  activationBackward,
};
