// A plan compiled for one GPUDevice: weights uploaded once, the activation arena in one
// storage buffer (each dispatch binds the window of it that its slots occupy), one command
// encoder per forward pass and a single read-back at the end.
import { DisposedError, ShapeError, assertPlanChecked, type Executable, type ExecutionPlan } from '@cnn/core';
import { toHalfBits } from './half.js';
import { lowerOp, type LowerContext, type Step } from './lower.js';
import type { Kernel, Precision } from './wgsl/common.js';
import type { ConvGemmTuning } from './wgsl/matmul.js';
import { stageInKernel, stageOutKernel } from './wgsl/elementwise.js';

/** Bind-group offsets must be multiples of this (WebGPU's minimum alignment, all devices). */
const BINDING_ALIGN_BYTES = 256;


const DISPOSED_DURING_PASS = 'This WebGPU executable was disposed during the forward pass; its results are gone (dispose only after the runs you await).';
export interface DeviceContext {
  device: GPUDevice;
  precision: Precision;
  maxBindingBytes: number;
  maxWorkgroupsPerDimension: number;
  /** convolution GEMM tiling (the defaults where absent) */
  gemmTuning?: ConvGemmTuning;
  pipeline(kernel: Kernel): Promise<GPUComputePipeline>;
  /** set once the device is lost: the reason, in words */
  lostReason(): string | undefined;
  /** the backend's running totals, kept up by create() and dispose() */
  counters?: GpuMemoryCounters;
}

export interface GpuMemoryCounters {
  /** executables compiled and not yet disposed */
  liveExecutables: number;
  /** bytes of GPU buffers they hold (weights, arena, staging, uniforms, read-back) */
  gpuBytes: number;
}

// WebGPU's flag values, spelled out so the library needs no GPUBufferUsage/GPUMapMode globals
// (Node's 'webgpu' package only installs those when the app copies its `globals`).
const Usage = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80, QUERY_RESOLVE: 0x200 } as const;
const MAP_MODE_READ = 0x1;

const alignUp = (x: number, a: number) => Math.ceil(x / a) * a;

async function popErrors(device: GPUDevice, count: number): Promise<GPUError | null> {
  let first: GPUError | null = null;
  for (let i = 0; i < count; i++) first = (await device.popErrorScope()) ?? first;
  return first;
}

/** GPU time of one dispatch of a profiled forward pass. */
export interface DispatchTime {
  /** plan op index (-1 for f16 input/output staging) */
  op: number;
  /** the op's kind, or 'stage' */
  kind: string;
  /** template and variant, e.g. 'conv.tapAligned 64x64 3x3' */
  kernel: string;
  ms: number;
}

interface Prepared {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  grid: [number, number, number];
}

