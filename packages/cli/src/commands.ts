// The cnn subcommands as functions from parsed arguments to printed text, so tests can call them.
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs as parseNodeArgs, type ParseArgsConfig } from 'node:util';
import { Tensor, counterInput, formatSummary, isInt8, parseNpy, writeNpy, writeSafetensors, summarize, type Backend } from '@cnn/core';
import { createJsBackend } from '@cnn/kernels/js';
import { createWasmBackend } from '@cnn/kernels/wasm';
import { CliError, MODELS, UsageError, findModel, type ModelEntry } from './registry.js';
import { BENCH_TABLE_HEADER, benchModels, benchTableRow } from './bench.js';
import { backendFor, loadAnyWeights } from './quantize.js';

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

type OptionSpec = NonNullable<ParseArgsConfig['options']>;
const text = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;

/**
 * Every flag of every command that parses through `parseArgs` (convert and train keep their own
 * tables beside their code). A flag not listed for its command, a value where none belongs or a
 * missing one is a usage error (exit 2) that names the flags the command takes.
 */
export const COMMAND_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  models: { json: bool, bench: bool, runs: text },
  summary: { json: bool, size: text },
  run: { weights: text, 'generated-weights': text, input: text, output: text, backend: text, outputs: text, 'allow-unexpected': bool },
  'generate-weights': { output: text, seed: text },
  'make-input': { output: text, batch: text, size: text, seed: text },
  classify: { weights: text, 'generated-weights': text, top: text, backend: text, labels: text, json: bool, 'allow-unexpected': bool },
  evaluate: { dataset: text, weights: text, show: text, limit: text, backend: text, 'data-dir': text, json: bool },
  quantize: { weights: text, calibration: text, output: text, limit: text, observer: text, 'reduce-range': bool, backend: text, json: bool },
  help: {},
};

/** Parses one command's arguments with node:util's parseArgs against COMMAND_OPTIONS[command]. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const command = argv[0] !== undefined && !argv[0].startsWith('-') ? argv[0] : undefined;
  const options: OptionSpec = { help: { type: 'boolean', short: 'h' }, ...(command !== undefined ? COMMAND_OPTIONS[command] : {}) };
  if (command !== undefined && COMMAND_OPTIONS[command] === undefined) return { positionals: [...argv], flags: new Map() }; // main reports the unknown command
  try {
    const { values, positionals } = parseNodeArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    const flags = new Map<string, string | true>();
    for (const [k, v] of Object.entries(values)) if (v !== undefined && v !== false) flags.set(k, v as string | true);
    return { positionals, flags };
  } catch (e) {
    const expected = Object.entries(options)
      .map(([k, o]) => `--${k}${o.type === 'string' ? ' VALUE' : ''}`)
      .join(', ');
    throw new UsageError(`cnn${command ? ` ${command}` : ''}: ${(e as Error).message.split('. To specify')[0]}; expected ${expected} (see cnn ${command ?? 'help'} --help)`);
  }
}

function flag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

function requireFlag(args: ParsedArgs, name: string, command: string): string {
  const v = flag(args, name);
  if (v === undefined) throw new UsageError(`cnn ${command}: --${name} is required`);
  return v;
}

/** An integer flag in [min, max]; anything else is a usage error that says what was expected. */
function integerFlag(args: ParsedArgs, name: string, fallback: number, min: number, max: number): number {
  const text = flag(args, name);
  if (text === undefined) return fallback;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${text}'`);
  return n;
}

const MAX_SEED = 0xffffffff;

function parseSize(text: string | undefined): [number, number] | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(/[,x]/).map(Number);
  const size = parts.length === 1 ? [parts[0], parts[0]] : parts;
  if (size.length !== 2 || !size.every((d) => Number.isSafeInteger(d) && d > 0)) throw new UsageError(`--size must be H,W or N, got '${text}'`);
  return size as [number, number];
}

export const BACKENDS = ['js', 'wasm', 'webgpu'] as const;

export async function createBackend(name: string): Promise<Backend> {
  if (name === 'js') return createJsBackend();
  if (name === 'wasm') return createWasmBackend();
  if (name === 'webgpu') return createNodeWebGpuBackend();
  throw new UsageError(`unknown backend '${name}'; expected ${BACKENDS.join(', ')}`);
}

