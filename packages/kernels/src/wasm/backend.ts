// The WebAssembly backend: lays out one wasm memory per executable as
// [worker stacks | thread control | op descriptors | packed weights | activation arena | zero row]
// (op-local scratch, such as a Winograd convolution's transformed input and weights, lies in
// arena space that no activation occupies while that op runs: the backend asks for it in
// scratchFloats and @cnn/core's compilePlan places it),
// packs every weight once at compile time, writes one descriptor per op, and runs the whole plan
// in one call into wasm (kernels-wasm/src/plan.rs), shared between threads on the threaded
// binaries (kernels-wasm/src/threads.rs, workers.ts). Which binary runs is decided once per
// backend by feature detection (loader.ts).
import { compilePlan, type Backend, type Executable, type ExecutionPlan } from '@cnn/core';
import {
  checkKernelModule,
  hasRelaxedSimd,
  isNode,
  isThreadedModule,
  loadKernelModule,
  sharedMemoryUnavailable,
  workersNeeded,
  type KernelExports,
  type WasmSource,
  type WasmVariant,
} from './loader.js';
import type { WasmWorkers } from './threads.js';
import type { WinogradMode } from './op-plans.js';
import { WasmPlanExecutable, scratchRequest } from './executable.js';

export interface WasmBackendOptions {
  /**
   * The kernels binary: bytes, a URL, or a path/URL string. Defaults to the packaged binary
   * of the variant chosen by feature detection. A binary passed here decides the variant.
   */
  wasm?: WasmSource;
  /** An already compiled kernels module (takes precedence over `wasm`). */
  module?: WebAssembly.Module;
  /**
   * Threads that share every op: the calling thread plus `threads - 1` workers (Node
   * worker_threads or Web Workers), started by compile() and stopped by dispose().
   * Default 1. 'auto': the machine's logical cores, at most 8. More than one needs
   * SharedArrayBuffer, which browsers grant only to cross-origin isolated pages; without it
   * the backend runs on one thread and says why in `threadsFallbackReason`.
   */
  threads?: number | 'auto';
  /**
   * The worker pool that more than one thread needs in a browser: `wasmWorkers` from
   * `@cnn/kernels/wasm/threads`. A separate import so that an app on one thread bundles no
   * worker code; Node uses its own build's pool when this is not given.
   */
  workers?: WasmWorkers;
  /**
   * Run the relaxed-SIMD binary (fused multiply-add microkernels). Default 'auto': when the
   * engine validates relaxed SIMD (Chromium does; Node 20 needs --experimental-wasm-relaxed-simd).
   * true throws where it is unsupported; false always runs the simd128 binary.
   */
  relaxedSimd?: boolean | 'auto';
  /** false: act as if SharedArrayBuffer were unavailable (one thread, with a reason). Default true. */
  sharedMemory?: boolean;
  /** Share even ops too small to be worth waking workers for (for tests of the splitting). */
  shareTinyOps?: boolean;
  /**
   * How eligible 3x3 stride-1 convolutions (`usesWinograd`) run:
   * - 'fast': Winograd F(4x4, 3x3) everywhere, the fastest; in float32 its logits are up to
   *   3x further from float64 than torchvision float32's (VGG-16, ResNet-18; README, Correctness);
   * - 'accurate': F(2x2, 3x3) on the few Winograd convolutions nearest the input, whose
   *   rounding error sets the logits' (`winogradTileSides`), F(4x4, 3x3) after them: every
   *   measured model within 2x of torchvision float32, at some speed (those layers take about
   *   2x their F(4, 3) time);
   * - false: none, every convolution on the direct igemm path (tests, benchmarks).
   * Default (and true): 'accurate'.
   */
  winograd?: boolean | WinogradMode;
}

/** How compile() runs a plan. */
export interface RunConfig {
  threads: number;
  shareTinyOps: boolean;
  /** options.winograd, checked (true: 'accurate') */
  winograd: boolean | WinogradMode;
  /** options.workers: starts the workers of a threaded executable (Node's own pool when undefined) */
  workers?: WasmWorkers;
  /** the backend's spare single-threaded instance, and where a disposed one goes back */
  instances?: InstancePool;
}

/**
 * Keeps the instance (and so the memory) of the last disposed single-threaded executable for the
 * next compile(). A wasm memory cannot shrink or be freed on demand: without reuse, every
 * compile/dispose cycle leaves a memory for the garbage collector, which frees them late, and
 * resident memory climbs by tens of MiB over a few hundred cycles.
 */
