// Training kernels whose GEMMs run in @cnn/train's Rust wasm SIMD binary (kernels-wasm/src/train.rs,
// `train_gemm_f32_4x8`, built with the crate's `train` feature; ./binary.ts loads it); operands are
// copied into its memory packed and padded to 4x8 tiles. With threads > 1 the threaded binary runs
// on shared memory and each GEMM's column panels are shared by a worker pool (@cnn/kernels'), with
// results identical to one thread's.
import { sharedMemoryUnavailableReason, startWasmWorkerPool, type WorkerPool } from '@cnn/kernels/wasm';
import { loadTrainModule, type TrainWasmSource } from './binary.js';
import { gemm as gemmTs, type MatrixView } from './gemm.js';
import { gemmKernels, type Gemm } from './fast.js';
import type { ConvGeometry, FloatArray, PoolGeometry, TrainKernels } from './types.js';

interface TrainExports {
  /** the single-threaded binary's own memory (the threaded one imports a shared one) */
  readonly memory?: WebAssembly.Memory;
  readonly __heap_base: WebAssembly.Global;
  train_gemm_f32_4x8_shared?(descriptor: number, control: number): void;
  threads_control_size?(): number;
  threads_shutdown?(control: number): void;
  train_gemm_scratch_len(): number;
  train_gemm_f32_4x8(m: number, n: number, k: number, a: number, b: number, c: number, accumulate: number, pack: number): void;
  train_tanh_f32(x: number, y: number, len: number): void;
  train_im2col_f32(x: number, geometry: number, col: number, ld: number, adjoint: number): void;
  train_transpose_group_f32(dy: number, n: number, channels: number, p: number, c0: number, count: number, out: number, ld: number): void;
  train_adamw_f32(w: number, g: number, m: number, v: number, len: number, h: number): void;
  train_rows_to_nchw_f32(c: number, ldc: number, n: number, count: number, p: number, c0: number, channels: number, bias: number, out: number): void;
  train_nchw_to_rows_f32(x: number, n: number, channels: number, p: number, c0: number, count: number, out: number, ld: number): void;
  train_transpose_f32(src: number, rows: number, cols: number, ldSrc: number, dst: number, ldDst: number, accumulate: number): void;
  train_max_pool_f32(x: number, planes: number, geometry: number, y: number, argmax: number): void;
  train_avg_pool_f32(x: number, planes: number, geometry: number, y: number, countIncludePad: number, adjoint: number): void;
  train_activation_backward_f32(code: number, x: number, y: number, dy: number, dx: number, len: number): void;
  train_relu_f32(x: number, y: number, len: number): void;
  train_bn_stats_f32(x: number, n: number, c: number, plane: number, stats: number): void;
  train_bn_apply_f32(x: number, n: number, c: number, plane: number, params: number, y: number): void;
  train_bn_backward_f32(x: number, dy: number, n: number, c: number, plane: number, params: number, sums: number, dx: number, training: number): void;
}

export interface WasmTrainOptions {
  /**
   * the training kernel binary (path, URL or bytes); default cnn_train.wasm (one thread) or
   * cnn_train-threads.wasm, which this package ships
   */
  wasm?: TrainWasmSource;
  /**
   * threads that share each GEMM, default 1; more needs shared wasm memory (Node, or a
   * cross-origin isolated page) and starts threads − 1 workers, until dispose()
   */
  threads?: number;
}

/** kernels-wasm's activation codes (abi.rs) for train_activation_backward_f32 */
const ACT_RELU = 1;
const ACT_TANH = 3;

/** Stack of each worker (the training kernels need a few hundred bytes). */
const WORKER_STACK_BYTES = 64 * 1024;
/** Below this many multiply-adds a GEMM stays on the calling thread: waking the pool costs more. */
const SHARED_GEMM_MIN = 1 << 18;