export class WebGpuExecutable implements Executable {
  readonly weightBytes: number;
  readonly arenaBytes: number;
  private readonly buffers: GPUBuffer[] = [];
  private prepared: Prepared[] = [];
  private arena!: GPUBuffer;
  private io: GPUBuffer | undefined;
  private scratch: GPUBuffer | undefined;
  private readback!: GPUBuffer;
  private readonly outputAt: number[] = [];
  private readonly outputFloats: number;
  private disposed = false;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly ctx: DeviceContext,
    private readonly plan: ExecutionPlan,
    private readonly steps: Step[],
  ) {
    let at = 0;
    for (const s of plan.outputs) {
      this.outputAt.push(at);
      at += s.size;
    }
    this.outputFloats = at;
    const bpe = ctx.precision === 'f16' ? 2 : 4;
    this.arenaBytes = alignUp(plan.arenaSize + 2, 64) * bpe;
    let w = 0;
    for (const s of steps) w += (s.weights ? alignUp(s.weights.length * bpe, 4) : 0) + (s.perChannel?.byteLength ?? 0);
    this.weightBytes = w;
  }

  static async create(ctx: DeviceContext, plan: ExecutionPlan): Promise<WebGpuExecutable> {
    assertPlanChecked(plan, 'webgpu');
    const lowerCtx: LowerContext = {
      precision: ctx.precision,
      maxBindingBytes: ctx.maxBindingBytes,
      maxWorkgroupsPerDimension: ctx.maxWorkgroupsPerDimension,
      gemmTuning: ctx.gemmTuning,
    };
    const steps: Step[] = [];
    const f16 = ctx.precision === 'f16';
    // f16 arenas are filled and read through an f32 staging buffer: [input | outputs...].
    if (f16) steps.push({ op: -1, kernel: stageInKernel(lowerCtx, plan.input.size), offsets: [0, plan.input.offset, 0, 0], touches: [[plan.input.offset, plan.input.size]] });
    plan.ops.forEach((op, i) => {
      try {
        steps.push(...lowerOp(op, i, lowerCtx));
      } catch (e) {
        throw new Error(`plan.ops[${i}] (${op.kind}): ${(e as Error).message}`);
      }
    });
    const exe = new WebGpuExecutable(ctx, plan, steps);
    if (f16) {
      plan.outputs.forEach((s, i) => {
        steps.push({ op: -1, kernel: stageOutKernel(lowerCtx, s.size), offsets: [s.offset, 0, 0, plan.input.size + exe.outputAt[i]], touches: [[s.offset, s.size]] });
      });
    }
    await exe.upload();
    exe.gpuBytes = exe.buffers.reduce((a, b) => a + b.size, 0);
    if (ctx.counters) {
      ctx.counters.liveExecutables++;
      ctx.counters.gpuBytes += exe.gpuBytes;
    }
    return exe;
  }

  /** bytes of GPU buffers this executable holds (0 once disposed) */
  gpuBytes = 0;

  private async upload(): Promise<void> {
    const { device, precision } = this.ctx;
    const windows = this.bindingWindows();
    const ioBytes = (this.plan.input.size + this.outputFloats) * 4;
    if (precision === 'f16' && ioBytes > this.ctx.maxBindingBytes) {
      throw new Error(`the f32 input/output staging buffer needs ${ioBytes} bytes, more than maxStorageBufferBindingSize (${this.ctx.maxBindingBytes})`);
    }
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    const pipelines = this.steps.map((s) => this.ctx.pipeline(s.kernel));
    this.createBuffers(ioBytes);
    const uniforms = this.writeOffsets(windows);
    const stepBuffers = this.uploadStepBuffers();
    let resolved: GPUComputePipeline[];
    try {
      resolved = await Promise.all(pipelines);
    } catch (e) {
      await popErrors(device, 2);
      this.dispose();
      throw e;
    }
    this.prepared = this.steps.map((s, i) => ({ pipeline: resolved[i], bindGroup: this.bindStep(i, resolved[i], windows[i], uniforms, stepBuffers[i]), grid: s.kernel.grid }));
    const error = await popErrors(device, 2);
    if (error) {
      this.dispose();
      const oom = error.constructor?.name === 'GPUOutOfMemoryError' || /out of memory/i.test(error.message);
      throw new Error(
        oom
          ? `WebGPU ran out of memory compiling this plan (weights ${this.weightBytes} bytes, arena ${this.arenaBytes} bytes): ${error.message}`
          : `WebGPU rejected the compiled plan: ${error.message}`,
      );
    }
  }

  /** The arena window each step binds (aligned), checked first: a plan that cannot be bound fails before anything is allocated. */
  private bindingWindows(): { start: number; bytes: number }[] {
    const { device, precision } = this.ctx;
    const bpe = precision === 'f16' ? 2 : 4;
    const alignElements = BINDING_ALIGN_BYTES / bpe;
    if (this.arenaBytes > device.limits.maxBufferSize) {
      throw new Error(
        `the activation arena needs ${this.arenaBytes} bytes, more than this device's maxBufferSize (${device.limits.maxBufferSize}); ` +
          'use a smaller batch or input size',
      );
    }
    return this.steps.map((s) => {
      const lo = Math.min(...s.touches.map(([o]) => o));
      const hi = Math.max(...s.touches.map(([o, n]) => o + n));
      const start = Math.floor(lo / alignElements) * alignElements;
      const bytes = (alignUp(hi, 4 / bpe) - start) * bpe;
      if (bytes > this.ctx.maxBindingBytes) {
        const where = s.op >= 0 ? `plan.ops[${s.op}] (${this.plan.ops[s.op].kind})` : 'input/output staging';
        throw new Error(
          `${where} reads and writes ${bytes} bytes of the activation arena, more than one storage binding may hold on this device ` +
            `(maxStorageBufferBindingSize ${this.ctx.maxBindingBytes}); use a smaller batch or input size`,
        );
      }
      return { start, bytes };
    });
  }

  private track(b: GPUBuffer): GPUBuffer {
    this.buffers.push(b);
    return b;
  }

  /** The arena, the f16 input/output staging, the split-K scratch (its own buffer) and the readback buffer. */
  private createBuffers(ioBytes: number): void {
    const { device, precision } = this.ctx;
    this.arena = this.track(device.createBuffer({ label: 'cnn arena', size: this.arenaBytes, usage: Usage.STORAGE | Usage.COPY_DST | Usage.COPY_SRC }));
    if (precision === 'f16') {
      this.io = this.track(device.createBuffer({ label: 'cnn io', size: ioBytes, usage: Usage.STORAGE | Usage.COPY_DST | Usage.COPY_SRC }));
    }
    const scratchFloats = Math.max(0, ...this.steps.map((s) => s.scratchFloats ?? 0));
    if (scratchFloats > 0) {
      this.scratch = this.track(device.createBuffer({ label: 'cnn split-K scratch', size: scratchFloats * 4, usage: Usage.STORAGE }));
    }
    this.readback = this.track(device.createBuffer({ label: 'cnn readback', size: this.outputFloats * 4, usage: Usage.MAP_READ | Usage.COPY_DST }));
  }

  /** One uniform block per step: its slot offsets relative to its window. */
  private writeOffsets(windows: readonly { start: number }[]): GPUBuffer {
    const size = this.steps.length * BINDING_ALIGN_BYTES;
    const uniforms = this.track(this.ctx.device.createBuffer({ label: 'cnn offsets', size, usage: Usage.UNIFORM, mappedAtCreation: true }));
    const u32 = new Uint32Array(uniforms.getMappedRange());
    this.steps.forEach((s, i) => {
      // unused offsets are 0 and unread: clamp rather than wrap
      const rel = (o: number) => Math.max(0, o - windows[i].start);
      u32.set([rel(s.offsets[0]), rel(s.offsets[1]), rel(s.offsets[2]), s.offsets[3]], (i * BINDING_ALIGN_BYTES) / 4);
    });
    uniforms.unmap();
    return uniforms;
  }

  /** Each step's weights (f16 on f16 executables) and per-channel parameters, uploaded; the steps let go of their copies. */
  private uploadStepBuffers(): { weights?: GPUBuffer; perChannel?: GPUBuffer }[] {
    const half = this.ctx.precision === 'f16';
    const buffers = this.steps.map((s) => ({
      weights: s.weights ? this.uploadArray(`op ${s.op} weights`, s.weights, half) : undefined,
      perChannel: s.perChannel ? this.uploadArray(`op ${s.op} per-channel`, s.perChannel, false) : undefined,
    }));
    // Plans keep their own copies; the packed ones are garbage now.
    for (const s of this.steps) {
      s.weights = undefined;
      s.perChannel = undefined;
    }
    return buffers;
  }

  private uploadArray(label: string, data: Float32Array, half: boolean): GPUBuffer {
    const size = alignUp(Math.max(data.length * (half ? 2 : 4), 4), 4);
    const buffer = this.track(this.ctx.device.createBuffer({ label, size, usage: Usage.STORAGE, mappedAtCreation: true }));
    const mapped = buffer.getMappedRange();
    if (half) {
      const dst = new Uint16Array(mapped);
      for (let i = 0; i < data.length; i++) dst[i] = toHalfBits(data[i]);
    } else {
      new Float32Array(mapped).set(data);
    }
    buffer.unmap();
    return buffer;
  }

  private bindStep(i: number, pipeline: GPUComputePipeline, window: { start: number; bytes: number }, uniforms: GPUBuffer, b: { weights?: GPUBuffer; perChannel?: GPUBuffer }): GPUBindGroup {
    const s = this.steps[i];
    const bpe = this.ctx.precision === 'f16' ? 2 : 4;
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.arena, offset: window.start * bpe, size: window.bytes } },
      { binding: 1, resource: { buffer: uniforms, offset: i * BINDING_ALIGN_BYTES, size: 16 } },
    ];
    if (s.kernel.bindings.includes('weights')) entries.push({ binding: 2, resource: { buffer: b.weights! } });
    if (s.kernel.bindings.includes('perChannel')) entries.push({ binding: 3, resource: { buffer: b.perChannel! } });
    if (s.kernel.bindings.includes('io')) entries.push({ binding: 4, resource: { buffer: this.io! } });
    if (s.kernel.bindings.includes('scratch')) entries.push({ binding: 5, resource: { buffer: this.scratch! } });
    return this.ctx.device.createBindGroup({ label: `op ${s.op}`, layout: pipeline.getBindGroupLayout(0), entries });
  }

  /** dispatches per forward pass */
  get dispatchCount(): number {
    return this.steps.length;
  }

  /** distinct pipelines (kernel sources) this plan uses */
  get pipelineCount(): number {
    return new Set(this.steps.map((s) => s.kernel.source)).size;
  }

  /** Runs one forward pass on zeros, so the first real inference pays no pipeline or driver start-up. */
  async warmup(): Promise<void> {
    await this.run(new Float32Array(this.plan.input.size));
  }

  run(input: Float32Array): Promise<Float32Array[]> {
    return this.runOwned(input, false);
  }

  /**
   * run(), where `owned` says the caller hands `input` over (a copy nobody else writes), so it
   * is not copied again: the device-lost fallback's own copy (backend.ts).
   */
  runOwned(input: Float32Array, owned: boolean): Promise<Float32Array[]> {
    if (this.disposed) return Promise.reject(new DisposedError('This WebGPU executable was disposed; compile the plan again.'));
    const { plan } = this;
    if (!(input instanceof Float32Array) || input.length !== plan.input.size) {
      return Promise.reject(
        new ShapeError(
          `run() expects a Float32Array of ${plan.input.size} floats (NHWC [${plan.input.shape.join(', ')}]), ` +
            `got ${input instanceof Float32Array ? `${input.length} floats` : String(input)}`,
        ),
      );
    }
    // One pass at a time: they share the arena and the read-back buffer. The input is copied
    // now, so a caller that reuses its buffer before the pass starts still gets this call's data.
    const copy = owned ? input : input.slice();
    const result = this.queue.then(() => this.forward(copy));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async forward(input: Float32Array): Promise<Float32Array[]> {
    const { device } = this.ctx;
    const lost = this.ctx.lostReason();
    if (lost) throw new Error(`The WebGPU device was lost (${lost}); create the backend and compile the model again.`);
    if (this.disposed) throw new DisposedError('This WebGPU executable was disposed; compile the plan again.');
    const { plan } = this;
    device.pushErrorScope('validation');
    const data = input as Float32Array<ArrayBuffer>;
    if (this.io) device.queue.writeBuffer(this.io, 0, data);
    else device.queue.writeBuffer(this.arena, plan.input.offset * 4, data);
    const encoder = device.createCommandEncoder({ label: 'cnn forward' });
    const pass = encoder.beginComputePass();
    for (const p of this.prepared) {
      pass.setPipeline(p.pipeline);
      pass.setBindGroup(0, p.bindGroup);
      pass.dispatchWorkgroups(p.grid[0], p.grid[1], p.grid[2]);
    }
    pass.end();
    if (this.io) {
      encoder.copyBufferToBuffer(this.io, plan.input.size * 4, this.readback, 0, this.outputFloats * 4);
    } else {
      plan.outputs.forEach((s, i) => encoder.copyBufferToBuffer(this.arena, s.offset * 4, this.readback, this.outputAt[i] * 4, s.size * 4));
    }
    device.queue.submit([encoder.finish()]);
    const error = await device.popErrorScope();
    if (this.disposed) throw new DisposedError(DISPOSED_DURING_PASS);
    if (error) throw new Error(`WebGPU rejected the forward pass: ${error.message}`);
    try {
      await this.readback.mapAsync(MAP_MODE_READ);
    } catch (e) {
      const reason = this.ctx.lostReason();
      if (reason) throw new Error(`The WebGPU device was lost during the forward pass (${reason}).`);
      // destroying the read-back buffer (dispose) rejects mapAsync with an empty message
      if (this.disposed) throw new DisposedError(DISPOSED_DURING_PASS);
      throw new Error(`Reading the results back failed: ${(e as Error).message || (e as Error).name || 'no reason given'}`);
    }
    if (this.disposed) throw new DisposedError(DISPOSED_DURING_PASS);
    const all = new Float32Array(this.readback.getMappedRange().slice(0));
    this.readback.unmap();
    return plan.outputs.map((s, i) => all.subarray(this.outputAt[i], this.outputAt[i] + s.size));
  }

  /**
   * One forward pass with a GPU timestamp around every dispatch (each in its own compute pass),
   * for finding the slow kernels. Needs a backend created with `profiling: true` on an adapter
   * with 'timestamp-query'. Timings are the GPU's; passes add a little overhead of their own.
   */
  profile(input: Float32Array): Promise<DispatchTime[]> {
    const result = this.queue.then(() => this.profileOnce(input));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async profileOnce(input: Float32Array): Promise<DispatchTime[]> {
    const { device } = this.ctx;
    if (this.disposed) throw new DisposedError('This WebGPU executable was disposed; compile the plan again.');
    if (!device.features.has('timestamp-query')) {
      throw new Error("profile() needs the 'timestamp-query' feature: create the backend with { profiling: true } on an adapter that has it");
    }
    if (!(input instanceof Float32Array) || input.length !== this.plan.input.size) throw new ShapeError(`profile() expects ${this.plan.input.size} floats`);
    const count = this.prepared.length * 2;
    const querySet = device.createQuerySet({ type: 'timestamp', count });
    const resolve = device.createBuffer({ size: count * 8, usage: Usage.QUERY_RESOLVE | Usage.COPY_SRC });
    const read = device.createBuffer({ size: count * 8, usage: Usage.MAP_READ | Usage.COPY_DST });
    try {
      const data = input as Float32Array<ArrayBuffer>;
      if (this.io) device.queue.writeBuffer(this.io, 0, data);
      else device.queue.writeBuffer(this.arena, this.plan.input.offset * 4, data);
      const encoder = device.createCommandEncoder({ label: 'cnn profile' });
      this.prepared.forEach((p, i) => {
        const pass = encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
        pass.setPipeline(p.pipeline);
        pass.setBindGroup(0, p.bindGroup);
        pass.dispatchWorkgroups(p.grid[0], p.grid[1], p.grid[2]);
        pass.end();
      });
      encoder.resolveQuerySet(querySet, 0, count, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, read, 0, count * 8);
      device.queue.submit([encoder.finish()]);
      await read.mapAsync(MAP_MODE_READ);
      const ns = new BigUint64Array(read.getMappedRange().slice(0));
      read.unmap();
      return this.steps.map((s, i) => ({
        op: s.op,
        kind: s.op >= 0 ? this.plan.ops[s.op].kind : 'stage',
        kernel: s.kernel.name,
        ms: ns[2 * i + 1] >= ns[2 * i] ? Number(ns[2 * i + 1] - ns[2 * i]) / 1e6 : 0,
      }));
    } finally {
      querySet.destroy();
      resolve.destroy();
      read.destroy();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.gpuBytes > 0 && this.ctx.counters) {
      this.ctx.counters.liveExecutables--;
      this.ctx.counters.gpuBytes -= this.gpuBytes;
    }
    this.gpuBytes = 0;
    for (const b of this.buffers) b.destroy();
    this.buffers.length = 0;
    this.prepared = [];
  }
}
