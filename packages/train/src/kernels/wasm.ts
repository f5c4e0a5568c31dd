// Training kernels whose GEMMs run in the Rust wasm SIMD binary (kernels-wasm/src/train.rs,
// `train_gemm_f32_4x8`); operands are copied into its memory packed and padded to 4x8 tiles.
import { loadKernelModule, type WasmSource } from '@cnn/kernels/wasm';
import { gemm as gemmTs, type MatrixView } from './gemm.js';
import { gemmKernels, type Gemm } from './fast.js';
import type { FloatArray, TrainKernels } from './types.js';

interface TrainExports {
  readonly memory: WebAssembly.Memory;
  readonly __heap_base: WebAssembly.Global;
  train_gemm_f32_4x8(m: number, n: number, k: number, a: number, b: number, c: number, accumulate: number): void;
  train_tanh_f32(x: number, y: number, len: number): void;
}

export interface WasmTrainOptions {
  /** the kernel binary (path, URL or bytes); default the one @cnn/kernels ships */
  wasm?: WasmSource;
  /** the kernel binary: only the plain-SIMD one carries the training kernels */
  variant?: 'simd';
}

/** Loads the kernel binary and returns training kernels that use its GEMM (float32 only; float64 falls back to TypeScript). */
export async function createWasmTrainKernels(options: WasmTrainOptions = {}): Promise<TrainKernels> {
  // only the plain-SIMD binary carries the training kernels (kernels-wasm/src/lib.rs)
  const variant = options.variant ?? 'simd';
  const module = await loadKernelModule(options.wasm, variant);
  const instance = new WebAssembly.Instance(module, {});
  const exports = instance.exports as unknown as TrainExports;
  if (typeof exports.train_gemm_f32_4x8 !== 'function' || typeof exports.train_tanh_f32 !== 'function') {
    throw new Error('the kernel binary has no train_gemm_f32_4x8/train_tanh_f32 exports; rebuild it with packages/kernels/build.sh (kernels-wasm/src/train.rs)');
  }
  const heap = wasmHeap(exports);
  const base = gemmKernels(`wasm-${variant}`, wasmGemm(exports, heap));
  return {
    ...base,
    // tanh is LeNet's activation and Math.tanh a fifth of its step: the vector tanh of the inference epilogues
    activation(fn, x, y) {
      if (fn !== 'tanh' || !(x instanceof Float32Array) || !(y instanceof Float32Array)) return base.activation(fn, x, y);
      const padded = (x.length + 3) & ~3;
      const at = heap.reserve(2 * padded);
      heap.f32().set(x, at / 4);
      exports.train_tanh_f32(at, at + padded * 4, padded);
      y.set(heap.f32().subarray(at / 4 + padded, at / 4 + padded + x.length));
    },
  };
}

interface WasmHeap {
  /** makes room for `floats` floats after the heap base and returns that byte offset */
  reserve(floats: number): number;
  /** a view of the whole memory, renewed after growth */
  f32(): Float32Array;
}

function wasmHeap(x: TrainExports): WasmHeap {
  const base = (Number(x.__heap_base.value) + 63) & ~63;
  let view = new Float32Array(x.memory.buffer);
  return {
    reserve(floats) {
      const bytes = base + floats * 4;
      if (bytes > x.memory.buffer.byteLength) x.memory.grow(Math.ceil((bytes - x.memory.buffer.byteLength) / 65536));
      if (view.buffer !== x.memory.buffer) view = new Float32Array(x.memory.buffer);
      return base;
    },
    f32: () => (view.buffer !== x.memory.buffer ? (view = new Float32Array(x.memory.buffer)) : view),
  };
}

function wasmGemm(x: TrainExports, memory: WasmHeap): Gemm {
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
    x.train_gemm_f32_4x8(Mp, Np, K, base + aAt * 4, base + bAt * 4, base + cAt * 4, 0);
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