/** Loads the kernel binary and returns training kernels that use its GEMM (float32 only; float64 falls back to TypeScript). */
export async function createWasmTrainKernels(options: WasmTrainOptions = {}): Promise<TrainKernels> {
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new RangeError(`createWasmTrainKernels: threads must be an integer from 1 to 64, got ${String(threads)}`);
  }
  const why = threads > 1 ? sharedMemoryUnavailableReason() : undefined;
  if (why) throw new Error(`createWasmTrainKernels: ${threads} threads need shared wasm memory, but ${why}; use threads: 1`);
  const module = await loadTrainModule(options.wasm, threads > 1);
  const runtime = threads > 1 ? await startThreaded(module, threads) : startSingle(module);
  const { exports, heap, gemm } = runtime;
  const base = gemmKernels(threads > 1 ? `wasm-simd-threads-${threads}` : 'wasm-simd', wasmGemm(heap, gemm));
  const conv = wasmConvolution(exports, heap, gemm);
  const bn = wasmBatchNorm(exports, heap);
  const pool = wasmPooling(exports, heap);
  return {
    ...base,
    maxPool2d: (g, x, y, argmax) => (f32(x) && f32(y) ? pool.max(g, x, y, argmax) : base.maxPool2d(g, x, y, argmax)),
    avgPool2d: (g, x, y) => (f32(x) && f32(y) ? pool.avg(g, x, y) : base.avgPool2d(g, x, y)),
    avgPool2dBackward: (g, dy, dx) => (f32(dy) && f32(dx) ? pool.avgBackward(g, dy, dx) : base.avgPool2dBackward(g, dy, dx)),
    dispose: runtime.dispose,
    adamw(w, g, m, v, h) {
      const { at: [wAt, gAt, mAt, vAt, hAt], heap: view } = place(heap, w.length, g.length, m.length, v.length, 12);
      view.set(w, wAt);
      view.set(g, gAt);
      view.set(m, mAt);
      view.set(v, vAt);
      new Float64Array(view.buffer, hAt * 4, 6).set(h);
      exports.train_adamw_f32(wAt * 4, gAt * 4, mAt * 4, vAt * 4, w.length, hAt * 4);
      w.set(view.subarray(wAt, wAt + w.length));
      m.set(view.subarray(mAt, mAt + m.length));
      v.set(view.subarray(vAt, vAt + v.length));
    },
    batchNormStats: (n, c, plane, x, stats) => (f32(x) ? bn.stats(n, c, plane, x, stats) : base.batchNormStats(n, c, plane, x, stats)),
    batchNormApply: (n, c, plane, x, params, y) => (f32(x) && f32(params) && f32(y) ? bn.apply(n, c, plane, x, params, y) : base.batchNormApply(n, c, plane, x, params, y)),
    batchNormBackward: (n, c, plane, x, dy, params, sums, dx, training) =>
      f32(x) && f32(dy) && f32(params) && (dx === null || f32(dx))
        ? bn.backward(n, c, plane, x, dy, params, sums, dx, training)
        : base.batchNormBackward(n, c, plane, x, dy, params, sums, dx, training),
    startPass: (keep) => conv.startPass(keep),
    conv2d: (g, x, w, b, y) => (f32(x) && f32(w) && f32(y) ? conv.forward(g, x, w, b, y) : base.conv2d(g, x, w, b, y)),
    conv2dBackwardInput: (g, dy, w, dx) => (f32(dy) && f32(w) && f32(dx) ? conv.backwardInput(g, dy, w, dx) : base.conv2dBackwardInput(g, dy, w, dx)),
    conv2dBackwardWeight: (g, x, dy, dw, db) => (f32(x) && f32(dy) && f32(dw) ? conv.backwardWeight(g, x, dy, dw, db) : base.conv2dBackwardWeight(g, x, dy, dw, db)),
    // tanh is LeNet's activation and Math.tanh a fifth of its step: the vector tanh of the inference epilogues
    activation(fn, x, y) {
      if ((fn !== 'tanh' && fn !== 'relu') || !f32(x) || !f32(y)) return base.activation(fn, x, y);
      const padded = up(x.length, 4);
      const { at: [xAt, yAt], heap: view } = place(heap, padded, padded);
      view.set(x, xAt);
      (fn === 'tanh' ? exports.train_tanh_f32 : exports.train_relu_f32)(xAt * 4, yAt * 4, padded);
      y.set(view.subarray(yAt, yAt + x.length));
    },
    activationBackward(fn, x, y, dy, dx) {
      if ((fn !== 'tanh' && fn !== 'relu') || !f32(x) || !f32(y) || !f32(dy) || !f32(dx)) return base.activationBackward(fn, x, y, dy, dx);
      const padded = up(x.length, 4);
      // tanh reads y, ReLU x: only that one is copied in
      const { at: [vAt, dyAt, dxAt], heap: view } = place(heap, padded, padded, padded);
      view.set(fn === 'tanh' ? y : x, vAt);
      view.set(dy, dyAt);
      view.set(dx, dxAt);
      exports.train_activation_backward_f32(fn === 'tanh' ? ACT_TANH : ACT_RELU, vAt * 4, vAt * 4, dyAt * 4, dxAt * 4, padded);
      dx.set(view.subarray(dxAt, dxAt + dx.length));
    },
  };
}

