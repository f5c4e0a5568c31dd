// Reference kernels over a Float32Array arena: straightforward loops, double-precision
// accumulation, no cleverness. Slots CHANNEL_VIEW_FIELDS allows may be channel views (strided
// by pixelStride). The wasm and WebGPU backends are tested against these.
import type {
  AdaptiveAvgPool2dOp,
  AddOp,
  ActivationOp,
  ChannelAffineOp,
  Conv2dOp,
  CopyChannelsOp,
  FakeQuantizeOp,
  LayerNormOp,
  LinearOp,
  LocalResponseNormOp,
  Pool2dOp,
  ScaleChannelsOp,
} from '@cnn/core';
import { adaptiveCell, fakeQuantizeScales, pixelStride } from '@cnn/core';
import { activationFunction } from './activations.js';

export function conv2d(arena: Float32Array, op: Conv2dOp): void {
  const [n, inH, inW, inC] = op.input.shape;
  const [, outH, outW, outC] = op.output.shape;
  const [kh, kw] = op.kernel;
  const [sh, sw] = op.stride;
  const [pt, pl] = op.padding;
  const [dh, dw] = op.dilation;
  const groups = op.groups;
  const inCg = inC / groups;
  const outCg = outC / groups;
  const act = activationFunction(op.activation);
  const x = op.input.offset;
  const y = op.output.offset;
  const r = op.residual?.offset;
  const w = op.weight;
  const yStride = pixelStride(op.output);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const pixel = (b * outH + oy) * outW + ox;
        const outBase = y + pixel * yStride;
        for (let oc = 0; oc < outC; oc++) {
          const g = Math.floor(oc / outCg);
          let acc = op.bias[oc];
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= inH) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * sw - pl + kx * dw;
              if (ix < 0 || ix >= inW) continue;
              const inBase = x + ((b * inH + iy) * inW + ix) * inC + g * inCg;
              const wBase = ((oc * inCg) * kh + ky) * kw + kx;
              for (let ic = 0; ic < inCg; ic++) {
                acc += arena[inBase + ic] * w[wBase + ic * kh * kw];
              }
            }
          }
          if (r !== undefined) acc += arena[r + pixel * outC + oc];
          arena[outBase + oc] = act(acc);
        }
      }
    }
  }
}

export function linear(arena: Float32Array, op: LinearOp): void {
  const n = op.input.shape[0];
  const inF = op.input.size / n;
  const outF = op.output.size / n;
  const act = activationFunction(op.activation);
  for (let b = 0; b < n; b++) {
    const xi = op.input.offset + b * inF;
    for (let o = 0; o < outF; o++) {
      let acc = op.bias[o];
      const wi = o * inF;
      for (let i = 0; i < inF; i++) acc += arena[xi + i] * op.weight[wi + i];
      if (op.residual) acc += arena[op.residual.offset + b * outF + o];
      arena[op.output.offset + b * outF + o] = act(acc);
    }
  }
}

export function pool2d(arena: Float32Array, op: Pool2dOp): void {
  const [n, inH, inW, c] = op.input.shape;
  const [, outH, outW] = op.output.shape;
  const [kh, kw] = op.kernel;
  const [sh, sw] = op.stride;
  const [pt, pl] = op.padding;
  const act = activationFunction(op.activation);
  const yStride = pixelStride(op.output);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const y0 = oy * sh - pt;
        const x0 = ox * sw - pl;
        // PyTorch's divisor for count_include_pad counts padding but not cells past it
        // (ceil_mode windows are clipped to input + padding).
        const padY1 = Math.min(y0 + kh, inH + pt);
        const padX1 = Math.min(x0 + kw, inW + pl);
        const padCount = (padY1 - y0) * (padX1 - x0);
        for (let ch = 0; ch < c; ch++) {
          let acc = op.mode === 'max' ? -Infinity : 0;
          let count = 0;
          for (let iy = Math.max(y0, 0); iy < Math.min(y0 + kh, inH); iy++) {
            for (let ix = Math.max(x0, 0); ix < Math.min(x0 + kw, inW); ix++) {
              const v = arena[op.input.offset + ((b * inH + iy) * inW + ix) * c + ch];
              if (op.mode === 'max') acc = v > acc || Number.isNaN(v) ? v : acc;
              else acc += v;
              count++;
            }
          }
          if (op.mode === 'avg') acc /= op.countIncludePad ? padCount : count;
          arena[op.output.offset + ((b * outH + oy) * outW + ox) * yStride + ch] = act(acc);
        }
      }
    }
  }
}

