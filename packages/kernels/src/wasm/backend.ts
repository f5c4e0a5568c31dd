// The WebAssembly backend: lays out one wasm memory per executable as
// [worker stacks | thread control | op descriptors | packed weights | activation arena | zero row]
// (op-local scratch, such as a Winograd convolution's transformed input and weights, lies in
// arena space that no activation occupies while that op runs: the backend asks for it in
// scratchFloats and @cnn/core's compilePlan places it),
// packs every weight once at compile time, writes one descriptor per op, and runs the whole plan
// in one call into wasm (kernels-wasm/src/plan.rs), shared between threads on the threaded
// binaries (kernels-wasm/src/threads.rs, workers.ts). Which binary runs is decided once per
// backend by feature detection (loader.ts).
import {
  compilePlan,
  DisposedError,
  ShapeError,
  validatePlan,
  type Backend,
  type Executable,
  type ExecutionPlan,
  type ScratchPlacement,
  type Slot,
} from '@cnn/core';
import {
  checkKernelModule,
  FEATURE_RELAXED_SIMD,
  FEATURE_THREADS,
  hasRelaxedSimd,
  instantiateKernels,
  isNode,
  isThreadedModule,
  loadKernelModule,
  sharedMemoryUnavailableReason,
  type KernelExports,
  type WasmSource,
  type WasmVariant,
} from './loader.js';
import type { WorkerPool } from './workers.js';
import { DESC_ARGS_WORD, DESC_WORDS } from './abi.js';
import { ALIGN_FLOATS, BYTES_PER_FLOAT, alignUp, planOp, type OpPlan } from './op-plans.js';

export { usesWinograd, winogradBand } from './op-plans.js';

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
   * Run eligible 3x3 stride-1 convolutions by Winograd F(4x4, 3x3) (see `usesWinograd`).
   * Default true; false keeps every convolution on the direct igemm path (tests, benchmarks).
   */
  winograd?: boolean;
}

/** Kernels read (never write) up to 7 floats past a tensor's last channel. */
const SLACK_FLOATS = 16;
const WASM_PAGE_BYTES = 65536;

/** Bump allocator over float indices of the wasm memory. */
class FloatLayout {
  constructor(public end: number) {}
  reserve(floats: number): number {
    const at = alignUp(this.end, ALIGN_FLOATS);
    this.end = at + floats;
    return at;
  }
}

function fail(where: string, message: string): never {
  throw new ShapeError(`${where}: ${message}`);
}

/** What the wasm kernels need beyond the shared contract (validatePlan in @cnn/core). */
function checkWasmLimits(plan: ExecutionPlan): void {
  plan.ops.forEach((op, i) => {
    if (op.kind === 'localResponseNorm' && !(op.k > 0)) {
      fail(`plan.ops[${i}] (localResponseNorm)`, `k must be > 0 (the wasm kernel takes a logarithm of k + ...), got ${op.k}`);
    }
  });
}

/**
 * The threaded binaries keep their data and the main thread's stack (256 KiB, set in
 * build.sh) below this address (checked at compile).
 */
const THREADED_MODULE_BYTES = 512 * 1024;
/** Stack bytes per worker: kernels use a few KiB (the igemm pointer table is 1 KiB). */
const WORKER_STACK_BYTES = 128 * 1024;
const CONTROL_FLOATS = 32;

/** How compile() runs a plan. */
interface RunConfig {
  threads: number;
  shareTinyOps: boolean;
  winograd: boolean;
  /** the backend's spare single-threaded instance, and where a disposed one goes back */
  instances?: InstancePool;
}

/**
 * Keeps the instance (and so the memory) of the last disposed single-threaded executable for the
 * next compile(). A wasm memory cannot shrink or be freed on demand: without reuse, every
 * compile/dispose cycle leaves a memory for the garbage collector, which frees them late, and
 * resident memory climbs by tens of MiB over a few hundred cycles.
 */
class InstancePool {
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
  private parked: ParkedThreads | undefined;

  takeThreaded(threads: number, needBytes: number): ParkedThreads | undefined {
    const p = this.parked;
    if (!p) return undefined;
    this.parked = undefined;
    if (p.threads === threads && p.memory.buffer.byteLength >= needBytes) return p;
    p.stop();
    return undefined;
  }

