// Scalar activation functions, written for clarity; the reference every other backend matches.
import type { Activation } from '@cnn/core';

/** Abramowitz–Stegun style rational approximations are not used: Math functions are the oracle. */
export function erf(x: number): number {
  // W. J. Cody's rational Chebyshev approximation would be overkill; a high-order series and
  // continued fraction split gives |error| < 1e-15 in double precision.
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: converges fast for small |x|
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 80; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Continued fraction for erfc at larger |x| (Lentz's method)
  const tiny = 1e-300;
  let f = ax;
  let c = ax;
  let d = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = ax + an / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI));
  return x > 0 ? 1 - erfc : erfc - 1;
}

export function activationFunction(a: Activation): (x: number) => number {
  switch (a) {
    case 'none':
      return (x) => x;
    case 'relu':
      // NaN passes through, as in torch.relu (max(NaN, 0) is NaN there)
      return (x) => (x < 0 ? 0 : x);
    case 'relu6':
      return (x) => Math.min(Math.max(x, 0), 6);
    case 'tanh':
      return Math.tanh;
    case 'sigmoid':
      return (x) => 1 / (1 + Math.exp(-x));
    case 'silu':
      return (x) => x / (1 + Math.exp(-x));
    case 'hardswish':
      return (x) => (x * Math.min(Math.max(x + 3, 0), 6)) / 6;
    case 'hardsigmoid':
      return (x) => Math.min(Math.max(x + 3, 0), 6) / 6;
    case 'gelu':
      return (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));
  }
}