/** C[m][n] = A[m][k]·B[k][n] on byte offsets into the kernels' memory (m a multiple of 4, n of 8). */
type WasmGemm = (m: number, n: number, k: number, a: number, b: number, c: number) => void;

interface TrainRuntime {
  readonly exports: TrainExports;
  readonly heap: WasmHeap;
  readonly gemm: WasmGemm;
  dispose(): void;
}

function startSingle(module: WebAssembly.Module): TrainRuntime {
  const exports = new WebAssembly.Instance(module, {}).exports as unknown as TrainExports;
  if (!exports.memory) throw new Error('the single-threaded training binary exports no memory: is it the threaded one?');
  const pack = align64(Number(exports.__heap_base.value));
  const heap = wasmHeap(exports.memory, pack + align64(exports.train_gemm_scratch_len() * 4));
  return {
    exports,
    heap,
    gemm: (m, n, k, a, b, c) => exports.train_gemm_f32_4x8(m, n, k, a, b, c, 0, pack),
    dispose: () => {},
  };
}

/**
 * The threaded binary on a new shared memory, laid out from __heap_base as: one GEMM packing
 * scratch per thread, the pool's control block, a GEMM descriptor, the workers' stacks, then
 * the heap of ./wasm.ts.
 */
async function startThreaded(module: WebAssembly.Module, threads: number): Promise<TrainRuntime> {
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as TrainExports;
  if (!exports.train_gemm_f32_4x8_shared || !exports.threads_control_size || !exports.threads_shutdown) {
    throw new Error('the threaded training binary lacks train_gemm_f32_4x8_shared or the thread pool exports; rebuild packages/train/build.sh');
  }
  const packFloats = exports.train_gemm_scratch_len();
  const pack = align64(Number(exports.__heap_base.value));
  const control = pack + align64(threads * packFloats * 4);
  const descriptor = control + align64(exports.threads_control_size());
  const stacks = descriptor + 64;
  const heapStart = stacks + (threads - 1) * WORKER_STACK_BYTES;
  if (heapStart > memory.buffer.byteLength) memory.grow(Math.ceil((heapStart - memory.buffer.byteLength) / 65536));
  new Uint8Array(memory.buffer, control, descriptor - control).fill(0);
  const stackTops = Array.from({ length: threads - 1 }, (_, i) => stacks + (i + 1) * WORKER_STACK_BYTES);
  const pool: WorkerPool = await startWasmWorkerPool({ module, memory, control, stackTops });
  const heap = wasmHeap(memory, heapStart);
  const share = exports.train_gemm_f32_4x8_shared;
  let disposed = false;
  return {
    exports,
    heap,
    gemm: (m, n, k, a, b, c) => {
      if (disposed) throw new Error('these training kernels were disposed');
      const panels = n / 8;
      const items = m * n * k < SHARED_GEMM_MIN ? 1 : Math.min(panels, 8 * threads);
      new Uint32Array(memory.buffer, descriptor, 9).set([m, n, k, a, b, c, 0, pack, items]);
      share(descriptor, items > 1 ? control : 0);
    },
    dispose: () => {
      if (disposed) return;
      disposed = true;
      exports.threads_shutdown!(control);
      pool.terminate();
    },
  };
}

const align64 = (bytes: number) => (bytes + 63) & ~63;

