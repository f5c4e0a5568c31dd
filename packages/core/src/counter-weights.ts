// A seeded, counter-based value generator shared bit for bit with tools/golden/make_fixtures.py,
// so golden fixtures need no committed weights: both sides regenerate them from the key name.

const GOLDEN = 0x9e3779b9;

/** MurmurHash3's 32-bit finaliser. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over the UTF-8 bytes of the key. */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(key)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The i-th uniform value of a stream started by `streamBase`: in [0, 1), an exact multiple of 2^-24. */
const uniformAt = (base: number, i: number) => (fmix32((base + Math.imul(i, GOLDEN)) >>> 0) >>> 8) / 16777216;

/** Where a key's stream starts for a seed. */
const streamBase = (key: string, seed: number) => fmix32((keyHash(key) ^ seed) >>> 0);

/** Fills `out` with uniform values in [0, 1), each an exact multiple of 2^-24. */
export function counterUniform(key: string, seed: number, out: Float64Array): Float64Array {
  const base = streamBase(key, seed);
  for (let i = 0; i < out.length; i++) out[i] = uniformAt(base, i);
  return out;
}

/**
 * The value rule for a parameter, chosen by its torchvision key and shape:
 * - `running_mean`: 0.2·s; `running_var`: 0.5 + u (non-default statistics, so folding is tested)
 * - `layer_scale`: 0.1 + 0.1·u
 * - `bias`: 0.1·s
 * - other 1-D `weight` (norm layers): 1 + 0.25·s
 * - everything else: s·sqrt(3 / fanIn), fanIn = product of all dims but the first
 * where u is uniform in [0, 1) and s = 2u − 1. Values are computed in float64 and rounded to
 * float32 once, which numpy reproduces exactly.
 */
export function counterParameter(key: string, shape: readonly number[], seed = 1): Float32Array {
  const numel = shape.reduce((a, b) => a * b, 1);
  // values straight into float32, no float64 staging array: VGG's first classifier layer alone has 103 M
  const out = new Float32Array(numel);
  const base = streamBase(key, seed);
  const leaf = key.slice(key.lastIndexOf('.') + 1);
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  const limit = Math.sqrt(3 / fanIn);
  for (let i = 0; i < numel; i++) {
    const u = uniformAt(base, i);
    const s = 2 * u - 1;
    let v: number;
    if (leaf === 'running_mean') v = 0.2 * s;
    else if (leaf === 'running_var') v = 0.5 + u;
    else if (leaf === 'layer_scale') v = 0.1 + 0.1 * u;
    else if (leaf === 'bias') v = 0.1 * s;
    else if (leaf === 'weight' && shape.length === 1) v = 1 + 0.25 * s;
    else v = s * limit;
    out[i] = v;
  }
  return out;
}

/** A deterministic input in [-1, 1): the same rule as the golden script's input. */
export function counterInput(shape: readonly number[], seed = 1, key = 'input'): Float32Array {
  const numel = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(numel);
  const base = streamBase(key, seed);
  for (let i = 0; i < numel; i++) out[i] = 2 * uniformAt(base, i) - 1;
  return out;
}
