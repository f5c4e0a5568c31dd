// createWebGpuBackend: the Backend for @cnn models on WebGPU, with an optional automatic
// fallback (to the wasm backend or any other) when WebGPU cannot be used.
import type { Backend, Executable, ExecutionPlan } from '@cnn/core';
import { acquireDevice, describeAdapter, WebGpuUnavailableError, type AdapterSummary } from './device.js';
import { WebGpuExecutable, type DeviceContext, type GpuMemoryCounters } from './executable.js';
import type { Kernel, Precision } from './wgsl/common.js';
import { resolveConvGemmTuning, type ConvGemmTuning } from './wgsl/matmul.js';

export interface WebGpuBackendOptions {
  /** a GPU object (navigator.gpu, or `create([])` from the 'webgpu' package in Node); defaults to navigator.gpu */
  gpu?: GPU;
  /** an adapter to request the device from (takes precedence over `gpu`) */
  adapter?: GPUAdapter;
  /** a ready device (takes precedence over `adapter`); it is not destroyed by `destroy()` */
  device?: GPUDevice;
  powerPreference?: GPUPowerPreference;
  /**
   * Storage precision of weights and activations (accumulation is always f32):
   * 'f32' (default); 'f16' needs the adapter feature 'shader-f16' and fails (or falls back,
   * see `fallback`) without it; 'auto' uses f16 where available, else f32 (see `precisionNote`).
   */
  precision?: 'f32' | 'f16' | 'auto';
  /**
   * What to do when WebGPU cannot be used (no WebGPU, no adapter, device request failed,
   * missing feature, device lost): by default throw a WebGpuUnavailableError; 'wasm' switches to
   * the WebAssembly backend (loaded only then); or pass any Backend (or a function making one).
   */
  fallback?: 'wasm' | Backend | (() => Backend | Promise<Backend>);
  /** called once with the reason when the backend falls back */
  onFallback?: (reason: string) => void;
  /** run one forward pass on zeros at the end of compile() (default true) */
  warmup?: boolean;
  /** request 'timestamp-query' (where the adapter has it) so executables can profile() their dispatches */
  profiling?: boolean;
  /**
   * Lower the device's limits (never raise them), e.g. to exercise the weight-splitting path:
   * maxStorageBufferBindingSize in bytes, maxComputeWorkgroupsPerDimension.
   */
  limits?: { maxStorageBufferBindingSize?: number; maxComputeWorkgroupsPerDimension?: number };
  /**
   * Convolution GEMM tiling: row tile, when to split K and how far (defaults in
   * DEFAULT_CONV_GEMM_TUNING). Results are the same up to float rounding; only speed changes.
   */
  gemmTuning?: Partial<ConvGemmTuning>;
}

export interface WebGpuBackend extends Backend {
  /** 'webgpu', or the fallback backend's name once it is in use */
  readonly name: string;
  /** set when the backend fell back: why WebGPU is not being used */
  readonly fallbackReason: string | undefined;
  /** storage precision in use on the GPU (undefined after a fallback at creation) */
  readonly precision: Precision | undefined;
  /** why precision 'auto' (or a passed-in device) gave f32 */
  readonly precisionNote: string | undefined;
  /** the adapter in use (undefined after a fallback at creation) */
  readonly adapter: AdapterSummary | undefined;
  readonly device: GPUDevice | undefined;
  /** effective limits the kernels are planned against */
  readonly limits: { maxStorageBufferBindingSize: number; maxComputeWorkgroupsPerDimension: number } | undefined;
  /** compiles a plan; also resolves once pipelines exist and (with warmup) one pass has run */
  compile(plan: ExecutionPlan): Promise<Executable>;
  /** releases the device (if this backend created it) and cached pipelines */
  destroy(): void;
  /** Live executables and the GPU buffer bytes they hold (for soak tests; see benchmarks/soak.mjs). */
  memoryStats(): { liveExecutables: number; gpuBytes: number };
}

class WebGpuBackendImpl implements WebGpuBackend {
  fallbackReason: string | undefined;
  precisionNote: string | undefined;
  private fallbackBackend: Backend | undefined;
  private fallbackPending: Promise<Backend> | undefined;
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();
  private lost: string | undefined;
  private ctx: DeviceContext | undefined;