  park(p: ParkedThreads): void {
    if (this.parked && this.parked.memory.buffer.byteLength >= p.memory.buffer.byteLength) {
      p.stop();
      return;
    }
    this.parked?.stop();
    this.parked = p;
    // workers nobody claims soon are stopped, so dispose() still ends the threads it started
    const timer = setTimeout(() => {
      if (this.parked !== p) return;
      this.parked = undefined;
      p.stop();
    }, PARKED_WORKERS_MS) as { unref?: () => void };
    timer.unref?.();
  }

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

/** How long a disposed executable's workers wait for the backend's next compile() before they stop. */
const PARKED_WORKERS_MS = 1000;

interface ParkedThreads {
  readonly threads: number;
  readonly memory: WebAssembly.Memory;
  readonly kernels: KernelExports;
  readonly stop: () => void;
  readonly exited: Promise<void>;
}

/** Stops the parked workers of backends that were dropped. */
const droppedBackends = new FinalizationRegistry<InstancePool>((pool) => pool.release());

/** Shuts down the pools of executables that were dropped without dispose(). */
const abandonedPools = new FinalizationRegistry<() => void>((stop) => stop());

/** Float indices of one executable's wasm memory regions. */
interface MemoryLayout {
  readonly stacks: number;
  readonly stackFloats: number;
  readonly control: number;
  readonly descriptors: number;
  readonly weightsStart: number;
  readonly weightAt: readonly number[];
  readonly weightsEnd: number;
  readonly arenaStart: number;
  readonly zeros: number;
  /** where raw weights are staged for packing, and how many floats fit there */
  readonly staging: number;
  readonly capacity: number;
  readonly endFloats: number;
}

/** The wasm plan of every op, each checked against the scratch plan.scratch grants it. */
function planOps(plan: ExecutionPlan, config: RunConfig, scratch: ScratchPlacement): OpPlan[] {
  return plan.ops.map((op, i) => {
    const p = planOp(op, config, scratch.floats[i]);
    if ((p.scratchFloats ?? 0) !== scratch.floats[i]) {
      fail(`plan.ops[${i}] (${op.kind})`, `needs ${p.scratchFloats ?? 0} floats of scratch on this backend, plan.scratch grants ${scratch.floats[i]} (compile plans with compilePlan from @cnn/core)`);
    }
    return p;
  });
}

/** [module data | worker stacks | control | descriptors | packed weights | arena (with scratch) | zero row | slack] */
function layoutMemory(baseBytes: number, threads: number, opPlans: readonly OpPlan[], arenaFloats: number): MemoryLayout {
  const layout = new FloatLayout(Math.ceil(baseBytes / BYTES_PER_FLOAT));
  const stackFloats = WORKER_STACK_BYTES / BYTES_PER_FLOAT;
  const stacks = layout.reserve((threads - 1) * stackFloats);
  const control = layout.reserve(CONTROL_FLOATS);
  const descriptors = layout.reserve(opPlans.length * DESC_WORDS);
  const weightsStart = layout.reserve(0);
  const weightAt = opPlans.map((p) => (p.weightFloats > 0 ? layout.reserve(p.weightFloats) : 0));
  const weightsEnd = layout.end;
  const arenaStart = layout.reserve(arenaFloats);
  const zeros = layout.reserve(Math.max(ALIGN_FLOATS, ...opPlans.map((p) => p.zeroFloats)));
  layout.reserve(SLACK_FLOATS);
  // Raw weights are staged where the arena will be, before the arena is in use, in slices
  // that fit there (memory only extends past it for a plan whose arena is smaller than one slice).
  const staging = arenaStart;
  const capacity = Math.max(layout.end - SLACK_FLOATS - staging, ...opPlans.map((p) => p.stagingFloats));
  const endFloats = Math.max(layout.end, staging + capacity + SLACK_FLOATS);
  return { stacks, stackFloats, control, descriptors, weightsStart, weightAt, weightsEnd, arenaStart, zeros, staging, capacity, endFloats };
}

/**
 * The memory the layout needs: the single-threaded instance's own, grown; a parked threaded
 * executable's, with its instance and workers; or a new shared memory with a new instance.
 */
function acquireMemory(module: WebAssembly.Module, plan: ExecutionPlan, config: RunConfig, threads: number, single: KernelExports | undefined, layout: MemoryLayout): { memory: WebAssembly.Memory; kernels: KernelExports; reused?: ParkedThreads } {
  const needBytes = layout.endFloats * BYTES_PER_FLOAT;
  const needPages = Math.ceil(needBytes / WASM_PAGE_BYTES);
  const tooBig = (e: unknown) =>
    new Error(
      `The wasm backend needs ${(needBytes / 2 ** 20).toFixed(1)} MiB of wasm memory ` +
        `(weights ${(((layout.weightsEnd - layout.weightsStart) * 4) / 2 ** 20).toFixed(1)} MiB, arena ` +
        `${((plan.arenaSize * 4) / 2 ** 20).toFixed(1)} MiB), more than this engine grants ` +
        `(wasm32 allows at most 4 GiB): ${(e as Error).message}`,
    );
  if (single) {
    const memory = single.memory!;
    const havePages = memory.buffer.byteLength / WASM_PAGE_BYTES;
    try {
      if (needPages > havePages) memory.grow(needPages - havePages);
    } catch (e) {
      throw tooBig(e);
    }
    return { memory, kernels: single };
  }
  const reused = threads > 1 ? config.instances?.takeThreaded(threads, needBytes) : undefined;
  if (reused) return { memory: reused.memory, kernels: reused.kernels, reused };
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: needPages, maximum: needPages, shared: true });
  } catch (e) {
    throw tooBig(e);
  }
  const kernels = instantiateKernels(module, memory);
  const heapBase = Number(kernels.__heap_base.value);
  if (heapBase > THREADED_MODULE_BYTES) {
    throw new Error(`The threaded kernel binary's data ends at ${heapBase} bytes, past the ${THREADED_MODULE_BYTES} it is laid out for.`);
  }
  return { memory, kernels };
}

