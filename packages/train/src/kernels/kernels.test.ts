// The GEMM kernels (TypeScript and wasm SIMD) against the reference, op by op, in float32.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { referenceKernels } from './reference.js';
import { fastKernels } from './fast.js';
import { createWasmTrainKernels } from './wasm.js';
import { gemm, view } from './gemm.js';
import { Random } from '../random.js';
import { AdamW } from '../optim.js';
import { Parameter } from '../network.js';
import type { ConvGeometry, PoolGeometry, TrainKernels } from './types.js';

const random = new Random(11);
const rand = (n: number) => Float32Array.from({ length: n }, () => random.uniform(-1, 1));

function maxError(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return worst;
}

const convCases: ConvGeometry[] = [
  { n: 3, inC: 1, inH: 32, inW: 32, outC: 6, outH: 28, outW: 28, kernel: [5, 5], stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 },
  { n: 2, inC: 6, inH: 9, inW: 7, outC: 10, outH: 5, outW: 4, kernel: [3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 2 },
  { n: 2, inC: 8, inH: 6, inW: 6, outC: 8, outH: 6, outW: 6, kernel: [3, 3], stride: [1, 1], padding: [2, 2], dilation: [2, 2], groups: 8 },
  { n: 5, inC: 13, inH: 1, inW: 1, outC: 7, outH: 1, outW: 1, kernel: [1, 1], stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 },
  // K = 360 and 136 output channels: more than one block of the wasm GEMM's depth (256) and rows (128)
  { n: 2, inC: 40, inH: 6, inW: 6, outC: 136, outH: 6, outW: 6, kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 },
];

// The reference rounds its float32 accumulator after every term (up to 2,352 terms for the
// weight gradient of the first case), the GEMMs once per tile: a random walk of ~sqrt(2352)·6e-8
// per unit of magnitude, a few 1e-6 typical; 1e-4 relative leaves margin and still catches any
// wrong index (which gives errors of order 1).
const TOLERANCE = 1e-4;

/**
 * `keep`: run each convolution inside a pass whose column matrices are kept for the weight
 * gradient (startPass(true)), with other kernels' scratch work (a tanh, a linear layer) between
 * the forward pass and the gradients, as in a network.
 */
async function check(kernels: TrainKernels, keep = false) {
  for (const g of convCases) {
    const x = rand(g.n * g.inC * g.inH * g.inW);
    const w = rand(g.outC * (g.inC / g.groups) * g.kernel[0] * g.kernel[1]);
    const b = rand(g.outC);
    const dy = rand(g.n * g.outC * g.outH * g.outW);
    const run = (k: TrainKernels) => {
      const y = new Float32Array(dy.length);
      if (keep) k.startPass?.(true);
      k.conv2d(g, x, w, b, y);
      if (keep) {
        const big = rand(50_000);
        k.activation('tanh', big, new Float32Array(big.length));
        k.linear(100, 500, 100, big, big.subarray(0, 50_000), null, new Float32Array(10_000));
      }
      const dx = rand(x.length).fill(0.5);
      k.conv2dBackwardInput(g, dy, w, dx);
      const dw = new Float32Array(w.length).fill(0.25);
      const db = new Float32Array(b.length).fill(-1);
      k.conv2dBackwardWeight(g, x, dy, dw, db);
      return [y, dx, dw, db];
    };
    const want = run(referenceKernels);
    const got = run(kernels);
    want.forEach((t, i) => expect(maxError(got[i], t), `conv ${JSON.stringify(g)} output ${i}`).toBeLessThan(TOLERANCE));
  }
  for (const [n, inF, outF] of [[4, 120, 84], [7, 13, 10], [1, 3, 1]]) {
    const x = rand(n * inF);
    const w = rand(outF * inF);
    const b = rand(outF);
    const dy = rand(n * outF);
    const run = (k: TrainKernels) => {
      const y = new Float32Array(n * outF);
      k.linear(n, inF, outF, x, w, b, y);
      const dx = new Float32Array(x.length).fill(1);
      k.linearBackwardInput(n, inF, outF, dy, w, dx);
      const dw = new Float32Array(w.length);
      const db = new Float32Array(outF);
      k.linearBackwardWeight(n, inF, outF, x, dy, dw, db);
      return [y, dx, dw, db];
    };
    const want = run(referenceKernels);
    const got = run(kernels);
    want.forEach((t, i) => expect(maxError(got[i], t), `linear ${n}x${inF}->${outF} output ${i}`).toBeLessThan(TOLERANCE));
  }
}

/** Batch-norm statistics, normalisation and gradients (training and eval) against the reference. */
function checkBatchNorm(kernels: TrainKernels) {
  for (const [n, c, plane] of [[3, 5, 25], [2, 4, 16], [4, 3, 1]]) {
    const x = rand(n * c * plane).map((v, i) => v * 3 + (i % 7));
    const dy = rand(x.length);
    const params = Float32Array.from({ length: 4 * c }, (_, i) => [0.5 + (i % 3), 0.7, -1.2, 0.3][i % 4]);
    const run = (k: TrainKernels, training: boolean, withDx: boolean) => {
      const stats = new Float64Array(2 * c);
      k.batchNormStats(n, c, plane, x, stats);
      const y = new Float32Array(x.length);
      k.batchNormApply(n, c, plane, x, params, y);
      const sums = new Float64Array(2 * c);
      const dx = withDx ? new Float32Array(x.length).fill(0.5) : null;
      k.batchNormBackward(n, c, plane, x, dy, params, sums, dx, training);
      return { stats, y, sums, dx };
    };
    for (const training of [true, false]) {
      for (const withDx of [true, false]) {
        const want = run(referenceKernels, training, withDx);
        const got = run(kernels, training, withDx);
        const shape = `[${n}, ${c}, ${plane}] training ${training}`;
        // f64 sums in both; only the f32 values summed differ in rounding
        for (let i = 0; i < 2 * c; i++) {
          expect(Math.abs(got.stats[i] - want.stats[i]), `${shape} stats ${i}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(want.stats[i])));
          expect(Math.abs(got.sums[i] - want.sums[i]), `${shape} sums ${i}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(want.sums[i])));
        }
        expect(maxError(got.y, want.y), `${shape} y`).toBeLessThan(1e-6);
        if (withDx) expect(maxError(got.dx!, want.dx!), `${shape} dx`).toBeLessThan(1e-5);
        else expect(got.dx).toBeNull();
      }
    }
  }
}