/**
 * WebGPU in Node comes from Dawn (the npm package `webgpu`), an optional peer dependency: the
 * command works without it on the other backends, and says what to install when asked for this one.
 */
async function createNodeWebGpuBackend(): Promise<Backend> {
  let dawn: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    dawn = (await import(/* webpackIgnore: true */ 'webgpu')) as typeof dawn;
  } catch (e) {
    throw new CliError(
      `--backend webgpu needs Dawn for Node, the 'webgpu' package, which could not be loaded (${(e as Error).message.split('\n')[0]}); install it beside @cnn/cli: npm install webgpu`,
    );
  }
  Object.assign(globalThis, dawn.globals);
  const { createWebGpuBackend, WebGpuUnavailableError } = await import('@cnn/kernels/webgpu');
  try {
    return await createWebGpuBackend({ gpu: dawn.create([]) });
  } catch (e) {
    if (!(e instanceof WebGpuUnavailableError)) throw e;
    throw new CliError(
      `--backend webgpu: ${e.message}. Dawn reaches GPUs through the system Vulkan loader (Debian: libvulkan1) and a Vulkan driver; ` +
        `without a GPU, Chromium's SwiftShader driver works: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json`,
    );
  }
}

export async function modelsCommand(io: Io, args: ParsedArgs): Promise<void> {
  const entries = args.positionals.length > 0 ? args.positionals.map(findModel) : MODELS;
  if (args.flags.has('runs') && !args.flags.has('bench')) throw new UsageError('--runs counts timed runs of --bench; add --bench');
  if (args.flags.has('bench')) return benchCommand(io, args, entries);
  const rows = entries.map((m) => {
    const model = m.create();
    const meta = model.architecture.metadata;
    return { name: m.name, package: m.package, input: model.architecture.inputShape.join('x'), parameters: meta.parameters, gflops: meta.gflops ?? null, top1: meta.top1 ?? null };
  });
  if (args.flags.has('json')) return io.out(JSON.stringify(rows, null, 2));
  const header = ['model', 'package', 'input', 'params', 'GFLOPS', 'top-1'];
  const table = rows.map((r) => [r.name, r.package, r.input, r.parameters.toLocaleString('en-US'), r.gflops?.toFixed(2) ?? '', r.top1?.toFixed(2) ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  io.out(header.map((h, i) => h.padEnd(widths[i])).join('  '));
  for (const t of table) io.out(t.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  '));
}

/** `cnn models --bench`: a Markdown table (rows printed as they are measured), or --json at the end. */
async function benchCommand(io: Io, args: ParsedArgs, entries: readonly ModelEntry[]): Promise<void> {
  const runs = integerFlag(args, 'runs', 3, 1, 1000);
  const json = args.flags.has('json');
  if (!json) for (const line of BENCH_TABLE_HEADER) io.out(line);
  const report = await benchModels(entries, runs, json ? undefined : (row) => io.out(benchTableRow(row)));
  if (json) return io.out(JSON.stringify(report, null, 2));
  io.out(`\nwasm backend (${report.variant}), 1 thread, generated weights, one ${runs === 1 ? 'run' : `median of ${runs} runs`} after a warm-up; ` +
    `${report.cpu}, ${report.logicalCores} logical cores, Node ${report.node}`);
}

export function summaryCommand(io: Io, args: ParsedArgs): void {
  const name = args.positionals[0];
  if (!name) throw new UsageError('usage: cnn summary <model> [--json] [--size H,W]');
  const model = findModel(name).create();
  const summary = summarize(model, parseSize(flag(args, 'size')));
  if (args.flags.has('json')) {
    io.out(JSON.stringify({ model: name, metadata: model.architecture.metadata, ...summary }, null, 2));
    return;
  }
  io.out(formatSummary(name, summary));
  const meta = model.architecture.metadata;
  if (meta.gflops !== undefined) {
    const figures = `${meta.parameters.toLocaleString('en-US')} parameters, ${meta.gflops} GFLOPS`;
    io.out(meta.weights ? `torchvision: ${figures} (${meta.weights})` : `expected: ${figures} (no published weights)`);
  }
}

export async function runCommand(io: Io, args: ParsedArgs): Promise<void> {
  const name = args.positionals[0];
  if (!name) throw new UsageError('usage: cnn run <model> (--weights W.safetensors | --generated-weights SEED) --input X.npy --output Y.npy [--backend js|wasm|webgpu]');
  const model = findModel(name).create();
  const weights = flag(args, 'weights');
  const generated = flag(args, 'generated-weights');
  const inputPath = requireFlag(args, 'input', 'run');
  const outputPath = requireFlag(args, 'output', 'run');
  const outputs = flag(args, 'outputs')?.split(',') ?? ['logits'];
  if (outputs.length !== 1) throw new UsageError('--outputs takes one name per run (one .npy file is written)');

  const t0 = performance.now();
  if (weights !== undefined) {
    await loadAnyWeights(model, weights, { allowUnexpected: args.flags.has('allow-unexpected') });
    for (const note of model.weightsInfo?.notes ?? []) io.err(`note: ${weights}: ${note}`);
  } else if (generated !== undefined) model.useGeneratedWeights(integerFlag(args, 'generated-weights', 1, 0, MAX_SEED));
  else throw new UsageError('cnn run: --weights W.safetensors (or --generated-weights SEED) is required');
  const backend = await backendFor(model, flag(args, 'backend') ?? 'wasm');
  const input = parseNpy(new Uint8Array(await readFile(inputPath)));
  if (input.shape.length !== 4) throw new CliError(`${inputPath}: expected an NCHW array [n, c, h, w], got shape [${input.shape.join(', ')}]`);
  const [n, c, h, w] = input.shape;
  const expectedC = model.architecture.inputShape[0];
  if (c !== expectedC) throw new CliError(`${inputPath}: ${name} expects ${expectedC} channel(s), got ${c} (shape [${input.shape.join(', ')}])`);
  const tLoad = performance.now();
  const runner = await model.compile(backend, { batch: n, inputSize: [h, w], outputs });
  const tCompile = performance.now();
  const result = await runner.run(input);
  const tRun = performance.now();
  await writeFile(outputPath, writeNpy(result));
  io.err(
    `${name}${isInt8(model) ? ' (int8)' : ''} on ${backend.name}: input [${input.shape.join(', ')}] -> ${outputs[0]} [${result.shape.join(', ')}]; ` +
      `load ${(tLoad - t0).toFixed(0)} ms, compile ${(tCompile - tLoad).toFixed(0)} ms, forward ${(tRun - tCompile).toFixed(1)} ms`,
  );
  const top = result.shape.length === 2 ? result.argmax() : [];
  if (top.length > 0) io.out(`top-1 class per image: ${top.join(', ')}`);
  runner.dispose();
}

/** Writes the seeded generator's weights for a model as .safetensors (torchvision keys). */
export async function weightsCommand(io: Io, args: ParsedArgs): Promise<void> {
  const name = args.positionals[0];
  if (!name) throw new UsageError('usage: cnn generate-weights <model> --output W.safetensors [--seed N]');
  const outputPath = requireFlag(args, 'output', 'generate-weights');
  const model = findModel(name).create().useGeneratedWeights(integerFlag(args, 'seed', 1, 0, MAX_SEED));
  const tensors = model.getWeights();
  const bytes = writeSafetensors(tensors, { format: 'pt', generator: 'cnn counter weights' });
  await writeFile(outputPath, bytes);
  io.out(`wrote ${tensors.size} tensors (${(bytes.length / 1e6).toFixed(1)} MB) to ${outputPath}`);
}

/** Writes the golden tests' deterministic input for a model as .npy. */
export async function inputCommand(io: Io, args: ParsedArgs): Promise<void> {
  const name = args.positionals[0];
  if (!name) throw new UsageError('usage: cnn make-input <model> --output X.npy [--batch N] [--size H,W] [--seed N]');
  const outputPath = requireFlag(args, 'output', 'make-input');
  const model = findModel(name).create();
  const [c, dh, dw] = model.architecture.inputShape;
  const [h, w] = parseSize(flag(args, 'size')) ?? [dh, dw];
  const shape = [integerFlag(args, 'batch', 1, 1, 4096), c, h, w];
  await writeFile(outputPath, writeNpy(new Tensor(shape, counterInput(shape, integerFlag(args, 'seed', 1, 0, MAX_SEED)))));
  io.out(`wrote input [${shape.join(', ')}] to ${outputPath}`);
}
