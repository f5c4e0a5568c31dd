// Elementwise templates: one thread per element, NHWC channel index from the flat index.
// add, channel affine, activation, channel copy (concatenation), channel scaling (SE gating),
// fake quantisation, and the f32 <-> f16 staging conversions.
import { fakeQuantizeScales, type Activation, type FakeQuantizeParams } from '@cnn/core';
import { activationFn, constants, entry, float, foldGrid, header, type Binding, type Kernel, type TemplateContext } from './common.js';

const WORKGROUP = 256;

function elementwise(
  name: string,
  ctx: TemplateContext,
  total: number,
  bindings: readonly Binding[],
  consts: Record<string, number>,
  body: string,
  activation: Activation = 'none',
): Kernel {
  const grid = foldGrid(Math.ceil(total / WORKGROUP), ctx.maxWorkgroupsPerDimension);
  const source = `${header(ctx, bindings)}
${constants({ TOTAL: total, ...consts })}
${activationFn(activation)}
${entry(WORKGROUP, grid[0])}
  let i = wg * ${WORKGROUP}u + lid;
  if (i >= TOTAL) { return; }
${body}
}
`;
  return { name, source, bindings, grid };
}

/** y = act(a + b); offsets [a, y, b]. */
export function addKernel(ctx: TemplateContext, total: number, activation: Activation): Kernel {
  return elementwise('add', ctx, total, [], {}, '  arena[off.y + i] = T(act(f32(arena[off.x + i]) + f32(arena[off.r + i])));', activation);
}

/** y = act(x * scale[c] + shift[c]); perChannel = [scale | shift]; offsets [x, y]; x's pixels `inStride` floats apart. */
export function channelAffineKernel(ctx: TemplateContext, total: number, channels: number, activation: Activation, inStride = channels): Kernel {
  return elementwise(
    'channelAffine',
    ctx,
    total,
    ['perChannel'],
    { C: channels, XS: inStride },
    '  let c = i % C;\n  arena[off.y + i] = T(act(f32(arena[off.x + (i / C) * XS + c]) * perChannel[c] + perChannel[C + c]));',
    activation,
  );
}

/** y = act(x); offsets [x, y]. */
export function activationKernel(ctx: TemplateContext, total: number, activation: Activation): Kernel {
  return elementwise('activation', ctx, total, [], {}, '  arena[off.y + i] = T(act(f32(arena[off.x + i])));', activation);
}

/**
 * Input pixel p, channel c goes to output channel CO + c; offsets [x, y]; pixels lie `inStride`
 * and `outStride` floats apart (the channel counts, or more for channel views). Copies without rounding.
 */
export function copyChannelsKernel(ctx: TemplateContext, total: number, inC: number, outStride: number, channelOffset: number, inStride = inC): Kernel {
  return elementwise(
    'copyChannels',
    ctx,
    total,
    [],
    { IC: inC, OS: outStride, CO: channelOffset, XS: inStride },
    '  let p = i / IC;\n  arena[off.y + p * OS + CO + i % IC] = arena[off.x + p * XS + i % IC];',
  );
}

/** y[b, p, c] = x[b, p, c] * s[b, c]; offsets [x, y, s]. */
export function scaleChannelsKernel(ctx: TemplateContext, total: number, pixels: number, channels: number): Kernel {
  return elementwise(
    'scaleChannels',
    ctx,
    total,
    [],
    { C: channels, PC: pixels * channels },
    '  arena[off.y + i] = T(f32(arena[off.x + i]) * f32(arena[off.r + (i / PC) * C + i % C]));',
  );
}

/**
 * y = (clamp(round(x * invScale) + zeroPoint, quantMin, quantMax) - zeroPoint) * scale in f32
 * (torch.fake_quantize_per_tensor_affine; WGSL's round() rounds half to even); offsets [x, y].
 */
export function fakeQuantizeKernel(ctx: TemplateContext, total: number, p: FakeQuantizeParams): Kernel {
  const { scale, invScale } = fakeQuantizeScales(p);
  const [zero, lo, hi] = [p.zeroPoint, p.quantMin, p.quantMax].map(float);
  return elementwise(
    'fakeQuantize',
    ctx,
    total,
    [],
    {},
    `  let q = round(f32(arena[off.x + i]) * ${float(invScale)}) + ${zero};\n  arena[off.y + i] = T((clamp(q, ${lo}, ${hi}) - ${zero}) * ${float(scale)});`,
  );
}

/** Staging (f16 mode): io[s + i] (f32) -> arena[y + i]. */
export function stageInKernel(ctx: TemplateContext, total: number): Kernel {
  return elementwise('stageIn', ctx, total, ['io'], {}, '  arena[off.y + i] = T(io[off.s + i]);');
}

/** Staging (f16 mode): arena[x + i] -> io[s + i] (f32). */
export function stageOutKernel(ctx: TemplateContext, total: number): Kernel {
  return elementwise('stageOut', ctx, total, ['io'], {}, '  io[off.s + i] = f32(arena[off.x + i]);');
}
