// Helpers for golden tests against torchvision fixtures (tools/golden/make_fixtures.py).
// Exposed as @cnn/core/testing so every architecture package checks itself the same way.
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor } from './tensor.js';
import { counterInput } from './counter-weights.js';
import type { Model } from './model.js';
import type { Backend } from './plan.js';

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
  [extra: string]: unknown;
}

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

/** One fixture; `name` with or without `.json`. */
export function readFixture(dir: URL, name: string): GoldenFixture {
  const file = name.endsWith('.json') ? name : `${name}.json`;
  return JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as GoldenFixture;
}

export interface GoldenRun {
  /** shape of the logits the runner returned */
  logitsShape: readonly number[];
  /** relativeError of the logits against the fixture */
  logitsError: number;
  /** tapError of each requested tap */
  tapErrors: Record<string, number>;
}

/**
 * Compiles `model` (weights already loaded) for the fixture's batch and size on `backend`, runs
 * the fixture's counter input once, and measures the logits and `taps` against torchvision.
 */
export async function runGolden(model: Model, fx: GoldenFixture, backend: Backend, taps: readonly string[] = Object.keys(fx.taps)): Promise<GoldenRun> {
  const [n, , h, w] = fx.input.shape;
  const runner = await model.compile(backend, { batch: n, inputSize: [h, w], outputs: ['logits', ...taps] });
  try {
    const out = await runner.runAll(new Tensor(fx.input.shape, counterInput(fx.input.shape, fx.seed)));
    const tapErrors: Record<string, number> = {};
    for (const tap of taps) tapErrors[tap] = tapError(out[tap], fx.taps[tap]);
    return { logitsShape: out.logits.shape, logitsError: relativeError(out.logits.data, fx.logits.data), tapErrors };
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

/** Debian's Python, which the tests use to write checkpoints with torch. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

let torchPresent: boolean | undefined;
/** Whether /usr/bin/python3 can import torch and torchvision (tests that need them skip, saying so, otherwise). */
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