/** One descriptor per op (abi.ts): a header word with the op code, then its arguments. */
function writeDescriptors(memory: WebAssembly.Memory, opPlans: readonly OpPlan[], layout: MemoryLayout, scratchOffsets: readonly number[]): void {
  const heap = new Float32Array(memory.buffer);
  const words = new Uint32Array(memory.buffer);
  const slot = (s: Slot) => (layout.arenaStart + s.offset) * BYTES_PER_FLOAT;
  opPlans.forEach((p, i) => {
    const scratchAt = scratchOffsets[i] >= 0 ? (layout.arenaStart + scratchOffsets[i]) * BYTES_PER_FLOAT : 0;
    const { kind, args, floats } = p.describe(layout.weightAt[i], slot, layout.zeros * BYTES_PER_FLOAT, scratchAt);
    const at = layout.descriptors + i * DESC_WORDS;
    words.fill(0, at, at + DESC_WORDS);
    words[at] = kind;
    words.set(args, at + DESC_ARGS_WORD);
    for (const j of floats) heap[at + DESC_ARGS_WORD + j] = args[j];
  });
}

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

class WasmPlanExecutable implements WasmExecutable {
  readonly weightBytes: number;
  readonly arenaBytes: number;
  readonly memoryBytes: number;
  readonly variant: WasmVariant;
  readonly threads: number;
  workersExited: Promise<void> = Promise.resolve();
  private kernels: KernelExports | undefined;
  private stop: (() => void) | undefined;
  /** the backend's counters, and where dispose() returns a single-threaded instance for reuse */
  counters: InstancePool | undefined;
  /** what dispose() may park for the next threaded compile() instead of stopping it */
  parkable: ParkedThreads | undefined;
  private view: Float32Array;

  private constructor(
    k: KernelExports,
    memory: WebAssembly.Memory,
    private readonly input: Slot,
    private readonly outputs: readonly Slot[],
    private readonly arenaStart: number,
    private readonly descriptors: number,
    private readonly opCount: number,
    private readonly control: number,
    sizes: { weightBytes: number; arenaBytes: number },
    threads: number,
  ) {
    this.kernels = k;
    this.view = new Float32Array(memory.buffer);
    this.memoryBytes = memory.buffer.byteLength;
    this.weightBytes = sizes.weightBytes;
    this.arenaBytes = sizes.arenaBytes;
    this.threads = threads;
    const features = k.cnn_kernels_features();
    const isa = features & FEATURE_RELAXED_SIMD ? 'relaxed-simd' : 'simd';
    this.variant = features & FEATURE_THREADS ? `${isa}-threads` : isa;
  }

