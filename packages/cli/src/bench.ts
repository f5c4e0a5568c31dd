// `cnn models --bench`: the "which backbone?" table for this machine. For every variant (or the
// ones named): parameters and multiply-adds (our graph's count), the download size of its
// weights as .safetensors in float32, float16 and int8 (what `cnn convert --dtype` writes:
// tensor data plus the JSON header), torchvision's ImageNet top-1 (the weights' metadata), and
// the latency of one image on the wasm backend on one thread, generated weights.
import { cpus } from 'node:os';
import { Tensor, summarize, type Model, type ParameterSpec } from '@cnn/core';
import { createWasmBackend } from '@cnn/kernels/wasm';
import type { ModelEntry } from './registry.js';

export interface WeightsBytes {
  f32: number;
  f16: number;
  int8: number;
}

export interface BenchRow {
  name: string;
  package: string;
  input: string;
  parameters: number;
  multiplyAdds: number;
  weightsBytes: WeightsBytes;
  /** torchvision's ImageNet top-1 for the weights the metadata names; null for LeNet (no such weights) */
  top1: number | null;
  /** wall-clock milliseconds of Runner.run, one image, after one warm-up run */
  latencyMs: { median: number; min: number; runs: number };
}

export interface BenchReport {
  cpu: string;
  logicalCores: number;
  node: string;
  backend: string;
  variant: string;
  threads: 1;
  rows: BenchRow[];
}

/** .safetensors header bytes of one entry: `"key":{"dtype":"F32","shape":[..],"data_offsets":[a,b]},` (offsets ~10 digits). */
function headerBytes(key: string, dtype: string, shape: readonly number[]): number {
  return `"${key}":{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[0000000000,0000000000]},`.length;
}

/**
 * The file sizes `cnn convert` writes for these parameters: int8 stores rank >= 2 tensors
 * (convolution and linear weights) as I8 with one F32 scale per output channel, the rest F32;
 * f16 stores every tensor as F16. The 8-byte length prefix and header padding are included.
 */
export function weightsBytes(parameters: readonly ParameterSpec[]): WeightsBytes {
  const sizes = { f32: 8 + 2, f16: 8 + 2, int8: 8 + 2 };
  for (const { key, shape } of parameters) {
    const n = shape.reduce((a, b) => a * b, 1);
    sizes.f32 += 4 * n + headerBytes(key, 'F32', shape);
    sizes.f16 += 2 * n + headerBytes(key, 'F16', shape);
    if (shape.length >= 2 && shape[0] > 0) sizes.int8 += n + headerBytes(key, 'I8', shape) + 4 * shape[0] + headerBytes(`${key}.__scale`, 'F32', [shape[0]]);
    else sizes.int8 += 4 * n + headerBytes(key, 'F32', shape);
  }
  return sizes;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Times every entry in turn (one model in memory at a time); `onRow` sees each row as it is measured. */
export async function benchModels(entries: readonly ModelEntry[], runs: number, onRow: (row: BenchRow) => void = () => {}): Promise<BenchReport> {
  const backend = await createWasmBackend({ threads: 1 });
  const rows: BenchRow[] = [];
  for (const entry of entries) {
    const model: Model = entry.create();
    const summary = summarize(model);
    const [c, h, w] = model.architecture.inputShape;
    const runner = await model.useGeneratedWeights(1).compile(backend);
    const pixels = new Float32Array(c * h * w);
    for (let i = 0; i < pixels.length; i++) pixels[i] = Math.sin(i * 0.37) * 0.5;
    const input = new Tensor([1, c, h, w], pixels);
    const times: number[] = [];
    try {
      await runner.run(input);
      for (let r = 0; r < runs; r++) {
        const started = performance.now();
        await runner.run(input);
        times.push(performance.now() - started);
      }
    } finally {
      runner.dispose();
    }
    const row: BenchRow = {
      name: entry.name,
      package: entry.package,
      input: `${c}x${h}x${w}`,
      parameters: summary.totalParameters,
      multiplyAdds: summary.totalMultiplyAdds,
      weightsBytes: weightsBytes(model.parameters),
      top1: model.architecture.metadata.top1 ?? null,
      latencyMs: { median: median(times), min: Math.min(...times), runs },
    };
    rows.push(row);
    onRow(row);
  }
  const cpu = cpus();
  return { cpu: cpu[0]?.model.trim() ?? 'unknown', logicalCores: cpu.length, node: process.version, backend: backend.name, variant: backend.variant, threads: 1, rows };
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 1);

/** One Markdown table row (the README's "which backbone?" table). */
export function benchTableRow(r: BenchRow): string {
  const g = r.multiplyAdds / 1e9;
  return `| ${r.name} | ${(r.parameters / 1e6).toFixed(r.parameters < 1e6 ? 3 : 1)} M | ${g < 0.01 ? g.toFixed(4) : g.toFixed(2)} G | ` +
    `${mb(r.weightsBytes.f32)} / ${mb(r.weightsBytes.f16)} / ${mb(r.weightsBytes.int8)} MB | ${r.top1 === null ? '-' : r.top1.toFixed(2)} | ${r.latencyMs.median.toFixed(r.latencyMs.median < 10 ? 2 : 0)} ms |`;
}

export const BENCH_TABLE_HEADER = [
  '| model | parameters | multiply-adds | weights f32 / f16 / int8 | top-1 (torchvision) | wasm, 1 thread (median) |',
  '|---|---:|---:|---:|---:|---:|',
];