export class InstancePool {
  private spare: KernelExports | undefined;
  /** executables compiled and not disposed, and their bytes (counts, not references, so an
   * executable dropped without dispose() can still be collected) */
  liveExecutables = 0;
  liveBytes = 0;

  take(): KernelExports | undefined {
    const k = this.spare;
    this.spare = undefined;
    return k;
  }

  give(k: KernelExports): void {
    // keep the larger memory: it serves every plan up to its size without growing
    const had = this.spare?.memory?.buffer.byteLength ?? -1;
    if ((k.memory?.buffer.byteLength ?? 0) > had) this.spare = k;
  }

  /**
   * A threaded executable's memory, instance and idle workers, parked at dispose(): its layout
   * below the weights (stacks, control block) depends only on the thread count, so a plan with
   * as many threads that fits the memory (shared memory cannot grow past its maximum) reuses
   * it all, workers included, instead of starting new ones.
   */
  parked: ParkedThreads | undefined;

  get spareBytes(): number {
    return (this.spare?.memory?.buffer.byteLength ?? 0) + (this.parked?.memory.buffer.byteLength ?? 0);
  }

  /** Stops parked workers and drops the spare instance (on request, or when the backend is collected). */
  release(): void {
    this.parked?.stop();
    this.parked = undefined;
    this.spare = undefined;
  }
}

export interface ParkedThreads {
  readonly threads: number;
  readonly memory: WebAssembly.Memory;
  readonly kernels: KernelExports;
  readonly stop: () => void;
  readonly exited: Promise<void>;
}

/** Stops the parked workers of backends that were dropped. */
const droppedBackends = new FinalizationRegistry<InstancePool>((pool) => pool.release());

/** A compiled plan on the wasm backend. */
export interface WasmExecutable extends Executable {
  /** The binary this executable runs. */
  readonly variant: WasmVariant;
  /** Threads that share each op: the calling thread and `threads - 1` workers. */
  readonly threads: number;
  /** Bytes of wasm memory held: weights, arena, descriptors, stacks and the module's own data. */
  readonly memoryBytes: number;
  /**
   * Resolves once every worker has exited after dispose() (at once when there are none). The
   * workers of a disposed executable first wait up to a second for the same backend's next
   * compile() with as many threads, which takes them over (with their memory) instead of
   * starting new ones; then they exit.
   */
  readonly workersExited: Promise<void>;
  /** Runs once, op by op, and returns each op's milliseconds (for benchmarks; slower than run()). */
  profile(input: Float32Array): Promise<number[]>;
}

/** The wasm backend, with the choices it made for this engine. */
export interface WasmBackend extends Backend {
  /**
   * The binary compile() uses. With `options.wasm` or `options.module` it is what was asked
   * for until the first compile() has loaded the binary, and what the binary is after that.
   */
  readonly variant: WasmVariant;
  /** Threads that share each op (1 when threads were not asked for or are unavailable). */
  readonly threads: number;
  /** Why fewer threads run than were asked for; undefined when nothing was dropped. */
  readonly threadsFallbackReason: string | undefined;
  compile(plan: ExecutionPlan): Promise<WasmExecutable>;
  /** Counters for watching memory over a long run (see benchmarks/soak.mjs). */
  memoryStats(): WasmMemoryStats;
  /** Lets go of the memory (and idle workers) kept for the next compile(), e.g. when done with models for a while. */
  releaseSpareMemory(): void;
}

export interface WasmMemoryStats {
  /** executables compiled and not yet disposed (an executable dropped without dispose() stays counted) */
  readonly liveExecutables: number;
  /** bytes of wasm memory those executables hold */
  readonly liveBytes: number;
  /** bytes of wasm memory kept for the next single-threaded compile() */
  readonly spareBytes: number;
}

function logicalCores(): number {
  const p = globalThis.process as { getBuiltinModule?: (id: string) => { availableParallelism?: () => number } } | undefined;
  const os = isNode ? p?.getBuiltinModule?.('node:os') : undefined;
  const n = os?.availableParallelism?.() ?? (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return Number.isInteger(n) && n! > 0 ? n! : 1;
}

/** 'auto' uses every logical core up to this many. */
const AUTO_THREADS_MAX = 8;

function resolveThreads({ threads, workers }: WasmBackendOptions): number {
  if (threads === undefined) return 1;
  if (threads !== 1 && workers === undefined && !isNode) {
    throw workersNeeded(threads);
  }
  if (threads === 'auto') return Math.min(logicalCores(), AUTO_THREADS_MAX);
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new RangeError(`createWasmBackend: threads must be 'auto' or an integer in [1, 256], got ${String(threads)}`);
  }
  return threads;
}

