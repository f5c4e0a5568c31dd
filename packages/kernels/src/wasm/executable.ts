// A compiled plan on the wasm backend:
// plans each op (op-plans.ts), lays out one wasm memory as
// [module data | worker stacks | control | descriptors | packed weights | arena (with scratch) | zero row | slack],
// packs the weights with the binary's own packers, writes the descriptors, and runs the plan.
import { DisposedError, ShapeError, assertPlanChecked, type ExecutionPlan, type ScratchPlacement, type Slot } from '@cnn/core';
import {
  FEATURE_RELAXED_SIMD,
  FEATURE_THREADS,
  instantiateKernels,
  isThreadedModule,
  loadFailures,
  sharedMemoryUnavailable,
  workersNeeded,
  type KernelExports,
  type WasmVariant,
} from './loader.js';
import type { WasmWorkers } from './threads.js';
import { DESC_ARGS_WORD, DESC_WORDS } from './abi.js';
import { ALIGN_FLOATS, BYTES_PER_FLOAT, alignUp, planOps as planEachOp, type OpPlan } from './op-plans.js';
import type { InstancePool, ParkedThreads, RunConfig, WasmExecutable } from './backend.js';

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

/** Backend.scratchFloats: the scratch each op of a valid plan needs, given the arena floats free at it. */
export function scratchRequest(plan: ExecutionPlan, config: RunConfig, free: readonly number[]): number[] {
  assertPlanChecked(plan, 'wasm');
  checkWasmLimits(plan);
  return planEachOp(plan.ops, config, free).map((p) => p.scratchFloats ?? 0);
}

/** The wasm plan of every op, each checked against the scratch plan.scratch grants it. */
function planOps(plan: ExecutionPlan, config: RunConfig, scratch: ScratchPlacement): OpPlan[] {
  return planEachOp(plan.ops, config, scratch.floats).map((p, i) => {
    if ((p.scratchFloats ?? 0) !== scratch.floats[i]) {
      fail(`plan.ops[${i}] (${plan.ops[i].kind})`, `needs ${p.scratchFloats ?? 0} floats of scratch on this backend, plan.scratch grants ${scratch.floats[i]} (compile plans with compilePlan from @cnn/core)`);
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
async function acquireMemory(
  module: WebAssembly.Module,
  plan: ExecutionPlan,
  config: RunConfig,
  kit: WasmWorkers | undefined,
  single: KernelExports | undefined,
  layout: MemoryLayout,
): Promise<{ memory: WebAssembly.Memory; kernels: KernelExports; reused?: ParkedThreads }> {
  const needBytes = layout.endFloats * BYTES_PER_FLOAT;
  const needPages = Math.ceil(needBytes / WASM_PAGE_BYTES);
  const tooBig = async (e: unknown) =>
    (await loadFailures()).memoryRefused(needBytes, (layout.weightsEnd - layout.weightsStart) * 4, plan.arenaSize * 4, e as Error);
  if (single) {
    const memory = single.memory!;
    const havePages = memory.buffer.byteLength / WASM_PAGE_BYTES;
    try {
      if (needPages > havePages) memory.grow(needPages - havePages);
    } catch (e) {
      throw await tooBig(e);
    }
    return { memory, kernels: single };
  }
  const reused = kit && config.instances ? kit.takeParked(config.instances, config.threads, needBytes) : undefined;
  if (reused) return { memory: reused.memory, kernels: reused.kernels, reused };
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: needPages, maximum: needPages, shared: true });
  } catch (e) {
    throw await tooBig(e);
  }
  const kernels = instantiateKernels(module, memory);
  const heapBase = Number(kernels.__heap_base.value);
  if (heapBase > THREADED_MODULE_BYTES) {
    throw (await loadFailures()).threadedDataTooLong(heapBase, THREADED_MODULE_BYTES);
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

export class WasmPlanExecutable implements WasmExecutable {
  readonly weightBytes: number;
  readonly arenaBytes: number;
  readonly memoryBytes: number;
  readonly variant: WasmVariant;
  readonly threads: number;
  workersExited: Promise<void> = Promise.resolve();
  private kernels: KernelExports | undefined;
  private stop: (() => void) | undefined;
  /** the threads kit that started this executable's workers, and parks them at dispose() */
  private kit: WasmWorkers | undefined;
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
    assertPlanChecked(plan, 'wasm');
    checkWasmLimits(plan);
    const threaded = isThreadedModule(module);
    const threads = threaded ? config.threads : 1;
    const noSharing = threaded ? sharedMemoryUnavailable(config.workers) : undefined;
    if (noSharing) throw (await loadFailures()).noSharedMemory(noSharing);
    const single = threaded ? undefined : (config.instances?.take() ?? instantiateKernels(module));
    const scratch = plan.scratch ?? { floats: plan.ops.map(() => 0), offsets: plan.ops.map(() => -1), arenaSize: plan.arenaSize };
    const opPlans = planOps(plan, config, scratch);
    const layout = layoutMemory(single ? Number(single.__heap_base.value) : THREADED_MODULE_BYTES, threads, opPlans, scratch.arenaSize);
    // the threads kit: the app's (options.workers, @cnn/kernels/wasm/threads) or, in Node, the Node
    // build's; an app on one thread bundles none of it, code splitting or not
    const kit = threads > 1 ? (config.workers ?? (await import('#kernels/node')).wasmWorkers) : undefined;
    if (threads > 1 && !kit) throw workersNeeded(threads);
    const { memory, kernels, reused } = await acquireMemory(module, plan, config, kit, single, layout);
    const heap = new Float32Array(memory.buffer);
    opPlans.forEach((p, i) => {
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
    if (kit) await exe.attachWorkers(kit, module, memory, layout, reused);
    if (config.instances) {
      exe.counters = config.instances;
      config.instances.liveExecutables++;
      config.instances.liveBytes += exe.memoryBytes;
    }
    return exe;
  }

  /** Takes over parked workers, or starts new ones on the memory's stacks and control block. */
  private async attachWorkers(kit: WasmWorkers, module: WebAssembly.Module, memory: WebAssembly.Memory, layout: MemoryLayout, reused: ParkedThreads | undefined): Promise<void> {
    const kernels = this.kernels!;
    const threads = this.threads;
    const stackTops = Array.from({ length: threads - 1 }, (_, i) => (layout.stacks + (i + 1) * layout.stackFloats) * BYTES_PER_FLOAT);
    const { stop, exited } = reused ?? (await kit.startThreads(module, memory, kernels, layout.control * BYTES_PER_FLOAT, stackTops));
    this.kit = kit;
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
      if (this.parkable && this.counters && this.kit) this.kit.parkThreads(this.counters, this.parkable);
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