  static async create(module: WebAssembly.Module, plan: ExecutionPlan, config: RunConfig): Promise<WasmPlanExecutable> {
    validatePlan(plan);
    checkWasmLimits(plan);
    const threaded = isThreadedModule(module);
    const threads = threaded ? config.threads : 1;
    const noSharing = threaded ? sharedMemoryUnavailableReason() : undefined;
    if (noSharing) throw new Error(`This kernel binary is a threaded one, which needs shared memory, but ${noSharing}.`);
    const single = threaded ? undefined : (config.instances?.take() ?? instantiateKernels(module));
    const scratch = plan.scratch ?? { floats: plan.ops.map(() => 0), offsets: plan.ops.map(() => -1), arenaSize: plan.arenaSize };
    const opPlans = planOps(plan, config, scratch);
    const layout = layoutMemory(single ? Number(single.__heap_base.value) : THREADED_MODULE_BYTES, threads, opPlans, scratch.arenaSize);
    const { memory, kernels, reused } = acquireMemory(module, plan, config, threads, single, layout);
    const heap = new Float32Array(memory.buffer);
    opPlans.forEach((p, i) => {
      p.checkPackedLength?.(kernels);
      if (p.weightFloats > 0) p.fill(kernels, heap, layout.weightAt[i], layout.staging, layout.capacity);
    });
    heap.fill(0, layout.arenaStart, layout.endFloats);
    // parked workers are waiting on the control block's generation: it must not be reset
    if (!reused) heap.fill(0, layout.control, layout.control + CONTROL_FLOATS);
    writeDescriptors(memory, opPlans, layout, scratch.offsets);
    const known = kernels.plan_prepare(layout.descriptors * BYTES_PER_FLOAT, opPlans.length, threads, config.shareTinyOps ? 1 : 0);
    if (known !== opPlans.length) throw new Error(`plan.ops[${known}] (${plan.ops[known].kind}) is unknown to this kernel binary`);

    const exe = new WasmPlanExecutable(
      kernels, memory, plan.input, plan.outputs, layout.arenaStart, layout.descriptors * BYTES_PER_FLOAT, opPlans.length,
      threads > 1 ? layout.control * BYTES_PER_FLOAT : 0,
      { weightBytes: (layout.weightsEnd - layout.weightsStart) * BYTES_PER_FLOAT, arenaBytes: plan.arenaSize * BYTES_PER_FLOAT },
      threads,
    );
    if (threads > 1) await exe.attachWorkers(module, memory, layout, reused);
    if (config.instances) {
      exe.counters = config.instances;
      config.instances.liveExecutables++;
      config.instances.liveBytes += exe.memoryBytes;
    }
    return exe;
  }

  /** Takes over parked workers, or starts new ones on the memory's stacks and control block. */
  private async attachWorkers(module: WebAssembly.Module, memory: WebAssembly.Memory, layout: MemoryLayout, reused: ParkedThreads | undefined): Promise<void> {
    const kernels = this.kernels!;
    const threads = this.threads;
    let stop: () => void;
    let exited: Promise<void>;
    if (reused) {
      ({ stop, exited } = reused);
    } else {
      const controlPtr = layout.control * BYTES_PER_FLOAT;
      const shutdown = () => kernels.threads_shutdown!(controlPtr);
      const stackTops = Array.from({ length: threads - 1 }, (_, i) => (layout.stacks + (i + 1) * layout.stackFloats) * BYTES_PER_FLOAT);
      let pool: WorkerPool;
      try {
        // the worker code is its own chunk: apps on one thread never download it
        const { startWorkerPool } = await import('./workers.js');
        pool = await startWorkerPool({ module, memory, control: controlPtr, stackTops });
      } catch (e) {
        shutdown();
        throw e;
      }
      stop = () => {
        shutdown();
        pool.terminate();
      };
      exited = pool.exited;
    }
    this.stop = stop;
    this.workersExited = exited;
    this.parkable = { threads, memory, kernels, stop, exited };
    abandonedPools.register(this, stop, this);
  }

