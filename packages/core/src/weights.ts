// Weights: fetched from bytes, a URL or a file, decoded to float32, and validated against the
// parameters an architecture declares, by torchvision state_dict key.
import type { ParameterSpec } from './graph.js';
import { WeightsError, describeValue, formatShape } from './errors.js';
import { LIMITS } from './limits.js';
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
  let url: URL | undefined;
  try {
    url = source instanceof URL ? source : /^[a-z][a-z0-9+.-]*:\/\//i.test(source) ? new URL(source) : undefined;
  } catch (e) {
    throw new WeightsError(`'${source}' is not a valid URL: ${(e as Error).message}`, { code: 'io', cause: e });
  }
  if (url === undefined || url.protocol === 'file:') {
    return (await import('#core/node')).readFileBytes(url ?? source);
  }
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    // fetch's own message ('fetch failed') names neither the URL nor the reason
    const cause = (e as Error).cause as Error | undefined;
    const reason = cause?.message ?? (e as Error).message;
    throw new WeightsError(`fetching weights from ${url.href} failed: ${reason}`, { code: 'io', cause: e });
  }
  if (!response.ok) throw new WeightsError(`fetching weights from ${url.href} failed: HTTP ${response.status} ${response.statusText}`, { code: 'io' });
  return new Uint8Array(await response.arrayBuffer());
}

/** Decodes every tensor of a source into float32, skipping integer counters. */
export async function decodeWeights(source: WeightsSource): Promise<{ tensors: Map<string, WeightTensor>; integerKeys: Set<string> }> {
  const tensors = new Map<string, WeightTensor>();
  const integerKeys = new Set<string>();
  if (typeof source === 'string' || source instanceof URL) return decodeWeights(await readSource(source));
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    const file = parseSafetensors(source);
    for (const entry of file.entries.values()) {
      if (entry.dtype === 'I64') integerKeys.add(entry.key);
      else tensors.set(entry.key, { shape: entry.shape, data: readFloat32(file, entry) });
    }
    return { tensors, integerKeys };
  }
  if (source instanceof Map) {
    for (const [k, v] of source) tensors.set(checkKey(k), checkTensor(k, v));
    return { tensors, integerKeys };
  }
  if (source === null || typeof source !== 'object' || Array.isArray(source)) {
    throw new WeightsError(
      `weights must be .safetensors bytes (ArrayBuffer or typed array), a URL, a file path, or a Map or record of { shape, data: Float32Array } tensors; got ${describeValue(source)}`,
    );
  }
  for (const [k, v] of Object.entries(source as Record<string, unknown>)) tensors.set(k, checkTensor(k, v));
  return { tensors, integerKeys };
}

function checkKey(k: unknown): string {
  if (typeof k !== 'string') throw new WeightsError(`weight map keys must be strings (torchvision state_dict keys), got ${describeValue(k)}`);
  return k;
}

/** A tensor handed in a Map or record: a shape of non-negative integers and float32 data of its size. */
function checkTensor(key: string, v: unknown): WeightTensor {
  if (v === null || typeof v !== 'object') throw new WeightsError(`'${key}': expected a tensor { shape, data: Float32Array }, got ${describeValue(v)}`);
  const { shape, data } = v as { shape?: unknown; data?: unknown };
  if (!Array.isArray(shape) || shape.length > LIMITS.tensorRank || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new WeightsError(`'${key}': shape must be an array of at most ${LIMITS.tensorRank} non-negative integers, got ${Array.isArray(shape) ? `[${shape.slice(0, 8).map((d) => describeValue(d)).join(', ')}]` : describeValue(shape)}`);
  }
  if (!(data instanceof Float32Array)) throw new WeightsError(`'${key}': data must be a Float32Array, got ${describeValue(data)}`);
  const size = shape.reduce((a: number, b: number) => a * b, 1);
  if (data.length !== size) throw new WeightsError(`'${key}': shape ${formatShape(shape)} needs ${size} values, data has ${data.length}`);
  return { shape, data };
}

/** Another variant of the same family, so a file meant for it can be recognised (lazily built). */
export interface VariantParameters {
  readonly name: string;
  /** parameter and buffer keys with their shapes */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /** keys a file may carry that the variant ignores (num_batches_tracked) */
  readonly ignoredKeys: ReadonlySet<string>;
}