const poolCases: PoolGeometry[] = [
  // LeNet's 2x2 subsampling; ResNet's 3x3 stride-2 max pooling with padding; a ceil-mode window that runs off the edge
  { n: 2, c: 3, inH: 28, inW: 28, outH: 14, outW: 14, kernel: [2, 2], stride: [2, 2], padding: [0, 0], countIncludePad: true },
  { n: 2, c: 4, inH: 9, inW: 8, outH: 5, outW: 4, kernel: [3, 3], stride: [2, 2], padding: [1, 1], countIncludePad: true },
  { n: 1, c: 2, inH: 7, inW: 6, outH: 4, outW: 3, kernel: [3, 2], stride: [2, 2], padding: [1, 0], countIncludePad: false },
];

/** Max and average pooling and their gradients against the reference: the same arithmetic, so the same bits. */
function checkPooling(kernels: TrainKernels) {
  for (const g of poolCases) {
    const x = rand(g.n * g.c * g.inH * g.inW);
    x[5] = Number.NaN;
    x[17] = x[16]; // a tie: the first maximum wins
    const dy = rand(g.n * g.c * g.outH * g.outW);
    const run = (k: TrainKernels) => {
      const yMax = new Float32Array(dy.length);
      const argmax = new Int32Array(dy.length);
      k.maxPool2d(g, x, yMax, argmax);
      const dxMax = new Float32Array(x.length).fill(0.5);
      k.maxPool2dBackward(g, dy, argmax, dxMax);
      const yAvg = new Float32Array(dy.length);
      k.avgPool2d(g, x.map((v) => (Number.isNaN(v) ? 1 : v)), yAvg);
      const dxAvg = new Float32Array(x.length).fill(0.25);
      k.avgPool2dBackward(g, dy, dxAvg);
      return { yMax, argmax, dxMax, yAvg, dxAvg };
    };
    expect(run(kernels), JSON.stringify(g)).toEqual(run(referenceKernels));
  }
}

