// Normalisation templates over the channels of each pixel: LayerNorm (a workgroup per pixel,
// two-pass mean and variance through workgroup memory) and local response normalisation.
import type { Activation } from '@cnn/core';
import { activationFn, constants, entry, float, foldGrid, header, type Kernel, type TemplateContext } from './common.js';

const LN_THREADS = 64;

/** Offsets [x, y]; perChannel = [weight | bias]. */
export function layerNormKernel(ctx: TemplateContext, pixels: number, channels: number, eps: number, activation: Activation): Kernel {
  const grid = foldGrid(pixels, ctx.maxWorkgroupsPerDimension);
  const reduce = (name: string) => `  red[lid] = ${name};
  for (var stride = ${LN_THREADS / 2}u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) { red[lid] += red[lid + stride]; }
  }
  workgroupBarrier();`;
  const source = `${header(ctx, ['perChannel'])}
${constants({ PIXELS: pixels, C: channels })}
${activationFn(activation)}
var<workgroup> red: array<f32, ${LN_THREADS}>;
${entry(LN_THREADS, grid[0])}
  if (wg >= PIXELS) { return; }
  let base = wg * C;
  var s = 0.0;
  for (var c = lid; c < C; c += ${LN_THREADS}u) { s += f32(arena[off.x + base + c]); }
${reduce('s')}
  let mean = red[0] / f32(C);
  workgroupBarrier();
  var q = 0.0;
  for (var c = lid; c < C; c += ${LN_THREADS}u) {
    let d = f32(arena[off.x + base + c]) - mean;
    q += d * d;
  }
${reduce('q')}
  let inv = inverseSqrt(red[0] / f32(C) + ${float(eps)});
  for (var c = lid; c < C; c += ${LN_THREADS}u) {
    let v = (f32(arena[off.x + base + c]) - mean) * inv;
    arena[off.y + base + c] = T(act(v * perChannel[c] + perChannel[C + c]));
  }
}
`;
  return { name: 'layerNorm', source, bindings: ['perChannel'], grid };
}

const WORKGROUP = 256;

/** Offsets [x, y]: y_c = x_c / (k + alpha/size * sum of x^2 over the window)^beta. */
export function localResponseNormKernel(
  ctx: TemplateContext,
  total: number,
  channels: number,
  size: number,
  alpha: number,
  beta: number,
  k: number,
): Kernel {
  const grid = foldGrid(Math.ceil(total / WORKGROUP), ctx.maxWorkgroupsPerDimension);
  const source = `${header(ctx, [])}
${constants({ TOTAL: total, C: channels, BEFORE: Math.floor(size / 2), AFTER: Math.floor((size - 1) / 2) }, ['C', 'BEFORE', 'AFTER'])}
${entry(WORKGROUP, grid[0])}
  let i = wg * ${WORKGROUP}u + lid;
  if (i >= TOTAL) { return; }
  let c = i32(i % u32(C));
  let base = off.x + i - u32(c);
  var sum = 0.0;
  for (var j = max(0, c - BEFORE); j <= min(C - 1, c + AFTER); j++) {
    let v = f32(arena[base + u32(j)]);
    sum += v * v;
  }
  arena[off.y + i] = T(f32(arena[off.x + i]) / pow(${float(k)} + ${float(alpha / size)} * sum, ${float(beta)}));
}
`;
  return { name: 'localResponseNorm', source, bindings: [], grid };
}