  async run(input: Float32Array): Promise<Float32Array[]> {
    const k = this.kernels;
    if (!k) throw new DisposedError('This wasm executable was disposed; compile the plan again.');
    if (!(input instanceof Float32Array) || input.length !== this.input.size) {
      throw new ShapeError(
        `run() expects a Float32Array of ${this.input.size} floats (NHWC [${this.input.shape.join(', ')}]), ` +
          `got ${input instanceof Float32Array ? `${input.length} floats` : String(input)}`,
      );
    }
    const heap = this.view;
    heap.set(input, this.arenaStart + this.input.offset);
    k.plan_run(this.descriptors, 0, this.opCount, this.control);
    return this.outputs.map((s) => heap.slice(this.arenaStart + s.offset, this.arenaStart + s.offset + s.size));
  }

  async profile(input: Float32Array): Promise<number[]> {
    await this.run(input);
    const k = this.kernels!;
    const ms: number[] = [];
    for (let i = 0; i < this.opCount; i++) {
      const t = performance.now();
      k.plan_run(this.descriptors, i, 1, this.control);
      ms.push(performance.now() - t);
    }
    return ms;
  }

  dispose(): void {
    if (this.stop) {
      abandonedPools.unregister(this);
      // parked (not stopped) when the backend can hand the workers to its next compile()
      if (this.parkable && this.counters) this.counters.park(this.parkable);
      else this.stop();
      this.stop = undefined;
      this.parkable = undefined;
    }
    const k = this.kernels;
    this.kernels = undefined;
    this.view = new Float32Array(0);
    const pool = this.counters;
    this.counters = undefined;
    if (pool) {
      pool.liveExecutables--;
      pool.liveBytes -= this.memoryBytes;
      // a threaded binary's shared memory has a fixed maximum, so only plain instances are reused
      if (k && !this.variant.endsWith('-threads')) pool.give(k);
    }
  }
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

function resolveThreads(threads: WasmBackendOptions['threads']): number {
  if (threads === undefined) return 1;
  if (threads === 'auto') return Math.min(logicalCores(), AUTO_THREADS_MAX);
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new RangeError(`createWasmBackend: threads must be 'auto' or an integer in [1, 256], got ${String(threads)}`);
  }
  return threads;
}

/** The threads and binary variant the options and this engine allow, and why fewer threads if so. */
function chooseVariant(options: WasmBackendOptions): { threads: number; variant: WasmVariant; threadsFallbackReason?: string } {
  const requested = resolveThreads(options.threads);
  let threads = requested;
  let threadsFallbackReason: string | undefined;
  if (requested > 1) {
    threadsFallbackReason =
      options.sharedMemory === false ? 'shared memory was turned off (sharedMemory: false)' : sharedMemoryUnavailableReason();
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
 * Creates the WebAssembly SIMD backend. The binary is picked once, here, by feature detection
 * (relaxed SIMD, shared memory), compiled on the first `compile()`, and shared by every
 * executable; each executable gets its own instance, memory and (threaded) workers, which
 * start in compile() and stop in dispose().
 */
export function createWasmBackend(options: WasmBackendOptions = {}): WasmBackend {
  let { threads, variant, threadsFallbackReason } = chooseVariant(options);
  const custom = options.module !== undefined || options.wasm !== undefined;

  let module: Promise<WebAssembly.Module> | undefined;
  const getModule = () => {
    module ??= options.module
      ? Promise.resolve(options.module).then((m) => (checkKernelModule(m, 'options.module'), m))
      : loadKernelModule(options.wasm, variant);
    // Let a later compile() retry after a failed load (e.g. the binary was built meanwhile).
    module.catch(() => (module = undefined));
    return module;
  };
  const instances = new InstancePool();
  /** Loads the binary (a custom one decides whether threads are possible) and says how to run plans. */
  const runConfig = async (): Promise<RunConfig> => {
    const m = await getModule();
    if (custom && threads > 1 && !isThreadedModule(m)) {
      threads = 1;
      threadsFallbackReason = 'the binary passed in the options is single-threaded';
    }
    return { threads, shareTinyOps: options.shareTinyOps === true, winograd: options.winograd !== false, instances };
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
      validatePlan(plan);
      return plan.ops.map((op, i) => planOp(op, config, free[i]).scratchFloats ?? 0);
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
