// One strided GEMM, C (+)= A·B, with a 4x4 register tile: NN, NT and TN products are the same
// loop with different strides, which is what convolution and linear gradients need.
import type { FloatArray } from './types.js';

/** Where a matrix lives in a flat array: element (r, c) is at `offset + r * rowStride + c * colStride`. */
export interface MatrixView {
  readonly data: FloatArray;
  readonly offset: number;
  readonly rowStride: number;
  readonly colStride: number;
}

export const view = (data: FloatArray, offset: number, rowStride: number, colStride: number): MatrixView => ({ data, offset, rowStride, colStride });

/**
 * C[m, n] = (accumulate ? C : 0) + Σ_k A[m, k] B[k, n], C row-major with leading dimension `ldc`.
 * Sums run over k in order for every element, so results do not depend on tiling.
 */
export function gemm(
  M: number,
  N: number,
  K: number,
  a: MatrixView,
  b: MatrixView,
  C: FloatArray,
  cOffset: number,
  ldc: number,
  accumulate: boolean,
): void {
  const A = a.data;
  const B = b.data;
  const ars = a.rowStride;
  const acs = a.colStride;
  const brs = b.rowStride;
  const bcs = b.colStride;
  const M4 = M - (M % 4);
  const N4 = N - (N % 4);
  for (let i = 0; i < M4; i += 4) {
    const a0 = a.offset + i * ars;
    for (let j = 0; j < N4; j += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      let pa = a0;
      let pb = b.offset + j * bcs;
      for (let k = 0; k < K; k++) {
        const x0 = A[pa];
        const x1 = A[pa + ars];
        const x2 = A[pa + 2 * ars];
        const x3 = A[pa + 3 * ars];
        const y0 = B[pb];
        const y1 = B[pb + bcs];
        const y2 = B[pb + 2 * bcs];
        const y3 = B[pb + 3 * bcs];
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
        pa += acs;
        pb += brs;
      }
      let pc = cOffset + i * ldc + j;
      if (accumulate) {
        C[pc] += c00; C[pc + 1] += c01; C[pc + 2] += c02; C[pc + 3] += c03; pc += ldc;
        C[pc] += c10; C[pc + 1] += c11; C[pc + 2] += c12; C[pc + 3] += c13; pc += ldc;
        C[pc] += c20; C[pc + 1] += c21; C[pc + 2] += c22; C[pc + 3] += c23; pc += ldc;
        C[pc] += c30; C[pc + 1] += c31; C[pc + 2] += c32; C[pc + 3] += c33;
      } else {
        C[pc] = c00; C[pc + 1] = c01; C[pc + 2] = c02; C[pc + 3] = c03; pc += ldc;
        C[pc] = c10; C[pc + 1] = c11; C[pc + 2] = c12; C[pc + 3] = c13; pc += ldc;
        C[pc] = c20; C[pc + 1] = c21; C[pc + 2] = c22; C[pc + 3] = c23; pc += ldc;
        C[pc] = c30; C[pc + 1] = c31; C[pc + 2] = c32; C[pc + 3] = c33;
      }
    }
    if (N4 < N) edge(i, i + 4, N4, N);
  }
  if (M4 < M) edge(M4, M, 0, N);

  function edge(i0: number, i1: number, j0: number, j1: number): void {
    for (let i = i0; i < i1; i++) {
      for (let j = j0; j < j1; j++) {
        let s = 0;
        let pa = a.offset + i * ars;
        let pb = b.offset + j * bcs;
        for (let k = 0; k < K; k++) {
          s += A[pa] * B[pb];
          pa += acs;
          pb += brs;
        }
        if (accumulate) C[cOffset + i * ldc + j] += s;
        else C[cOffset + i * ldc + j] = s;
      }
    }
  }
}
