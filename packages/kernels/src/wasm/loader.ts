// Finds, fetches, checks and compiles the kernel binaries, and types their raw C ABI.
//
// There are four binaries, one per variant (packages/kernels/build.sh):
//   cnn_kernels.wasm                       'simd'                  baseline simd128
//   cnn_kernels-relaxed-simd.wasm          'relaxed-simd'          FMA microkernels (relaxed SIMD)
//   cnn_kernels-simd-threads.wasm          'simd-threads'          + atomics on imported shared memory
//   cnn_kernels-relaxed-simd-threads.wasm  'relaxed-simd-threads'
// ./binaries.ts says where they are (one bundler-visible `new URL` per variant); reading one
// from disk in Node goes through `#kernels/node` (./node/), which browser bundles never load.
import { kernelBinaryUrl } from './binaries.js';
import { ABI_VERSION } from './abi.js';
import type { WasmWorkers } from './threads.js';

// The long explanations of a failed load (or memory request) are their own chunk, fetched only on failure.
export const loadFailures = () => import('./load-failures.js');

/** Bumped with any change to an export's signature, a descriptor or a packed layout (see kernels-wasm). */
export const KERNELS_ABI_VERSION = ABI_VERSION;

/** Which binary runs: instruction set, and whether it shares one op across threads. */
export type WasmVariant = 'simd' | 'relaxed-simd' | 'simd-threads' | 'relaxed-simd-threads';

type Ptr = number;
type U32 = number;

/** The raw exports of the kernel binaries. Pointers are byte offsets into the memory. */
export interface KernelExports {
  /** exported by the single-threaded binaries; the threaded ones import theirs */
  readonly memory?: WebAssembly.Memory;
  readonly __heap_base: WebAssembly.Global;
  /** threaded binaries: each thread's instance gets its own stack */
  readonly __stack_pointer?: WebAssembly.Global;
  cnn_kernels_abi_version(): number;
  /** bit 0: relaxed SIMD, bit 1: threads */
  cnn_kernels_features(): number;
  // Packed sizes and scratch layouts are not exports: abi/spec.mjs's FORMULAS states them once
  // for both sides (generated into abi.ts), and ABI_VERSION rejects a binary built from another spec.
  conv2d_pack_weights(
    dst: Ptr, weight: Ptr, bias: Ptr,
    outC: U32, inCPerGroup: U32, kernelH: U32, kernelW: U32, groups: U32,
  ): void;
  dwconv2d_pack_weights(dst: Ptr, weight: Ptr, bias: Ptr, channels: U32, kernelH: U32, kernelW: U32): void;
  /** fully connected layers: blocks of 16 rows, [inF / 4][16][4] (kernels-wasm/src/linear.rs) */
  linear_pack_weights(dst: Ptr, weight: Ptr, rows: U32, inF: U32): void;
  /** Winograd F(4x4, 3x3) convolutions (kernels-wasm/src/winograd.rs). */
  conv2d_winograd_pack_weights(dst: Ptr, weight: Ptr, bias: Ptr, outC: U32, inC: U32): void;
  /** rows of `per` floats at `weight`, each times its f64 factor at `scale` (a folded batch norm), rounded to f32 in place (ABI 11 on) */
  scale_rows(weight: Ptr, rows: U32, per: U32, scale: Ptr): void;
  /**
   * Decides each op's work items for `threads` threads (flags bit 0: share even tiny ops);
   * returns the first unknown op or `count`.
   */
  plan_prepare(descriptors: Ptr, count: U32, threads: U32, flags: U32): number;
  /** Runs descriptors [first, first + count); `control` 0 runs on the calling thread only. */
  plan_run(descriptors: Ptr, first: U32, count: U32, control: Ptr): void;
  threads_control_size?(): number;
  /** `thread` numbers the workers from 1 (the calling thread is 0) */
  threads_worker_loop?(control: Ptr, thread: U32): void;
  threads_shutdown?(control: Ptr): void;
}

const REQUIRED_FUNCTIONS = [
  'cnn_kernels_abi_version',
  'cnn_kernels_features',
  'conv2d_pack_weights',
  'dwconv2d_pack_weights',
  'linear_pack_weights',
  'conv2d_winograd_pack_weights',
  'plan_prepare',
  'plan_run',
] as const;
const THREAD_FUNCTIONS = ['threads_control_size', 'threads_worker_loop', 'threads_shutdown'] as const;

export const FEATURE_RELAXED_SIMD = 1;
export const FEATURE_THREADS = 2;

