// Weights: fetched from bytes, a URL or a file, decoded to float32, and validated against the
// parameters an architecture declares, by torchvision state_dict key.
import type { ParameterSpec } from './graph.js';
import { WeightsError, formatShape } from './errors.js';
import { parseSafetensors, readFloat32 } from './safetensors.js';
import { counterParameter } from './counter-weights.js';

export interface WeightTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export type WeightMap = ReadonlyMap<string, WeightTensor>;

/** Bytes of a .safetensors file, a URL to fetch, a file path (Node), or tensors already in memory. */
export type WeightsSource =
  | ArrayBuffer
  | ArrayBufferView
  | URL
  | string
  | ReadonlyMap<string, WeightTensor>
  | Readonly<Record<string, WeightTensor>>;

export interface LoadWeightsOptions {
  /** accept keys the architecture does not use (e.g. a checkpoint with an extra head); default false */
  allowUnexpected?: boolean;
}

export async function readSource(source: URL | string): Promise<Uint8Array> {
  const url = source instanceof URL ? source : /^[a-z][a-z0-9+.-]*:\/\//i.test(source) ? new URL(source) : undefined;
  if (url === undefined || url.protocol === 'file:') {
    return (await import('#core/node')).readFileBytes(url ?? source);
  }
  const response = await fetch(url);
  if (!response.ok) throw new WeightsError(`fetching weights from ${url.href} failed: HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Decodes every tensor of a source into float32, skipping integer counters. */
export async function decodeWeights(source: WeightsSource): Promise<{ tensors: Map<string, WeightTensor>; integerKeys: Set<string> }> {
  const tensors = new Map<string, WeightTensor>();
  const integerKeys = new Set<string>();
  if (source instanceof Map) {
    for (const [k, v] of source) tensors.set(k, v);
    return { tensors, integerKeys };
  }
  if (typeof source === 'string' || source instanceof URL) return decodeWeights(await readSource(source));
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    const file = parseSafetensors(source);
    for (const entry of file.entries.values()) {
      if (entry.dtype === 'I64') integerKeys.add(entry.key);
      else tensors.set(entry.key, { shape: entry.shape, data: readFloat32(file, entry) });
    }
    return { tensors, integerKeys };
  }
  for (const [k, v] of Object.entries(source as Record<string, WeightTensor>)) tensors.set(k, v);
  return { tensors, integerKeys };
}

/** Checks decoded tensors against the declared parameters; returns only the used ones. */
export function validateWeights(
  specs: readonly ParameterSpec[],
  ignoredKeys: ReadonlySet<string>,
  decoded: { tensors: ReadonlyMap<string, WeightTensor>; integerKeys: ReadonlySet<string> },
  options: LoadWeightsOptions = {},
): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  const missing: string[] = [];
  for (const spec of specs) {
    const t = decoded.tensors.get(spec.key);
    if (t === undefined) {
      if (decoded.integerKeys.has(spec.key)) {
        throw new WeightsError(`'${spec.key}': expected a floating-point tensor ${formatShape(spec.shape)}, got dtype I64`);
      }
      missing.push(spec.key);
      continue;
    }
    const expected = spec.shape.reduce((a, b) => a * b, 1);
    if (formatShape(t.shape) !== formatShape(spec.shape) || t.data.length !== expected) {
      throw new WeightsError(`'${spec.key}': expected shape ${formatShape(spec.shape)}, got ${formatShape(t.shape)}`);
    }
    out.set(spec.key, t);
  }
  if (missing.length > 0) {
    const list = missing.slice(0, 8).map((k) => `'${k}'`).join(', ');
    throw new WeightsError(`missing ${missing.length} key(s): ${list}${missing.length > 8 ? ', ...' : ''}`);
  }
  if (!options.allowUnexpected) {
    const declared = new Set(specs.map((s) => s.key));
    const unexpected = [...decoded.tensors.keys(), ...decoded.integerKeys].filter((k) => !declared.has(k) && !ignoredKeys.has(k));
    if (unexpected.length > 0) {
      const list = unexpected.slice(0, 8).map((k) => `'${k}'`).join(', ');
      throw new WeightsError(
        `unexpected ${unexpected.length} key(s): ${list}${unexpected.length > 8 ? ', ...' : ''} (pass { allowUnexpected: true } to ignore them)`,
      );
    }
  }
  return out;
}

/** Deterministic weights for every declared parameter (tests, benchmarks, demos). */
export function generateWeights(specs: readonly ParameterSpec[], seed = 1): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  for (const spec of specs) out.set(spec.key, { shape: spec.shape, data: counterParameter(spec.key, spec.shape, seed) });
  return out;
}