  constructor(
    private readonly options: WebGpuBackendOptions,
    readonly device: GPUDevice | undefined,
    readonly adapter: AdapterSummary | undefined,
    readonly precision: Precision | undefined,
    private readonly ownsDevice: boolean,
  ) {
    if (!device) return;
    device.lost.then((info) => {
      this.lost = `${info.reason}: ${info.message || 'no message'}`;
    });
    const cap = options.limits ?? {};
    const lower = (have: number, want: number | undefined) => (want === undefined ? have : Math.min(have, want));
    this.ctx = {
      device,
      precision: precision!,
      maxBindingBytes: lower(Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize), cap.maxStorageBufferBindingSize),
      maxWorkgroupsPerDimension: lower(device.limits.maxComputeWorkgroupsPerDimension, cap.maxComputeWorkgroupsPerDimension),
      gemmTuning: options.gemmTuning as ConvGemmTuning, // resolved by createWebGpuBackend
      pipeline: (k) => this.pipeline(k),
      lostReason: () => this.lost,
      counters: this.counters,
    };
  }

  get name(): string {
    return this.fallbackBackend?.name ?? 'webgpu';
  }

  get limits() {
    return this.ctx && { maxStorageBufferBindingSize: this.ctx.maxBindingBytes, maxComputeWorkgroupsPerDimension: this.ctx.maxWorkgroupsPerDimension };
  }

  /** Switches to the fallback for good (once), reporting why. */
  async fallBack(reason: string): Promise<Backend> {
    if (this.fallbackBackend) return this.fallbackBackend;
    this.fallbackPending ??= (async () => {
      const backend = await makeFallback(this.options.fallback!);
      this.fallbackBackend = backend;
      this.fallbackReason = reason;
      this.options.onFallback?.(reason);
      return backend;
    })();
    return this.fallbackPending;
  }

  private readonly counters: GpuMemoryCounters = { liveExecutables: 0, gpuBytes: 0 };

  memoryStats(): { liveExecutables: number; gpuBytes: number } {
    return { ...this.counters };
  }

  async compile(plan: ExecutionPlan): Promise<Executable> {
    if (this.fallbackBackend || !this.ctx) return (await this.fallBack(this.fallbackReason ?? 'WebGPU unavailable')).compile(plan);
    if (this.lost) {
      const reason = `the WebGPU device was lost (${this.lost})`;
      if (this.options.fallback) return (await this.fallBack(reason)).compile(plan);
      throw new WebGpuUnavailableError('device-lost', `Cannot compile: ${reason}; create a new backend.`);
    }
    let exe: WebGpuExecutable;
    try {
      exe = await WebGpuExecutable.create(this.ctx, plan);
      if (this.options.warmup ?? true) await exe.warmup();
    } catch (e) {
      // A device lost while compiling: the fallback, when there is one, compiles instead.
      if (!this.lost || !this.options.fallback) throw e;
      return (await this.fallBack(`the WebGPU device was lost (${this.lost})`)).compile(plan);
    }
    if (!this.options.fallback) return exe;
    return new FallbackExecutable(exe, plan, this, () => this.lost);
  }

  private pipeline(kernel: Kernel): Promise<GPUComputePipeline> {
    let p = this.pipelines.get(kernel.source);
    if (!p) {
      const device = this.device!;
      const module = device.createShaderModule({ code: kernel.source });
      p = device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } }).catch(async (e: Error) => {
        this.pipelines.delete(kernel.source);
        const info = await module.getCompilationInfo().catch(() => undefined);
        const messages = info?.messages.map((m) => `${m.type} at ${m.lineNum}:${m.linePos}: ${m.message}`).join('\n') ?? '';
        throw new Error(`WebGPU could not build a kernel pipeline: ${e.message}\n${messages}\n--- WGSL ---\n${kernel.source}`);
      });
      this.pipelines.set(kernel.source, p);
    }
    return p;
  }

  destroy(): void {
    this.pipelines.clear();
    if (this.ownsDevice) this.device?.destroy();
  }
}

/** Runs on the GPU until the device is lost, then (once) recompiles the plan on the fallback. */
class FallbackExecutable implements Executable {
  private replacement: Promise<Executable> | undefined;
  constructor(
    private readonly gpu: WebGpuExecutable,
    private readonly plan: ExecutionPlan,
    private readonly backend: WebGpuBackendImpl,
    private readonly lost: () => string | undefined,
  ) {}
  get weightBytes() {
    return this.gpu.weightBytes;
  }
  get arenaBytes() {
    return this.gpu.arenaBytes;
  }
  async run(input: Float32Array): Promise<Float32Array[]> {
    // this call's data, whichever executable ends up running it (the fallback may start only
    // after awaits, and Executable.run reads its input before returning)
    const copy = input instanceof Float32Array ? input.slice() : input;
    if (!this.replacement && !this.lost()) {
      try {
        return await this.gpu.runOwned(copy, true);
      } catch (e) {
        if (!this.lost()) throw e;
      }
    }
    this.replacement ??= this.backend.fallBack(`the WebGPU device was lost (${this.lost()})`).then((b) => b.compile(this.plan));
    return (await this.replacement).run(copy);
  }
  dispose(): void {
    this.gpu.dispose();
    this.replacement?.then((e) => e.dispose()).catch(() => undefined);
  }
}

async function makeFallback(f: NonNullable<WebGpuBackendOptions['fallback']>): Promise<Backend> {
  if (f === 'wasm') {
    const { createWasmBackend } = await import('../wasm/index.js');
    return createWasmBackend();
  }
  return typeof f === 'function' ? await f() : f;
}

/**
 * Creates the WebGPU backend: acquires the adapter and device now (so failures surface here),
 * then compiles plans into GPU executables. With `fallback`, failures to get a usable device
 * (and a device lost later) switch to the fallback backend instead, reported through
 * `onFallback`, `fallbackReason` and `name`.
 */
export async function createWebGpuBackend(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  const precision = options.precision ?? 'f32';
  if (!['f32', 'f16', 'auto'].includes(precision)) {
    throw new Error(`precision must be 'f32', 'f16' or 'auto', got ${JSON.stringify(precision)}`);
  }
  // bad knobs fail here, before any device is requested; the backend keeps the resolved tuning
  options = { ...options, gemmTuning: resolveConvGemmTuning(options.gemmTuning) };
  try {
    const got = await acquireDevice({
      gpu: options.gpu,
      adapter: options.adapter,
      device: options.device,
      powerPreference: options.powerPreference,
      wantF16: precision !== 'f32',
      requireF16: precision === 'f16',
      profiling: options.profiling,
    });
    const backend = new WebGpuBackendImpl(options, got.device, got.adapter, got.f16 ? 'f16' : 'f32', !options.device);
    backend.precisionNote = got.f16Note && `${got.f16Note}; using f32`;
    return backend;
  } catch (e) {
    if (!options.fallback || !(e instanceof WebGpuUnavailableError)) throw e;
    const backend = new WebGpuBackendImpl(options, undefined, undefined, undefined, false);
    await backend.fallBack(e.message);
    return backend;
  }
}

export { describeAdapter };