/** Where to get the kernels: bytes, a URL, or a path/URL string (paths are read from disk in Node). */
export type WasmSource = BufferSource | URL | string;

// (module (func (result v128) i32.const 0 i8x16.splat))
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03,
  0x02, 0x01, 0x00, 0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x00, 0xfd, 0x0f, 0x0b,
]);

/** Throws unless this engine has WebAssembly with fixed-width SIMD (simd128). */
export function assertWasmSimdSupport(): void {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.validate !== 'function') {
    throw new Error('The wasm backend needs WebAssembly, but this JavaScript engine has none.');
  }
  if (!WebAssembly.validate(SIMD_PROBE)) {
    throw new Error(
      'The wasm backend needs WebAssembly SIMD (simd128), but this engine rejected a SIMD module; ' +
        'use a current browser or Node >= 16.4, or the js backend.',
    );
  }
}

// (module (func (result v128) f32.const 0 f32x4.splat (x3) f32x4.relaxed_madd))
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03,
  0x02, 0x01, 0x00, 0x0a, 0x1c, 0x01, 0x1a, 0x00, 0x43, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x13, 0x43,
  0x00, 0x00, 0x00, 0x00, 0xfd, 0x13, 0x43, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x13, 0xfd, 0x85, 0x02,
  0x0b,
]);

/** Whether this engine runs relaxed SIMD (Chromium does; Node 20 needs --experimental-wasm-relaxed-simd). */
export function hasRelaxedSimd(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_SIMD_PROBE);
}

/** Why this engine cannot share wasm memory between threads, or undefined when it can. */
export function sharedMemoryUnavailableReason(): string | undefined {
  const g = globalThis as { crossOriginIsolated?: boolean; Worker?: unknown };
  if (typeof SharedArrayBuffer !== 'function') {
    return g.crossOriginIsolated === false
      ? 'SharedArrayBuffer is unavailable: the page is not cross-origin isolated (serve it with ' +
          'Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)'
      : 'SharedArrayBuffer is unavailable in this JavaScript engine';
  }
  if (g.crossOriginIsolated === false) {
    return 'the page is not cross-origin isolated (crossOriginIsolated is false), so wasm memory cannot be shared';
  }
  if (!isNode && typeof g.Worker !== 'function') return 'this environment has no Web Workers';
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  } catch (e) {
    return `this engine cannot create shared wasm memory: ${(e as Error).message}`;
  }
  return undefined;
}

/**
 * Why wasm memory cannot be shared: the worker pool's full diagnosis (cross-origin isolation,
 * Web Workers, ...); without one (Node's own pool) the one check Node can fail.
 */
export function sharedMemoryUnavailable(workers: WasmWorkers | undefined): string | undefined {
  if (workers) return workers.sharedMemoryUnavailableReason();
  return typeof SharedArrayBuffer === 'function' ? undefined : 'SharedArrayBuffer is unavailable in this JavaScript engine';
}

/** More than one thread without the worker pool (only Node brings its own). */
export function workersNeeded(threads: number | string): TypeError {
  return new TypeError(`createWasmBackend: threads ${threads} needs { workers: wasmWorkers } from '@cnn/kernels/wasm/threads' in a browser`);
}

/** The file name of a variant's binary. */
export function variantFileName(variant: WasmVariant): string {
  return variant === 'simd' ? 'cnn_kernels.wasm' : `cnn_kernels-${variant}.wasm`;
}

export const isNode =
  typeof process === 'object' && process !== null && typeof process.versions?.node === 'string';

function toBytes(source: BufferSource): Uint8Array {
  if (source instanceof Uint8Array) return source;
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  return new Uint8Array(source);
}

async function readFileUrlOrPath(target: URL | string): Promise<Uint8Array> {
  const node = await import('#kernels/node');
  return node.readFileBytes(target);
}

function looksLikeUrl(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(s) && !/^[a-z]:[\\/]/i.test(s); // not a Windows drive path
}

type Fetched = { module: WebAssembly.Module } | { bytes: Uint8Array };

