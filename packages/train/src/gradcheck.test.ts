// Every backward rule against central finite differences, in float64, on random small shapes.
import { describe, expect, it } from 'vitest';
import { Autodiff, softmaxCrossEntropy } from './ops.js';
import { Var } from './tape.js';
import { Random } from './random.js';
import { referenceKernels } from './kernels/reference.js';
import { fastKernels } from './kernels/fast.js';
import type { TrainKernels } from './kernels/types.js';

const random = new Random(7);
const randn = (n: number, scale = 1) => Float64Array.from({ length: n }, () => random.uniform(-scale, scale));
const leaf = (shape: number[], scale = 1) => new Var(randn(shape.reduce((a, b) => a * b, 1), scale), shape, [], null, true);

/** A scalar from any Var: Σ out·r with a fixed random r, so every output element matters. */
function project(out: Var, r: Float64Array): Var {
  let s = 0;
  for (let i = 0; i < r.length; i++) s += out.data[i] * r[i];
  return new Var(Float64Array.of(s), [], [out], (o) => {
    const g = out.gradBuffer();
    for (let i = 0; i < r.length; i++) g[i] += o.grad![0] * r[i];
  });
}

/** Max relative error between the tape's gradient and central differences, over every leaf element. */
function gradientError(leaves: Var[], f: () => Var): number {
  const r = randn(f().data.length);
  const loss = project(f(), r);
  for (const l of leaves) l.grad = null;
  // rebuild so the gradient reflects exactly this forward
  const tape = project(f(), r);
  tape.backward();
  void loss;
  let worst = 0;
  const h = 1e-6;
  for (const l of leaves) {
    const analytic = l.gradBuffer();
    for (let i = 0; i < l.data.length; i++) {
      const keep = l.data[i];
      l.data[i] = keep + h;
      const up = project(f(), r).data[0];
      l.data[i] = keep - h;
      const down = project(f(), r).data[0];
      l.data[i] = keep;
      const numeric = (up - down) / (2 * h);
      worst = Math.max(worst, Math.abs(numeric - analytic[i]) / Math.max(1, Math.abs(numeric), Math.abs(analytic[i])));
    }
  }
  return worst;
}

const TOLERANCE = 1e-7;