/** Lays out `sizes` floats one after another (16-byte aligned) in scratch; returns their float offsets and the view. */
function place(memory: WasmHeap, ...sizes: number[]): { at: number[]; heap: Float32Array } {
  const at: number[] = [];
  let total = 0;
  for (const s of sizes) {
    at.push(total);
    total += up(s, 4);
  }
  const base = memory.reserve(total) / 4;
  return { at: at.map((a) => base + a), heap: memory.f32() };
}

/** Pooling in Rust (`train_max_pool_f32`, `train_avg_pool_f32`), the reference's arithmetic: operands copied in, results out. */
function wasmPooling(x: TrainExports, memory: WasmHeap) {
  const geometry = (heap: Float32Array, at: number, g: PoolGeometry) =>
    new Uint32Array(heap.buffer, at * 4, 10).set([g.inH, g.inW, g.outH, g.outW, g.kernel[0], g.kernel[1], g.stride[0], g.stride[1], g.padding[0], g.padding[1]]);
  return {
    max(g: PoolGeometry, input: Float32Array, y: Float32Array, argmax: Int32Array): void {
      const { at: [xAt, gAt, yAt, iAt], heap } = place(memory, input.length, 10, y.length, y.length);
      heap.set(input, xAt);
      geometry(heap, gAt, g);
      x.train_max_pool_f32(xAt * 4, g.n * g.c, gAt * 4, yAt * 4, iAt * 4);
      y.set(heap.subarray(yAt, yAt + y.length));
      argmax.set(new Int32Array(heap.buffer, iAt * 4, y.length));
    },
    avg(g: PoolGeometry, input: Float32Array, y: Float32Array): void {
      const { at: [xAt, gAt, yAt], heap } = place(memory, input.length, 10, y.length);
      heap.set(input, xAt);
      geometry(heap, gAt, g);
      x.train_avg_pool_f32(xAt * 4, g.n * g.c, gAt * 4, yAt * 4, g.countIncludePad ? 1 : 0, 0);
      y.set(heap.subarray(yAt, yAt + y.length));
    },
    avgBackward(g: PoolGeometry, dy: Float32Array, dx: Float32Array): void {
      const { at: [dxAt, gAt, dyAt], heap } = place(memory, dx.length, 10, dy.length);
      heap.set(dx, dxAt);
      heap.set(dy, dyAt);
      geometry(heap, gAt, g);
      x.train_avg_pool_f32(dxAt * 4, g.n * g.c, gAt * 4, dyAt * 4, g.countIncludePad ? 1 : 0, 1);
      dx.set(heap.subarray(dxAt, dxAt + dx.length));
    },
  };
}

/** Batch norm in Rust (kernels-wasm/src/train.rs, `train_bn_*`): operands copied in, results out. */
function wasmBatchNorm(x: TrainExports, memory: WasmHeap) {
  return {
    stats(n: number, c: number, plane: number, input: Float32Array, stats: Float64Array): void {
      const { at: [xAt, sAt], heap } = place(memory, input.length, 4 * c);
      heap.set(input, xAt);
      x.train_bn_stats_f32(xAt * 4, n, c, plane, sAt * 4);
      stats.set(new Float64Array(heap.buffer, sAt * 4, 2 * c));
    },
    apply(n: number, c: number, plane: number, input: Float32Array, params: Float32Array, y: Float32Array): void {
      const { at: [xAt, pAt, yAt], heap } = place(memory, input.length, params.length, y.length);
      heap.set(input, xAt);
      heap.set(params, pAt);
      x.train_bn_apply_f32(xAt * 4, n, c, plane, pAt * 4, yAt * 4);
      y.set(heap.subarray(yAt, yAt + y.length));
    },
    backward(n: number, c: number, plane: number, input: Float32Array, dy: Float32Array, params: Float32Array, sums: Float64Array, dx: Float32Array | null, training: boolean): void {
      const { at: [xAt, dyAt, pAt, sAt, dxAt], heap } = place(memory, input.length, dy.length, params.length, 4 * c, dx ? dx.length : 0);
      heap.set(input, xAt);
      heap.set(dy, dyAt);
      heap.set(params, pAt);
      if (dx) heap.set(dx, dxAt);
      x.train_bn_backward_f32(xAt * 4, dyAt * 4, n, c, plane, pAt * 4, sAt * 4, dx ? dxAt * 4 : 0, training ? 1 : 0);
      sums.set(new Float64Array(heap.buffer, sAt * 4, 2 * c));
      if (dx) dx.set(heap.subarray(dxAt, dxAt + dx.length));
    },
  };
}