/** The variant whose parameters the decoded file holds exactly (every key, every shape), if any. */
function recogniseVariant(
  decoded: { tensors: ReadonlyMap<string, WeightTensor>; integerKeys: ReadonlySet<string> },
  variants: () => Iterable<VariantParameters>,
): VariantParameters | undefined {
  for (const v of variants()) {
    let found = 0;
    let fits = true;
    for (const [key, t] of decoded.tensors) {
      const shape = v.shapes.get(key);
      if (shape === undefined) {
        if (!v.ignoredKeys.has(key)) fits = false;
      } else if (formatShape(shape) !== formatShape(t.shape)) fits = false;
      else found++;
      if (!fits) break;
    }
    for (const key of decoded.integerKeys) if (!v.ignoredKeys.has(key) && !v.shapes.has(key)) fits = false;
    if (fits && found === v.shapes.size) return v;
  }
  return undefined;
}

/**
 * Checks decoded tensors against the declared parameters; returns only the used ones. When
 * `variants` is given and the file holds exactly another variant's parameters, the error says
 * which, even under allowUnexpected (which exists for extra heads, not for loading part of a
 * bigger network).
 */
export function validateWeights(
  specs: readonly ParameterSpec[],
  ignoredKeys: ReadonlySet<string>,
  decoded: { tensors: ReadonlyMap<string, WeightTensor>; integerKeys: ReadonlySet<string> },
  options: LoadWeightsOptions = {},
  variants?: () => Iterable<VariantParameters>,
  modelName = 'this model',
): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  const missing: string[] = [];
  const problems: string[] = [];
  for (const spec of specs) {
    const t = decoded.tensors.get(spec.key);
    if (t === undefined) {
      if (decoded.integerKeys.has(spec.key)) problems.push(`'${spec.key}': expected a floating-point tensor ${formatShape(spec.shape)}, got dtype I64`);
      else missing.push(spec.key);
      continue;
    }
    const expected = spec.shape.reduce((a, b) => a * b, 1);
    if (formatShape(t.shape) !== formatShape(spec.shape) || t.data.length !== expected) {
      problems.push(`'${spec.key}': expected shape ${formatShape(spec.shape)}, got ${formatShape(t.shape)}`);
    }
    out.set(spec.key, t);
  }
  const declared = new Set(specs.map((s) => s.key));
  const unexpected = [...decoded.tensors.keys(), ...decoded.integerKeys].filter((k) => !declared.has(k) && !ignoredKeys.has(k));
  if (missing.length + problems.length + unexpected.length === 0) return out;

  const other = variants ? recogniseVariant(decoded, variants) : undefined;
  if (other) {
    const detail = [
      missing.length > 0 ? `${missing.length} key(s) missing` : '',
      unexpected.length > 0 ? `${unexpected.length} unexpected` : '',
      problems.length > 0 ? `${problems.length} shape(s) differ` : '',
    ].filter((s) => s.length > 0);
    throw new WeightsError(
      `the weights are ${other.name}'s (every key and shape matches it), not ${modelName}'s (${detail.join(', ')}): load them into ${other.name}`,
    );
  }
  if (problems.length > 0) throw new WeightsError(problems[0]);
  if (missing.length > 0) {
    const list = missing.slice(0, 8).map((k) => `'${k}'`).join(', ');
    throw new WeightsError(`missing ${missing.length} key(s): ${list}${missing.length > 8 ? ', ...' : ''}`);
  }
  if (!options.allowUnexpected) {
    const list = unexpected.slice(0, 8).map((k) => `'${k}'`).join(', ');
    throw new WeightsError(
      `unexpected ${unexpected.length} key(s): ${list}${unexpected.length > 8 ? ', ...' : ''} (pass { allowUnexpected: true } to ignore them)`,
    );
  }
  return out;
}

/** Deterministic weights for every declared parameter (tests, benchmarks, demos). */
export function generateWeights(specs: readonly ParameterSpec[], seed = 1): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  for (const spec of specs) out.set(spec.key, { shape: spec.shape, data: counterParameter(spec.key, spec.shape, seed) });
  return out;
}