for (const kernels of [referenceKernels, fastKernels] as TrainKernels[]) {
  const ad = new Autodiff(kernels);
  describe(`gradients of the ${kernels.name} kernels match finite differences`, () => {
    const convCases = [
      { name: 'plain 3x3', x: [2, 3, 6, 5], w: [4, 3, 3, 3], stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, bias: true },
      { name: 'stride 2, padding 1', x: [2, 2, 7, 6], w: [3, 2, 3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 1, bias: true },
      { name: 'groups 2, rectangular', x: [1, 4, 5, 6], w: [6, 2, 2, 3], stride: [1, 2], padding: [1, 0], dilation: [1, 1], groups: 2, bias: false },
      { name: 'depthwise, dilation 2', x: [2, 3, 7, 7], w: [3, 1, 3, 3], stride: [1, 1], padding: [2, 2], dilation: [2, 2], groups: 3, bias: true },
      { name: '1x1 stride 2', x: [3, 4, 5, 5], w: [5, 4, 1, 1], stride: [2, 2], padding: [0, 0], dilation: [1, 1], groups: 1, bias: false },
    ] as const;
    for (const c of convCases) {
      it(`conv2d: ${c.name}`, () => {
        const x = leaf([...c.x]);
        const w = leaf([...c.w]);
        const b = c.bias ? leaf([c.w[0]]) : null;
        const f = () => ad.conv2d(x, w, b, c);
        expect(gradientError(b ? [x, w, b] : [x, w], f)).toBeLessThan(TOLERANCE);
      });
    }

    it('linear', () => {
      const x = leaf([3, 7]);
      const w = leaf([5, 7]);
      const b = leaf([5]);
      expect(gradientError([x, w, b], () => ad.linear(x, w, b))).toBeLessThan(TOLERANCE);
    });

    for (const fn of ['relu', 'relu6', 'tanh', 'sigmoid', 'silu'] as const) {
      it(`activation ${fn}`, () => {
        const x = leaf([2, 3, 4, 4], fn === 'relu6' ? 8 : 2);
        expect(gradientError([x], () => ad.activation(x, fn))).toBeLessThan(TOLERANCE);
      });
    }

    const poolCases = [
      { name: '2x2 stride 2', kernel: [2, 2], stride: [2, 2], padding: [0, 0], ceilMode: false, countIncludePad: true, shape: [2, 3, 6, 6] },
      { name: '3x3 stride 2 padding 1', kernel: [3, 3], stride: [2, 2], padding: [1, 1], ceilMode: false, countIncludePad: true, shape: [2, 2, 7, 7] },
      { name: '3x3 stride 2 ceil mode', kernel: [3, 3], stride: [2, 2], padding: [0, 0], ceilMode: true, countIncludePad: true, shape: [1, 2, 8, 8] },
      { name: '3x3 padding 1, padding not counted', kernel: [3, 3], stride: [1, 1], padding: [1, 1], ceilMode: false, countIncludePad: false, shape: [1, 2, 5, 4] },
    ] as const;
    for (const p of poolCases) {
      for (const mode of ['max', 'avg'] as const) {
        it(`${mode} pooling: ${p.name}`, () => {
          const x = leaf([...p.shape]);
          expect(gradientError([x], () => ad.pool2d(x, mode, p))).toBeLessThan(TOLERANCE);
        });
      }
    }

    it('adaptive average pooling: global and 5x5 -> 3x3', () => {
      const x = leaf([2, 3, 5, 5]);
      expect(gradientError([x], () => ad.adaptiveAvgPool2d(x, [1, 1]))).toBeLessThan(TOLERANCE);
      expect(gradientError([x], () => ad.adaptiveAvgPool2d(x, [3, 3]))).toBeLessThan(TOLERANCE);
    });

    for (const training of [true, false]) {
      it(`batch norm, ${training ? 'training' : 'eval'} mode`, () => {
        const x = leaf([3, 4, 3, 2]);
        const gamma = leaf([4]);
        const beta = leaf([4]);
        const state = () => ({ runningMean: randn(4), runningVar: Float64Array.from(randn(4), (v) => 1 + v / 2), momentum: 0.1, eps: 1e-5 });
        const fixed = state();
        const f = () => ad.batchNorm2d(x, gamma, beta, { ...fixed, runningMean: fixed.runningMean.slice(), runningVar: fixed.runningVar.slice() }, training);
        expect(gradientError([x, gamma, beta], f)).toBeLessThan(1e-6);
      });
    }

    it('residual add and flatten', () => {
      const a = leaf([2, 3, 2, 2]);
      const b = leaf([2, 3, 2, 2]);
      expect(gradientError([a, b], () => ad.flatten(ad.add(a, ad.activation(b, 'tanh'))))).toBeLessThan(TOLERANCE);
    });

    it('softmax cross-entropy', () => {
      const x = leaf([4, 6], 3);
      const labels = [0, 5, 2, 2];
      expect(gradientError([x], () => softmaxCrossEntropy(x, labels))).toBeLessThan(TOLERANCE);
    });

    it('a value used twice accumulates both gradients', () => {
      const x = leaf([2, 3]);
      const w = leaf([3, 3]);
      expect(gradientError([x, w], () => ad.add(ad.linear(x, w, null), x))).toBeLessThan(TOLERANCE);
    });
  });
}

describe('batch norm statistics', () => {
  it('updates running statistics as PyTorch does: momentum 0.1, unbiased variance', () => {
    const ad = new Autodiff(referenceKernels);
    const x = new Var(Float64Array.of(1, 2, 3, 4, 10, 20, 30, 40), [2, 2, 1, 2]);
    const state = { runningMean: new Float64Array(2), runningVar: Float64Array.of(1, 1), momentum: 0.1, eps: 1e-5 };
    ad.batchNorm2d(x, new Var(Float64Array.of(1, 1), [2]), new Var(Float64Array.of(0, 0), [2]), state, true);
    // channel 0 holds 1, 2, 10, 20: mean 8.25, squared deviations sum to 232.75, unbiased variance 232.75 / 3
    expect(state.runningMean[0]).toBeCloseTo(0.825, 12);
    expect(state.runningVar[0]).toBeCloseTo(0.9 + (0.1 * 232.75) / 3, 12);
  });
});