interface WasmHeap {
  /** makes room for `floats` floats of scratch above the kept region and returns that byte offset */
  reserve(floats: number): number;
  /** moves `floats` floats from scratch into the kept region, which scratch never overwrites; returns their float offset */
  keep(floats: number): number;
  /** empties the kept region */
  releaseKept(): void;
  /** a view of the whole memory, renewed after growth */
  f32(): Float32Array;
}

/** The scratch heap from byte offset `base` (64-byte aligned) up, growing `memory` as needed. */
function wasmHeap(memory: WebAssembly.Memory, base: number): WasmHeap {
  let kept = 0; // bytes
  let view = new Float32Array(memory.buffer);
  const heap: WasmHeap = {
    reserve(floats) {
      const bytes = base + kept + floats * 4;
      if (bytes > memory.buffer.byteLength) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
      if (view.buffer !== memory.buffer) view = new Float32Array(memory.buffer);
      return base + kept;
    },
    keep(floats) {
      const at = heap.reserve(floats) / 4;
      kept += Math.ceil(floats / 4) * 16;
      return at;
    },
    releaseKept() {
      kept = 0;
    },
    f32: () => (view.buffer !== memory.buffer ? (view = new Float32Array(memory.buffer)) : view),
  };
  return heap;
}

function wasmGemm(memory: WasmHeap, gemm: WasmGemm): Gemm {
  return (M, N, K, a, b, C, cOffset, ldc, accumulate) => {
    if (!(C instanceof Float32Array) || !(a.data instanceof Float32Array) || !(b.data instanceof Float32Array)) {
      return gemmTs(M, N, K, a, b, C, cOffset, ldc, accumulate);
    }
    const Mp = (M + 3) & ~3;
    const Np = (N + 7) & ~7;
    const aAt = 0;
    const bAt = Mp * K;
    const cAt = bAt + K * Np;
    const base = memory.reserve(cAt + Mp * Np);
    const heap = memory.f32();
    pack(heap, base / 4 + aAt, a, M, K, K);
    if (Mp > M) heap.fill(0, base / 4 + aAt + M * K, base / 4 + aAt + Mp * K);
    pack(heap, base / 4 + bAt, b, K, N, Np);
    gemm(Mp, Np, K, base + aAt * 4, base + bAt * 4, base + cAt * 4);
    const out = base / 4 + cAt;
    for (let i = 0; i < M; i++) {
      const row = heap.subarray(out + i * Np, out + i * Np + N);
      const dst = cOffset + i * ldc;
      if (accumulate) for (let j = 0; j < N; j++) C[dst + j] += row[j];
      else C.set(row, dst);
    }
  };
}

/** Copies a strided rows x cols view into row-major [rows][ld], zeroing the padding columns. */
function pack(heap: Float32Array, at: number, v: MatrixView, rows: number, cols: number, ld: number): void {
  const src = v.data as FloatArray;
  for (let r = 0; r < rows; r++) {
    const dst = at + r * ld;
    const start = v.offset + r * v.rowStride;
    if (v.colStride === 1) heap.set(src.subarray(start, start + cols), dst);
    else for (let c = 0, s = start; c < cols; c++, s += v.colStride) heap[dst + c] = src[s];
    if (ld > cols) heap.fill(0, dst + cols, dst + ld);
  }
}

const f32 = (a: FloatArray): a is Float32Array => a instanceof Float32Array;
const up = (v: number, m: number) => Math.ceil(v / m) * m;