/** Reads (or, over HTTP with the right MIME type, stream-compiles) one location. */
async function fetchFrom(location: URL | string, from: string): Promise<Fetched> {
  if (typeof location === 'string' && !looksLikeUrl(location) && isNode) {
    return { bytes: await readFileUrlOrPath(location) };
  }
  const url = typeof location === 'string' && looksLikeUrl(location) ? new URL(location) : location;
  if (url instanceof URL && url.protocol === 'file:' && isNode) return { bytes: await readFileUrlOrPath(url) };
  const response = await fetch(url);
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
  const streaming = typeof WebAssembly.compileStreaming === 'function' &&
    (response.headers.get('content-type') ?? '').startsWith('application/wasm');
  if (streaming) {
    try {
      assertWasmSimdSupport();
      const module = await WebAssembly.compileStreaming(response.clone());
      await checkKernelModule(module, from);
      return { module };
    } catch {
      // Fall through: compiling the bytes again produces the precise error message.
    }
  }
  return { bytes: new Uint8Array(await response.arrayBuffer()) };
}

function describe(location: URL | string): string {
  return typeof location === 'string' ? location : location.href;
}

/** Compiles bytes after checking the header, so a wrong file gets a message that says so. */
export async function compileKernelBytes(bytes: Uint8Array, from: string): Promise<WebAssembly.Module> {
  const magic = [0x00, 0x61, 0x73, 0x6d];
  if (bytes.length < 8 || magic.some((b, i) => bytes[i] !== b)) throw (await loadFailures()).notWasm(bytes, from);
  assertWasmSimdSupport();
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw (await loadFailures()).invalidModule(bytes, from, e as Error);
  }
  await checkKernelModule(module, from);
  return module;
}

/** Whether a compiled kernel module is a threaded one (it imports its shared memory). */
export function isThreadedModule(module: WebAssembly.Module): boolean {
  return WebAssembly.Module.imports(module).some((i) => i.kind === 'memory');
}

/** Checks that a compiled module has every export this loader calls. */
export async function checkKernelModule(module: WebAssembly.Module, from: string): Promise<void> {
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  const imports = WebAssembly.Module.imports(module);
  const threaded = imports.length === 1 && imports[0].kind === 'memory' && imports[0].module === 'env' && imports[0].name === 'memory';
  const missing: string[] = REQUIRED_FUNCTIONS.filter((name) => exports.get(name) !== 'function');
  if (threaded) {
    missing.push(...THREAD_FUNCTIONS.filter((name) => exports.get(name) !== 'function'));
    if (exports.get('__stack_pointer') !== 'global') missing.push('__stack_pointer');
  } else if (exports.get('memory') !== 'memory') {
    missing.unshift('memory');
  }
  if (missing.length > 0) throw (await loadFailures()).notKernels(from, KERNELS_ABI_VERSION, missing, [...exports.keys()]);
  if (imports.length > 0 && !threaded) throw (await loadFailures()).unexpectedImports(from, imports);
}

/** The packaged binary beside this script; a classic script (no import.meta.url) cannot say where that is. */
async function defaultLocation(variant: WasmVariant): Promise<URL> {
  try {
    return kernelBinaryUrl(variant);
  } catch (e) {
    throw (await loadFailures()).noScriptUrl(variantFileName(variant), e as Error);
  }
}

/** Loads and compiles a variant's kernels from `source`, or from the default location. */
export async function loadKernelModule(source?: WasmSource, variant: WasmVariant = 'simd'): Promise<WebAssembly.Module> {
  if (source !== undefined && typeof source !== 'string' && !(source instanceof URL)) {
    return compileKernelBytes(toBytes(source), 'the bytes passed as options.wasm');
  }
  const locations = source === undefined ? [await defaultLocation(variant)] : [source];
  const failures: string[] = [];
  for (const location of locations) {
    const from = describe(location);
    let fetched: Fetched;
    try {
      fetched = await fetchFrom(location, from);
    } catch (e) {
      failures.push(`${from}: ${(e as Error).message}`);
      continue;
    }
    return 'module' in fetched ? fetched.module : compileKernelBytes(fetched.bytes, from);
  }
  const file = source === undefined ? variantFileName(variant) : describe(source).split(/[\\/]/).pop() || describe(source);
  throw (await loadFailures()).unreadable(file, failures, source === undefined);
}

/**
 * Instantiates a compiled kernel module. Single-threaded modules own their memory; threaded
 * ones take the shared `memory` every thread's instance uses.
 */
export function instantiateKernels(module: WebAssembly.Module, memory?: WebAssembly.Memory): KernelExports {
  const instance = new WebAssembly.Instance(module, memory ? { env: { memory } } : {});
  const exports = instance.exports as unknown as KernelExports;
  const abi = exports.cnn_kernels_abi_version();
  if (abi !== KERNELS_ABI_VERSION) {
    throw new Error(`The kernel binary has ABI version ${abi}, but this loader expects ${KERNELS_ABI_VERSION}.`);
  }
  return exports;
}
