// Helpers for golden tests against torchvision fixtures (tools/golden/make_fixtures.py).
// Exposed as @cnn/core/testing so every architecture package checks itself the same way.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor } from './tensor.js';
import { counterInput } from './counter-weights.js';

// The generator's building blocks, for tests that check it against tools/golden/make_fixtures.py.
export { counterUniform, fmix32, keyHash } from './counter-weights.js';
import { parseSafetensors, readFloat32 } from './safetensors.js';
import { Runner, type Model } from './model.js';
import { compilePlan } from './scratch.js';
import { featureInfo, type FeatureInfo } from './family.js';
import type { Backend } from './plan.js';
import { validatePlan } from './validate-plan.js';
import type { WeightTensor } from './weights.js';
import { loadWeights } from './model-weights.js';

export interface GoldenTap {
  shape: number[];
  /** samples are every `stride`-th value of the NCHW-flattened tensor */
  stride: number;
  sample: number[];
  sum: number;
  absmax: number;
}

export interface GoldenFixture {
  model: string;
  case: string;
  seed: number;
  params: number;
  macs: number;
  input: { key: string; shape: number[] };
  logits: { shape: number[]; data: number[] };
  taps: Record<string, GoldenTap>;
  /** tensors tools/golden/calibrate.py replaces in the generated state (0 keys: none) */
  calibration?: { keys: number; shape: number[] | null; varianceScale?: number };
  [extra: string]: unknown;
}

/** Every golden case's logits must change at least this much (relative to max |logit|) between two inputs. */
export const MIN_INPUT_SENSITIVITY = 0.01;

/** max |a - b| / max |b|: the figure every backend's tolerance is stated in. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length mismatch: ${actual.length} vs ${expected.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - Math.fround(expected[i])));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / (scale || 1);
}

/** Relative error of a tap against the fixture's strided sample. */
export function tapError(actual: Tensor, tap: GoldenTap): number {
  if (actual.shape.join(',') !== tap.shape.join(',')) {
    throw new Error(`tap shape [${actual.shape.join(', ')}] differs from torchvision's [${tap.shape.join(', ')}]`);
  }
  const sampled = tap.sample.map((_, i) => actual.data[i * tap.stride]);
  return Math.max(relativeError(sampled, tap.sample), Math.abs(sum(actual.data) - tap.sum) / (tap.absmax * Math.sqrt(actual.data.length) || 1));
}

function sum(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

/**
 * Golden tolerances, as max |ours - torchvision| / max |torchvision|. The js reference
 * accumulates in float64, so only torch's own float32 rounding separates us; wasm and WebGPU
 * accumulate in float32 in another order than torch's kernels (and Winograd transforms).
 */
export const GOLDEN_TOLERANCE = { js: 1e-5, wasm: 1e-4, webgpu: 1e-4 } as const;

/** Every golden fixture in a package's fixtures folder, by file name. */
export function readFixtures(dir: URL): GoldenFixture[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => readFixture(dir, f));
}

const fixtureDirs = new WeakMap<GoldenFixture, URL>();

/** One fixture; `name` with or without `.json`. */
export function readFixture(dir: URL, name: string): GoldenFixture {
  const file = name.endsWith('.json') ? name : `${name}.json`;
  const fx = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as GoldenFixture;
  fixtureDirs.set(fx, dir);
  return fx;
}

// The golden tools live at <repository>/tools/golden; fixtures at <repository>/packages/<name>/fixtures/.
const goldenTools = (fx: GoldenFixture) => new URL('../../../tools/golden/', fixtureDirs.get(fx) ?? new URL('../fixtures/', import.meta.url));
/**
 * Where the tests find the machine's tools: the paths of Debian's packages (scripts/quickstart.sh
 * installs them), each overridable by an environment variable for other systems. The one place
 * that names them; the README's "Machine paths" section lists the same.
 */
export const machinePaths = {
  /** Python with torch, torchvision, PIL and skimage (python3-torch, python3-torchvision, ...) */
  python: process.env.CNN_PYTHON ?? '/usr/bin/python3',
  /** headless Chromium for the browser tests (chromium) */
  chromium: process.env.CNN_CHROMIUM ?? '/usr/bin/chromium',
  /** the SwiftShader Vulkan driver Dawn runs WebGPU on without a GPU (chromium) */
  swiftshaderIcd: process.env.CNN_SWIFTSHADER_ICD ?? '/usr/lib/chromium/vk_swiftshader_icd.json',
  /** real photographs (python3-skimage) */
  skimageData: process.env.CNN_SKIMAGE_DATA ?? '/usr/lib/python3/dist-packages/skimage/data',
};
const python = () => machinePaths.python;

/**
 * The tensors calibration replaces in the fixture's generated state (batch-norm running statistics,
 * or centred biases; see tools/golden/calibrate.py), computed by torchvision on first use and kept
 * under tools/golden/out/calibration/. The first call for a package calibrates every case of its
 * fixtures folder that lacks a file, in one Python process.
 */