/**
 * Convolutions as GEMMs with every operand built in wasm memory: im2col (and its adjoint, col2im)
 * run in Rust straight from the input copied in, so the large column matrix never exists in
 * JavaScript and is never copied. Per group, with K = icg·kh·kw and NP = n·outH·outW:
 *   forward          y[ocg][NP]  = w[ocg][K] · col[K][NP]
 *   input gradient   dcol[K][NP] = wᵀ[K][ocg] · dy[ocg][NP], then col2im into dx
 *   weight gradient  dwᵀ[K][ocg] = col[K][NP] · dyᵀ[NP][ocg]
 * Operands are padded with zeros to the 4x8 microkernel's tiles (m to 4, n to 8).
 */
function wasmConvolution(x: TrainExports, memory: WasmHeap, gemm: WasmGemm) {
  // The column store: the column matrices of this pass's single-group convolutions, kept in the
  // heap's kept region (when a backward pass follows) for their weight gradients, by input array
  // and geometry. startPass empties it; every kernel's scratch lies above it.
  let keep = false;
  const stored = new Map<FloatArray, { key: string; at: number }[]>();
  const geometryKey = (g: ConvGeometry) => JSON.stringify(g);
  /** Room for `floats` in the column store; its float offset. */
  const storeColumns = (input: FloatArray, g: ConvGeometry, floats: number) => {
    const at = memory.keep(floats);
    const list = stored.get(input) ?? [];
    list.push({ key: geometryKey(g), at });
    stored.set(input, list);
    return at;
  };
  const writeGeometry = (heap: Float32Array, at: number, g: ConvGeometry, group: number) => {
    const icg = g.inC / g.groups;
    new Uint32Array(heap.buffer, at * 4, 16).set([
      g.n, g.inC, g.inH, g.inW, g.outH, g.outW, g.kernel[0], g.kernel[1], g.stride[0], g.stride[1],
      g.padding[0], g.padding[1], g.dilation[0], g.dilation[1], group * icg, icg,
    ]);
  };
  /** im2col of group `group` into rows [0, K) of `col` (ld floats each), zeroing columns NP..ld and rows K..rows. */
  const im2col = (heap: Float32Array, xAt: number, gAt: number, col: number, K: number, NP: number, ld: number, rows: number) => {
    x.train_im2col_f32(xAt * 4, gAt * 4, col * 4, ld, 0);
    if (ld > NP) for (let r = 0; r < K; r++) heap.fill(0, col + r * ld + NP, col + (r + 1) * ld);
    heap.fill(0, col + K * ld, col + rows * ld);
  };
  const sizes = (g: ConvGeometry) => {
    const K = (g.inC / g.groups) * g.kernel[0] * g.kernel[1];
    const P = g.outH * g.outW;
    return { K, P, NP: g.n * P, ocg: g.outC / g.groups };
  };

  return {
    startPass(keepColumns: boolean): void {
      keep = keepColumns;
      memory.releaseKept();
      stored.clear();
    },

    forward(g: ConvGeometry, input: Float32Array, w: Float32Array, bias: FloatArray | null, y: Float32Array): void {
      const { K, P, NP, ocg } = sizes(g);
      const NPp = up(NP, 8);
      const ocgp = up(ocg, 4);
      const Kp = up(K, 4);
      // kept columns have Kp rows (zero past K): the weight gradient's operand as it is
      const keptAt = keep && g.groups === 1 ? storeColumns(input, g, Kp * NPp) : -1;
      // the weights with zero rows after them, so every group's A has whole 4-row tiles
      const { at: [xAt, gAt, wAt, biasAt, scratchAt, cAt, yAt], heap } = place(memory, input.length, 16, w.length + 4 * K, bias ? bias.length : 0, keptAt >= 0 ? 0 : K * NPp, ocgp * NPp, y.length);
      const colAt = keptAt >= 0 ? keptAt : scratchAt;
      heap.set(input, xAt);
      heap.set(w, wAt);
      heap.fill(0, wAt + w.length, wAt + w.length + 4 * K);
      if (bias) heap.set(bias, biasAt);
      for (let group = 0; group < g.groups; group++) {
        writeGeometry(heap, gAt, g, group);
        im2col(heap, xAt, gAt, colAt, K, NP, NPp, keptAt >= 0 ? Kp : K);
        gemm(ocgp, NPp, K, (wAt + group * ocg * K) * 4, colAt * 4, cAt * 4);
        x.train_rows_to_nchw_f32(cAt * 4, NPp, g.n, ocg, P, group * ocg, g.outC, bias ? (biasAt + group * ocg) * 4 : 0, yAt * 4);
      }
      y.set(memory.f32().subarray(yAt, yAt + y.length));
    },

    backwardInput(g: ConvGeometry, dy: Float32Array, w: Float32Array, dx: Float32Array): void {
      const { K, P, ocg } = sizes(g);
      const NPp = up(sizes(g).NP, 8);
      const Kp = up(K, 4);
      const { at: [dxAt, gAt, wAt, dyAt, aAt, bAt, cAt], heap } = place(memory, dx.length, 16, w.length, dy.length, Kp * ocg, ocg * NPp, Kp * NPp);
      heap.set(dx, dxAt);
      heap.set(w, wAt);
      heap.set(dy, dyAt);
      for (let group = 0; group < g.groups; group++) {
        writeGeometry(heap, gAt, g, group);
        // wᵀ: A[kk][o] = w[group·ocg + o][kk], zero rows K..Kp
        x.train_transpose_f32((wAt + group * ocg * K) * 4, ocg, K, K, aAt * 4, ocg, 0);
        memory.f32().fill(0, aAt + K * ocg, aAt + Kp * ocg);
        // B[o][b·P + p] = dy[b, group·ocg + o, p]
        x.train_nchw_to_rows_f32(dyAt * 4, g.n, g.outC, P, group * ocg, ocg, bAt * 4, NPp);
        gemm(Kp, NPp, ocg, aAt * 4, bAt * 4, cAt * 4);
        x.train_im2col_f32(dxAt * 4, gAt * 4, cAt * 4, NPp, 1);
      }
      dx.set(memory.f32().subarray(dxAt, dxAt + dx.length));
    },

    backwardWeight(g: ConvGeometry, input: Float32Array, dy: Float32Array, dw: Float32Array, db: FloatArray | null): void {
      const { K, P, NP, ocg } = sizes(g);
      const NPp = up(NP, 8);
      const Kp = up(K, 4);
      const ocgp = up(ocg, 8);
      const key = geometryKey(g);
      const keptAt = g.groups === 1 ? (stored.get(input)?.find((e) => e.key === key)?.at ?? -1) : -1;
      const { at: [xAt, dyAt, gAt, scratchAt, bAt, cAt, dwAt], heap } = place(memory, keptAt >= 0 ? 0 : input.length, dy.length, 16, keptAt >= 0 ? 0 : Kp * NPp, NPp * ocgp, Kp * ocgp, dw.length);
      const colAt = keptAt >= 0 ? keptAt : scratchAt;
      if (keptAt < 0) heap.set(input, xAt);
      heap.set(dy, dyAt);
      heap.set(dw, dwAt);
      for (let group = 0; group < g.groups; group++) {
        writeGeometry(heap, gAt, g, group);
        if (keptAt < 0) im2col(heap, xAt, gAt, colAt, K, NP, NPp, Kp);
        // dyᵀ: B[b·P + p][o] = dy[b, group·ocg + o, p]
        memory.f32().fill(0, bAt, bAt + NPp * ocgp);
        x.train_transpose_group_f32(dyAt * 4, g.n, g.outC, P, group * ocg, ocg, bAt * 4, ocgp);
        gemm(Kp, ocgp, NPp, colAt * 4, bAt * 4, cAt * 4);
        // dw[group·ocg + o][kk] += C[kk][o]
        x.train_transpose_f32(cAt * 4, K, ocg, ocgp, (dwAt + group * ocg * K) * 4, K, 1);
        if (db) {
          for (let o = 0; o < ocg; o++) {
            let s = 0;
            for (let b = 0; b < g.n; b++) {
              const src = (b * g.outC + group * ocg + o) * P;
              for (let p = 0; p < P; p++) s += dy[src + p];
            }
            db[group * ocg + o] += s;
          }
        }
      }
      dw.set(memory.f32().subarray(dwAt, dwAt + dw.length));
    },
  };
}
