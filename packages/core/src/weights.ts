// Weights in memory: the tensor types, validation against the parameters an architecture declares
// (by torchvision state_dict key) and the generated test weights. Reading files is weights-decode.ts.
import type { ByteSource } from './byte-source.js';
import type { ParameterSpec } from './graph.js';
import { WeightsError, formatShape } from './errors.js';
import type { ReadSourceOptions } from './source.js';
import { counterParameter } from './counter-weights.js';

export interface WeightTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
  /**
   * true when the one consumer that compiles these weights may keep `data` and modify it: it is
   * decoded anew on each access, or it lies in bytes the loader downloaded itself and nobody
   * reads after compile (weights loaded without keepWeights)
   */
  readonly fresh?: boolean;
}

export type WeightMap = ReadonlyMap<string, WeightTensor>;

/** Bytes of a .safetensors or PyTorch file, a URL to fetch, a file path (Node), or tensors already in memory. */
export type WeightsSource =
  | ArrayBuffer
  | ArrayBufferView
  | URL
  | string
  | ReadonlyMap<string, WeightTensor>
  | Readonly<Record<string, WeightTensor>>;

export interface LoadWeightsOptions extends ReadSourceOptions {
  /** accept keys the architecture does not use (e.g. a checkpoint with an extra head); default false */
  allowUnexpected?: boolean;
  /**
   * keep the loaded weights after compile (to compile again, or for getWeights); default false:
   * after the first compile only the backend's packed copy remains
   */
  keepWeights?: boolean;
  /** check the CRC-32 of every entry of a PyTorch zip checkpoint; default true */
  verifyCrc?: boolean;
  /** where weights names ('DEFAULT', 'IMAGENET1K_V1') are fetched from instead of https://download.pytorch.org/models/ */
  weightsBaseUrl?: string;
  /**
   * readers of formats other than .safetensors (the built-in one): `[pthReader]` from
   * '@cnn/core/pth' reads torch.save checkpoints. In Node every reader is built in.
   */
  readers?: readonly WeightsReader[];
}

/** A reader of a weights format other than .safetensors, e.g. `pthReader` from '@cnn/core/pth'. */
export interface WeightsReader {
  /** the format it reads: 'pytorch' (torch.save zip and legacy files) */
  readonly format: 'pytorch';
  decode(source: ByteSource, options: DecodeSourceOptions): DecodedWeights;
}

export type WeightsFormat = 'safetensors' | 'pytorch-zip' | 'pytorch-legacy' | 'tensors';

/** An integer tensor (e.g. batch norm's num_batches_tracked): raw little-endian bytes. */
export interface IntegerTensor {
  readonly dtype: 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

export interface DecodedWeights {
  /** floating-point tensors as float32 (views into the file where possible, decoded on access otherwise) */
  tensors: Map<string, WeightTensor>;
  /** keys of integer tensors, which are not weights */
  integerKeys: Set<string>;
  /** the integer tensors' values (kept for conversion) */
  integers: Map<string, IntegerTensor>;
  format: WeightsFormat;
  /** what was unwrapped or skipped to reach the state dict (checkpoint['state_dict'], prefix 'module.') */
  notes: string[];
}

/**
 * A tensor stored as float16, bfloat16, float64, int8 with scales, or strided: decoded to a new
 * float32 array on every access of `data`, so only the consumer's copy (the compile plan) stays.
 */
export class LazyWeightTensor implements WeightTensor {
  constructor(
    readonly shape: readonly number[],
    readonly dtype: string,
    private readonly decode: () => Float32Array,
  ) {}
  get data(): Float32Array {
    return this.decode();
  }
  readonly fresh = true;
  get length(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

const numelOf = (t: WeightTensor) => (t instanceof LazyWeightTensor ? t.length : t.data.length);

/** Suffix of the float32 per-output-channel scales stored beside an I8 tensor (`cnn convert --dtype int8`). */
export const INT8_SCALE_SUFFIX = '.__scale';

export interface DecodeSourceOptions {
  /** check the CRC-32 of zip entries; default true */
  verifyCrc?: boolean;
  /** the bytes belong to the loader alone: float32 views are marked `fresh` for the one consumer that compiles them */
  ownBytes?: boolean;
  /** readers of formats other than .safetensors (LoadWeightsOptions.readers) */
  readers?: readonly WeightsReader[];
}

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
  const { out, missing, problems } = matchSpecs(specs, decoded);
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
  if (missing.length > 0) throw new WeightsError(`missing ${missing.length} key(s): ${firstKeys(missing)}`);
  if (!options.allowUnexpected) {
    throw new WeightsError(`unexpected ${unexpected.length} key(s): ${firstKeys(unexpected)} (pass { allowUnexpected: true } to ignore them)`);
  }
  return out;
}

/** Each declared parameter's tensor, and which are missing or have the wrong dtype or shape. */
function matchSpecs(
  specs: readonly ParameterSpec[],
  decoded: { tensors: ReadonlyMap<string, WeightTensor>; integerKeys: ReadonlySet<string> },
): { out: Map<string, WeightTensor>; missing: string[]; problems: string[] } {
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
    if (formatShape(t.shape) !== formatShape(spec.shape) || numelOf(t) !== expected) {
      problems.push(`'${spec.key}': expected shape ${formatShape(spec.shape)}, got ${formatShape(t.shape)}`);
    }
    out.set(spec.key, t);
  }
  return { out, missing, problems };
}

/** The first eight keys, quoted, and '...' when there are more. */
const firstKeys = (keys: readonly string[]) => `${keys.slice(0, 8).map((k) => `'${k}'`).join(', ')}${keys.length > 8 ? ', ...' : ''}`;

/** Deterministic weights for every declared parameter (tests, benchmarks, demos). */
export function generateWeights(specs: readonly ParameterSpec[], seed = 1): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  for (const spec of specs) out.set(spec.key, { shape: spec.shape, data: counterParameter(spec.key, spec.shape, seed) });
  return out;
}

/** A torchvision weights enum name ('DEFAULT', 'IMAGENET1K_V1'): upper case, digits and underscores, no dot or slash. */
export function isWeightsName(source: string): boolean {
  return /^[A-Z][A-Z0-9_]*$/.test(source);
}