export function calibrationOverrides(fx: GoldenFixture): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  if (!fx.calibration || fx.calibration.keys === 0) return out;
  const tools = goldenTools(fx);
  const fileOf = (c: string) => new URL(`out/calibration/${c}.safetensors`, tools);
  // A cached file belongs to the fixture it was computed for: a fixture regenerated after an
  // architecture change (its logits, shapes or counts change) makes the old statistics stale.
  const stampOf = (c: string) => new URL(`out/calibration/${c}.fixture-sha256`, tools);
  const digest = (f: GoldenFixture) => createHash('sha256').update(JSON.stringify(f)).digest('hex');
  const current = (f: GoldenFixture) => existsSync(fileOf(f.case)) && existsSync(stampOf(f.case)) && readFileSync(stampOf(f.case), 'utf8') === digest(f);
  if (!current(fx)) {
    const dir = fixtureDirs.get(fx);
    const siblings = dir ? readFixtures(dir).filter((f) => (f.calibration?.keys ?? 0) > 0 && f.case !== fx.case) : [];
    const stale = [fx, ...siblings].filter((f) => !current(f));
    try {
      execFileSync(python(), [fileURLToPath(new URL('calibrate.py', tools)), '--force', ...stale.map((f) => f.case)], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      const stderr = String((e as { stderr?: unknown }).stderr ?? '').trim().split('\n').slice(-3).join('\n');
      throw new Error(
        `calibrating golden case ${fx.case} needs ${python()} with torch and torchvision (Debian's python3-torch, python3-torchvision; scripts/quickstart.sh installs them): ${stderr || (e as Error).message}`,
      );
    }
    for (const f of stale) writeFileSync(stampOf(f.case), digest(f));
  }
  const file = parseSafetensors(readFileSync(fileOf(fx.case)));
  for (const entry of file.entries.values()) out.set(entry.key, { shape: entry.shape, data: readFloat32(file, entry) });
  if (out.size !== fx.calibration.keys) {
    throw new Error(`calibration of ${fx.case}: ${out.size} tensors in ${fileURLToPath(fileOf(fx.case))}, the fixture was made with ${fx.calibration.keys}; delete the file and its .fixture-sha256 stamp to recompute it`);
  }
  return out;
}

/** Replaces the calibrated tensors in a model that holds generated weights (no-op without calibration). */
export async function applyCalibration(model: Model, fx: GoldenFixture): Promise<Model> {
  const overrides = calibrationOverrides(fx);
  if (overrides.size === 0) return model;
  const merged = new Map(model.getWeights());
  for (const [key, t] of overrides) {
    if (!merged.has(key)) throw new Error(`calibration of ${fx.case} sets '${key}', which ${model.name} does not have`);
    merged.set(key, t);
  }
  await loadWeights(model, merged, { keepWeights: true });
  return model;
}

export interface GoldenRun {
  /** shape of the logits the runner returned */
  logitsShape: readonly number[];
  /** relativeError of the logits against the fixture */
  logitsError: number;
  /** tapError of each requested tap */
  tapErrors: Record<string, number>;
  /** max |logits(second input) - logits(fixture input)| / max |logits(fixture input)|, at least MIN_INPUT_SENSITIVITY */
  inputSensitivity: number;
}

/**
 * Compiles `model` (generated weights, seeded as the fixture says) for the fixture's batch and size
 * on `backend`, after replacing its calibrated tensors (applyCalibration); runs the fixture's
 * counter input and measures the logits and `taps` against torchvision. It also runs a second
 * input and throws when the logits barely move: a comparison of input-independent logits could
 * not fail, whatever the backend got wrong.
 */
export async function runGolden(model: Model, fx: GoldenFixture, backend: Backend, taps: readonly string[] = Object.keys(fx.taps)): Promise<GoldenRun> {
  await applyCalibration(model, fx);
  const [n, , h, w] = fx.input.shape;
  const options = { batch: n, inputSize: [h, w] as [number, number], outputs: ['logits', ...taps] };
  // Backends trust the compiler's plans without checking them again (plan-check.ts): check each one
  // here, and compile that same plan (what Model.compile does), so VGG's 411 MB classifier is
  // permuted to channels-last once per case, not twice.
  const plan = validatePlan(model.plan(options));
  const runner = new Runner(model.name, backend.name, plan, await compilePlan(backend, plan), [n, fx.input.shape[1], h, w], options.outputs);
  try {
    const out = await runner.runAll(new Tensor(fx.input.shape, counterInput(fx.input.shape, fx.seed)));
    const tapErrors: Record<string, number> = {};
    for (const tap of taps) tapErrors[tap] = tapError(out[tap], fx.taps[tap]);
    const logits = Float32Array.from(out.logits.data);
    const other = await runner.run(new Tensor(fx.input.shape, counterInput(fx.input.shape, fx.seed + 1)));
    const inputSensitivity = relativeError(other.data, logits);
    if (!(inputSensitivity >= MIN_INPUT_SENSITIVITY)) {
      throw new Error(`${fx.case} on ${backend.name}: logits change by only ${inputSensitivity.toExponential(2)} of max |logit| between two inputs (at least ${MIN_INPUT_SENSITIVITY} needed); the comparison could not fail`);
    }
    return { logitsShape: out.logits.shape, logitsError: relativeError(logits, fx.logits.data), tapErrors, inputSensitivity };
  } finally {
    runner.dispose();
  }
}

