// Pieces every WGSL template shares: the binding layout, the element type, the folded
// dispatch grid and the activation epilogue.
import type { Activation } from '@cnn/core';

/** Storage precision of weights and activations; accumulation is always f32. */
export type Precision = 'f32' | 'f16';

/**
 * Bindings, identical in every kernel so one bind-group builder serves all of them:
 * 0 the op's window of the activation arena, 1 its offsets (uniform), 2 packed weights,
 * 3 f32 per-channel data (bias, scale/shift), 4 the f32 input/output staging buffer (f16 only),
 * 5 f32 scratch for split-K partial sums.
 */
export type Binding = 'weights' | 'perChannel' | 'io' | 'scratch';

/** Window-relative float offsets handed to a kernel through its uniform: [x, y, r, s]. */
export type Offsets = [number, number, number, number];

export interface Kernel {
  /** template and variant, for profiles and messages (e.g. 'conv.tapAligned 64x64') */
  name: string;
  /** WGSL source; also the pipeline cache key, since every shape constant is baked in */
  source: string;
  /** optional bindings the source declares (the arena and the offsets are always bound) */
  bindings: readonly Binding[];
  /** workgroups to dispatch, already folded to fit maxComputeWorkgroupsPerDimension */
  grid: [number, number, number];
}

export interface TemplateContext {
  precision: Precision;
  /** the device's maxComputeWorkgroupsPerDimension (or a smaller test override) */
  maxWorkgroupsPerDimension: number;
}

/**
 * Folds `count` workgroups into an x-y grid no side of which exceeds `max`. Kernels recover
 * the linear index as wid.x + wid.y * GX and return early past the end (uniformly: the
 * index depends on the workgroup id only, so barriers stay legal).
 */
export function foldGrid(count: number, max: number): [number, number, number] {
  if (count <= max) return [Math.max(count, 1), 1, 1];
  const gy = Math.ceil(count / max);
  if (gy > max) throw new Error(`a dispatch of ${count} workgroups exceeds ${max}^2; the op is too large for this device`);
  return [Math.ceil(count / gy), gy, 1];
}

/** `const NAME: u32 = v;` lines (or i32 where a value takes part in signed window arithmetic). */
export function constants(values: Record<string, number>, signed: readonly string[] = []): string {
  return Object.entries(values)
    .map(([name, v]) => {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`WGSL constant ${name} = ${v} is not a u32`);
      return signed.includes(name) ? `const ${name}: i32 = ${v};` : `const ${name}: u32 = ${v}u;`;
    })
    .join('\n');
}

/** Float literal that WGSL parses (always has a decimal point or exponent). */
export function float(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`WGSL float literal ${v} is not finite`);
  const s = String(Math.fround(v));
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

export function header(ctx: TemplateContext, bindings: readonly Binding[]): string {
  const t = ctx.precision;
  const lines = [
    t === 'f16' ? 'enable f16;' : '',
    `alias T = ${t};`,
    'struct Offsets { x: u32, y: u32, r: u32, s: u32 }',
    '@group(0) @binding(0) var<storage, read_write> arena: array<T>;',
    '@group(0) @binding(1) var<uniform> off: Offsets;',
  ];
  if (bindings.includes('weights')) lines.push('@group(0) @binding(2) var<storage, read> weights: array<T>;');
  if (bindings.includes('perChannel')) lines.push('@group(0) @binding(3) var<storage, read> perChannel: array<f32>;');
  if (bindings.includes('io')) lines.push('@group(0) @binding(4) var<storage, read_write> io: array<f32>;');
  if (bindings.includes('scratch')) lines.push('@group(0) @binding(5) var<storage, read_write> scratch: array<f32>;');
  return lines.filter(Boolean).join('\n');
}

/** WGSL for `fn act(v: f32) -> f32`, the epilogue of every op that carries an activation. */
export function activationFn(a: Activation): string {
  const body: Record<Activation, string> = {
    none: 'return v;',
    relu: 'return max(v, 0.0);',
    relu6: 'return clamp(v, 0.0, 6.0);',
    // tanh of a large argument overflows exp inside some drivers' tanh; it is exactly ±1 in f32 past 10.
    tanh: 'return tanh(clamp(v, -10.0, 10.0));',
    sigmoid: 'return 1.0 / (1.0 + exp(-v));',
    silu: 'return v / (1.0 + exp(-v));',
    hardswish: 'return v * clamp(v + 3.0, 0.0, 6.0) / 6.0;',
    hardsigmoid: 'return clamp(v + 3.0, 0.0, 6.0) / 6.0;',
    gelu: 'return 0.5 * v * (1.0 + erf(v * 0.70710678118654752));',
  };
  if (!(a in body)) throw new Error(`unknown activation '${a}'`);
  const erf =
    a === 'gelu'
      ? // Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, below f32 resolution of 1 + erf.
        `fn erf(x: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let p = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  let y = 1.0 - p * exp(-x * x);
  return select(-y, y, x >= 0.0);
}
`
      : '';
  return `${erf}fn act(v: f32) -> f32 { ${body[a]} }`;
}

/** Entry point of a kernel whose workgroups are folded by foldGrid. */
export function entry(workgroupSize: number, gx: number): string {
  return `@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.x + wid.y * ${gx}u;`;
}