export function adaptiveAvgPool2d(arena: Float32Array, op: AdaptiveAvgPool2dOp): void {
  const [n, inH, inW, c] = op.input.shape;
  const [, outH, outW] = op.output.shape;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < outH; oy++) {
      const [y0, y1] = adaptiveCell(oy, inH, outH);
      for (let ox = 0; ox < outW; ox++) {
        const [x0, x1] = adaptiveCell(ox, inW, outW);
        for (let ch = 0; ch < c; ch++) {
          let acc = 0;
          for (let iy = y0; iy < y1; iy++) {
            for (let ix = x0; ix < x1; ix++) {
              acc += arena[op.input.offset + ((b * inH + iy) * inW + ix) * c + ch];
            }
          }
          arena[op.output.offset + ((b * outH + oy) * outW + ox) * c + ch] =
            acc / ((y1 - y0) * (x1 - x0));
        }
      }
    }
  }
}

export function add(arena: Float32Array, op: AddOp): void {
  const act = activationFunction(op.activation);
  for (let i = 0; i < op.output.size; i++) {
    arena[op.output.offset + i] = act(arena[op.a.offset + i] + arena[op.b.offset + i]);
  }
}

export function channelAffine(arena: Float32Array, op: ChannelAffineOp): void {
  const act = activationFunction(op.activation);
  const c = op.input.shape[3];
  const xStride = pixelStride(op.input);
  for (let i = 0; i < op.output.size; i++) {
    const ch = i % c;
    const x = op.input.offset + Math.floor(i / c) * xStride + ch;
    arena[op.output.offset + i] = act(arena[x] * op.scale[ch] + op.shift[ch]);
  }
}

export function activation(arena: Float32Array, op: ActivationOp): void {
  const act = activationFunction(op.activation);
  for (let i = 0; i < op.output.size; i++) {
    arena[op.output.offset + i] = act(arena[op.input.offset + i]);
  }
}

/** Round half to even (IEEE's default, C's nearbyint, wasm's `nearest`, WGSL's `round`); NaN stays NaN. */
export function roundHalfToEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d !== 0.5) return d < 0.5 ? f : f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** torch.fake_quantize_per_tensor_affine in float32: x * invScale rounded, clamped, back to the grid. */
export function fakeQuantize(arena: Float32Array, op: FakeQuantizeOp): void {
  const { scale, invScale } = fakeQuantizeScales(op);
  const { zeroPoint, quantMin, quantMax } = op;
  for (let i = 0; i < op.output.size; i++) {
    const q = roundHalfToEven(Math.fround(arena[op.input.offset + i] * invScale)) + zeroPoint;
    arena[op.output.offset + i] = (Math.min(Math.max(q, quantMin), quantMax) - zeroPoint) * scale;
  }
}

export function copyChannels(arena: Float32Array, op: CopyChannelsOp): void {
  const inC = op.input.shape[3];
  const [xStride, yStride] = [pixelStride(op.input), pixelStride(op.output)];
  const pixels = op.input.size / inC;
  for (let p = 0; p < pixels; p++) {
    for (let ch = 0; ch < inC; ch++) {
      arena[op.output.offset + p * yStride + op.channelOffset + ch] = arena[op.input.offset + p * xStride + ch];
    }
  }
}

export function scaleChannels(arena: Float32Array, op: ScaleChannelsOp): void {
  const [n, h, w, c] = op.input.shape;
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < h * w; p++) {
      const base = (b * h * w + p) * c;
      for (let ch = 0; ch < c; ch++) {
        arena[op.output.offset + base + ch] = arena[op.input.offset + base + ch] * arena[op.scale.offset + b * c + ch];
      }
    }
  }
}

export function layerNorm(arena: Float32Array, op: LayerNormOp): void {
  const c = op.input.shape[3];
  const pixels = op.input.size / c;
  const act = activationFunction(op.activation);
  for (let p = 0; p < pixels; p++) {
    const base = p * c;
    let mean = 0;
    for (let ch = 0; ch < c; ch++) mean += arena[op.input.offset + base + ch];
    mean /= c;
    let variance = 0;
    for (let ch = 0; ch < c; ch++) variance += (arena[op.input.offset + base + ch] - mean) ** 2;
    variance /= c;
    const inv = 1 / Math.sqrt(variance + op.eps);
    for (let ch = 0; ch < c; ch++) {
      const v = (arena[op.input.offset + base + ch] - mean) * inv;
      arena[op.output.offset + base + ch] = act(v * op.weight[ch] + op.bias[ch]);
    }
  }
}

export function localResponseNorm(arena: Float32Array, op: LocalResponseNormOp): void {
  const c = op.input.shape[3];
  const pixels = op.input.size / c;
  const before = Math.floor(op.size / 2);
  const after = Math.floor((op.size - 1) / 2);
  for (let p = 0; p < pixels; p++) {
    const base = p * c;
    for (let ch = 0; ch < c; ch++) {
      let sum = 0;
      for (let j = Math.max(0, ch - before); j <= Math.min(c - 1, ch + after); j++) sum += arena[op.input.offset + base + j] ** 2;
      const div = (op.k + (op.alpha * sum) / op.size) ** op.beta;
      arena[op.output.offset + base + ch] = arena[op.input.offset + base + ch] / div;
    }
  }
}