/**
 * Whether a multiply-add count (in G) matches torchvision's published GFLOPS, which are
 * rounded to two decimals: within 1%, or within half a unit of the last digit.
 */
export function matchesPublishedGflops(ours: number, published: number): boolean {
  return Math.abs(ours - published) / published < 0.01 || Math.abs(ours - published) <= 0.005 + 1e-12;
}

/**
 * Each backend made once, on first use, and shared by a test file's cases, as an app shares one:
 * a backend keeps its wasm instance (and the memory it has grown) for the next compile, so the
 * big models do not map and fault in hundreds of MB of fresh memory per case.
 */
export function reuseBackends<K extends string>(make: Record<K, () => Promise<Backend>>): Record<K, () => Promise<Backend>> {
  const made = new Map<K, Promise<Backend>>();
  const out = {} as Record<K, () => Promise<Backend>>;
  for (const key of Object.keys(make) as K[]) {
    out[key] = () => {
      let backend = made.get(key);
      if (!backend) made.set(key, (backend = make[key]()));
      return backend;
    };
  }
  return out;
}

/**
 * `make(variant).useGeneratedWeights(seed)`, keeping only the last model: generating tens of
 * millions of parameters takes seconds, and a package's fixtures come variant by variant.
 */
export function lastGeneratedModel<V extends string>(make: (variant: V) => Model): (variant: V, seed: number) => Model {
  let cached: { key: string; model: Model } | undefined;
  return (variant, seed) => {
    const key = `${variant}/${seed}`;
    if (cached?.key !== key) {
      cached = undefined; // let the previous model's weights go before generating the next
      cached = { key, model: make(variant).useGeneratedWeights(seed) };
    }
    return cached.model;
  };
}

/** The Python the tests use to write checkpoints with torch (machinePaths.python). */
export const SYSTEM_PYTHON = machinePaths.python;

let torchPresent: boolean | undefined;
/** Whether machinePaths.python can import torch and torchvision (tests that need them skip, saying so, otherwise). */
export function hasTorch(): boolean {
  torchPresent ??= spawnSync(SYSTEM_PYTHON, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0;
  return torchPresent;
}

/**
 * Runs tools/weights/torch_checkpoints.py SET into a fresh temporary directory and returns the
 * directory (its expected.json describes what was written).
 */
export function writeTorchCheckpoints(set: string, ...args: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), `cnn-${set}-`));
  const script = new URL('../../../tools/weights/torch_checkpoints.py', import.meta.url);
  execFileSync(SYSTEM_PYTHON, [script.pathname, set, dir, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  return dir;
}

export interface StrideTapRun {
  /** featureInfo(model) at the native input size */
  info: FeatureInfo[];
  /** NCHW shape of each stride tap from the forward pass */
  shapes: Record<string, readonly number[]>;
  /** max |stride tap - the tap it aliases|, per stride tap, from the same forward pass */
  aliasDifferences: Record<string, number>;
}

/**
 * Runs `model` once (generated weights unless it has some) at `inputSize` on `backend`, asking for
 * every stride tap and the tap each aliases, so a test can check shapes, channels and the alias
 * against the feature-info table with a real forward pass.
 */
export async function runStrideTaps(model: Model, backend: Backend, inputSize: readonly [number, number]): Promise<StrideTapRun> {
  const info = featureInfo(model);
  if (!model.hasWeights) model.useGeneratedWeights(1);
  const outputs = [...new Set(info.flatMap((f) => [f.name, f.module]))];
  const runner = await model.compile(backend, { inputSize, outputs: ['logits', ...outputs] });
  try {
    const shape = [1, model.architecture.inputShape[0], inputSize[0], inputSize[1]];
    const out = await runner.runAll(new Tensor(shape, counterInput(shape, 1)));
    const shapes: Record<string, readonly number[]> = {};
    const aliasDifferences: Record<string, number> = {};
    for (const f of info) {
      shapes[f.name] = out[f.name].shape;
      const a = out[f.name].data;
      const b = out[f.module].data;
      let diff = a.length === b.length ? 0 : Infinity;
      for (let i = 0; i < a.length && diff !== Infinity; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
      aliasDifferences[f.name] = diff;
    }
    return { info, shapes, aliasDifferences };
  } finally {
    runner.dispose();
  }
}