describe('GEMM training kernels agree with the reference', () => {
  it('the strided TypeScript GEMM computes NN, NT and TN products, with and without accumulation', () => {
    const [M, N, K] = [7, 9, 5];
    const A = rand(M * K);
    const B = rand(K * N);
    const want = new Float64Array(M * N);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) want[i * N + j] += A[i * K + k] * B[k * N + j];
    const nn = new Float32Array(M * N);
    gemm(M, N, K, view(A, 0, K, 1), view(B, 0, N, 1), nn, 0, N, false);
    const at = new Float32Array(K * M);
    for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) at[k * M + i] = A[i * K + k];
    const tn = new Float32Array(M * N).fill(1);
    gemm(M, N, K, view(at, 0, 1, M), view(B, 0, N, 1), tn, 0, N, true);
    for (let i = 0; i < M * N; i++) {
      expect(nn[i]).toBeCloseTo(want[i], 5);
      expect(tn[i]).toBeCloseTo(want[i] + 1, 5);
    }
  });

  it('TypeScript GEMM kernels', async () => {
    await check(fastKernels);
  });

  it('wasm tanh matches Math.tanh to float32 precision, any length', async () => {
    const kernels = await createWasmTrainKernels();
    for (const n of [1, 7, 4099]) {
      const x = Float32Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * (i / n) * 12);
      const y = new Float32Array(n);
      kernels.activation('tanh', x, y);
      for (let i = 0; i < n; i++) expect(Math.abs(y[i] - Math.tanh(x[i]))).toBeLessThan(3e-7);
    }
  });

  it('wasm ReLU, and the ReLU and tanh gradients, agree with the reference, any length', async () => {
    const kernels = await createWasmTrainKernels();
    for (const n of [1, 7, 4099]) {
      const x = rand(n);
      x[0] = -0;
      if (n > 1) x[1] = Number.NaN;
      const y = new Float32Array(n);
      const want = new Float32Array(n);
      kernels.activation('relu', x, y);
      referenceKernels.activation('relu', x, want);
      expect(y).toEqual(want);
      const dy = rand(n);
      const finite = x.map((v) => (Number.isNaN(v) ? 0.3 : v));
      for (const fn of ['relu', 'tanh'] as const) {
        const out = finite.map((v) => (fn === 'tanh' ? Math.tanh(v) : Math.max(v, 0)));
        const got = new Float32Array(n).fill(0.5);
        const ref = new Float32Array(n).fill(0.5);
        kernels.activationBackward(fn, finite, out, dy, got);
        referenceKernels.activationBackward(fn, finite, out, dy, ref);
        // ReLU's gradient is a copy; tanh's rounds after each f32 operation instead of once
        expect(maxError(got, ref), `${fn} length ${n}`).toBeLessThan(fn === 'relu' ? 1e-7 : 3e-7);
      }
    }
  });

  it('wasm SIMD GEMM kernels', async () => {
    const kernels = await createWasmTrainKernels();
    expect(kernels.name).toMatch(/^wasm-/);
    await check(kernels);
  });

  it('wasm SIMD GEMM kernels on 2 threads agree with the reference, and with 1 thread bit for bit', async () => {
    const two = await createWasmTrainKernels({ threads: 2 });
    try {
      expect(two.name).toBe('wasm-simd-threads-2');
      await check(two, true);
      const one = await createWasmTrainKernels();
      const g = convCases[4];
      const x = rand(g.n * g.inC * g.inH * g.inW);
      const w = rand(g.outC * g.inC * 9);
      const dy = rand(g.n * g.outC * g.outH * g.outW);
      const run = (k: TrainKernels) => {
        const y = new Float32Array(dy.length);
        k.conv2d(g, x, w, null, y);
        const dx = new Float32Array(x.length);
        k.conv2dBackwardInput(g, dy, w, dx);
        const dw = new Float32Array(w.length);
        k.conv2dBackwardWeight(g, x, dy, dw, null);
        return [y, dx, dw];
      };
      expect(run(two)).toEqual(run(one));
    } finally {
      two.dispose?.();
    }
  });

  it('threads must be a whole number from 1 to 64', async () => {
    for (const threads of [0, 1.5, 65]) await expect(createWasmTrainKernels({ threads })).rejects.toThrow(new RegExp(`threads must be an integer from 1 to 64, got ${threads}`));
  });

  it('the wasm AdamW update gives the optimiser’s own loop’s bits', async () => {
    const kernels = await createWasmTrainKernels();
    const start = rand(1001);
    const grads = [rand(1001), rand(1001).map((v) => v * 1e-4), rand(1001)];
    const run = (withKernels: boolean) => {
      const p = new Parameter('w', start.slice(), [1001]);
      const opt = new AdamW([p], { lr: 3e-3, weightDecay: 0.05, ...(withKernels ? { kernels } : {}) });
      for (const g of grads) {
        p.gradBuffer().set(g);
        opt.step();
      }
      return { w: p.data, state: opt.state() };
    };
    const [ts, wasm] = [run(false), run(true)];
    expect(wasm.w).not.toEqual(start);
    expect(wasm.w).toEqual(ts.w);
    expect(wasm.state).toEqual(ts.state);
  });

  it('wasm max and average pooling and their gradients give the reference’s bits (padding, ceil windows, ties, NaN)', async () => {
    checkPooling(await createWasmTrainKernels());
  });

  it('wasm batch norm (statistics, normalisation, gradients; training and eval) agrees with the reference', async () => {
    checkBatchNorm(await createWasmTrainKernels());
  });

  it('the training binary loader rejects other files with a message that says what it expected', async () => {
    await expect(createWasmTrainKernels({ wasm: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) })).rejects.toThrow(/not a WebAssembly binary \(expected the bytes '\\0asm', got 8 bytes starting 01 02 03 04\)/);
    // the inference binary of @cnn/kernels carries no training kernels
    const inference = readFileSync(new URL('../../../kernels/wasm/cnn_kernels.wasm', import.meta.url));
    await expect(createWasmTrainKernels({ wasm: inference })).rejects.toThrow(/not a @cnn\/train kernel binary: missing exports train_gemm_f32_4x8, .*build packages\/train\/build\.sh/);
  });

  it('wasm SIMD GEMM kernels keeping each column matrix from the forward pass for the weight gradient', async () => {
    await check(await createWasmTrainKernels(), true);
  });
});