/** The threads and binary variant the options and this engine allow, and why fewer threads if so. */
function chooseVariant(options: WasmBackendOptions): { threads: number; variant: WasmVariant; threadsFallbackReason?: string } {
  const requested = resolveThreads(options);
  let threads = requested;
  let threadsFallbackReason: string | undefined;
  if (requested > 1) {
    threadsFallbackReason =
      options.sharedMemory === false ? 'shared memory was turned off (sharedMemory: false)' : sharedMemoryUnavailable(options.workers);
    if (threadsFallbackReason) threads = 1;
  }
  const relaxedSupported = hasRelaxedSimd();
  if (options.relaxedSimd === true && !relaxedSupported) {
    throw new Error(
      'createWasmBackend: relaxedSimd: true, but this engine rejects relaxed SIMD ' +
        "(Node 20 needs --experimental-wasm-relaxed-simd); use relaxedSimd: 'auto' to fall back to simd128.",
    );
  }
  const relaxed = options.relaxedSimd === false ? false : relaxedSupported;
  return { threads, threadsFallbackReason, variant: `${relaxed ? 'relaxed-simd' : 'simd'}${threads > 1 ? '-threads' : ''}` };
}

/**
 * The backend's kernels binary, loaded (or checked, when a compiled module is given) on first use
 * and shared by every executable; a failed load is forgotten, so a later compile() retries it
 * (e.g. the binary was built meanwhile).
 */
function moduleLoader(options: WasmBackendOptions, variant: WasmVariant): () => Promise<WebAssembly.Module> {
  let module: Promise<WebAssembly.Module> | undefined;
  return () => {
    module ??= options.module
      ? Promise.resolve(options.module).then(async (m) => (await checkKernelModule(m, 'options.module'), m))
      : loadKernelModule(options.wasm, variant);
    module.catch(() => (module = undefined));
    return module;
  };
}

/**
 * Creates the WebAssembly SIMD backend. The binary is picked once, here, by feature detection
 * (relaxed SIMD, shared memory), compiled on the first `compile()`, and shared by every
 * executable; each executable gets its own instance, memory and (threaded) workers, which
 * start in compile() and stop in dispose().
 */
export function createWasmBackend(options: WasmBackendOptions = {}): WasmBackend {
  const winograd = options.winograd ?? true;
  if (![true, false, 'fast', 'accurate'].includes(winograd)) {
    throw new TypeError(`createWasmBackend: winograd must be true, false, 'fast' or 'accurate', got ${String(winograd)}`);
  }
  let { threads, variant, threadsFallbackReason } = chooseVariant(options);
  const custom = options.module !== undefined || options.wasm !== undefined;
  const getModule = moduleLoader(options, variant);
  const instances = new InstancePool();
  /** Loads the binary (a custom one decides whether threads are possible) and says how to run plans. */
  const runConfig = async (): Promise<RunConfig> => {
    const m = await getModule();
    if (custom && threads > 1 && !isThreadedModule(m)) {
      threads = 1;
      threadsFallbackReason = 'the binary passed in the options is single-threaded';
    }
    return { threads, shareTinyOps: options.shareTinyOps === true, winograd, workers: options.workers, instances };
  };
  const backend: WasmBackend = {
    name: 'wasm',
    releaseSpareMemory() {
      instances.release();
    },
    memoryStats() {
      return { liveExecutables: instances.liveExecutables, liveBytes: instances.liveBytes, spareBytes: instances.spareBytes };
    },
    get variant() {
      return variant;
    },
    get threads() {
      return threads;
    },
    get threadsFallbackReason() {
      return threadsFallbackReason;
    },
    async scratchFloats(plan: ExecutionPlan, free: readonly number[]): Promise<readonly number[]> {
      const config = await runConfig();
      return scratchRequest(plan, config, free);
    },
    async compile(plan: ExecutionPlan): Promise<WasmExecutable> {
      if (!plan.scratch) return compilePlan(backend, plan);
      const exe = await WasmPlanExecutable.create(await getModule(), plan, await runConfig());
      if (custom) variant = exe.variant;
      return exe;
    },
  };
  droppedBackends.register(backend, instances);
  return backend;
}
