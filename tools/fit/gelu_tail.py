"""Fits the polynomial behind the wasm GELU (kernels-wasm/src/activation.rs).

GELU(x) = x Phi(x). With a = |x|, Phi(-a) = e^(-a^2/2) R(a), and R is smooth on [0, inf)
(it falls from 1/2 like 1 / (a sqrt(2 pi))). In t = 1 / (1 + P a), R(a) = t Q(t) with Q a
polynomial; this script fits Q for the smallest maximum relative error of R on [0, 13.3]
(past 13.2 the result is below float32's normal range) by iteratively reweighted least
squares (Lawson), and prints the coefficients and the error measured in float32 arithmetic.
Run: /usr/bin/python3 tools/fit/gelu_tail.py [P] [degree]
"""
import math
import sys

import numpy as np

P = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
DEG = int(sys.argv[2]) if len(sys.argv) > 2 else 9


def r_exact(a):
    return 0.5 * math.erfc(a / math.sqrt(2.0)) * math.exp(a * a / 2.0)


a = np.concatenate([np.linspace(0, 13.3, 20000), np.geomspace(1e-6, 13.3, 2000)])
t = 1.0 / (1.0 + P * a)
target = np.array([r_exact(v) for v in a]) / t  # Q(t)
basis = np.vander(t, DEG + 1, increasing=True)
w = np.ones_like(t)
for _ in range(200):
    sw = np.sqrt(w)
    # relative error of t Q(t) against R = relative error of Q against target
    coef, *_ = np.linalg.lstsq(basis * (sw / target)[:, None], sw, rcond=None)
    err = np.abs(basis @ coef / target - 1)
    w = w * err / np.sum(w * err) * len(w)
worst64 = np.max(np.abs(basis @ coef / target - 1))

c32 = coef.astype(np.float32)
a32 = a.astype(np.float32)
t32 = (np.float32(1) / (np.float32(1) + np.float32(P) * a32)).astype(np.float32)
q = np.full_like(t32, c32[-1])
for c in c32[-2::-1]:
    q = (q * t32 + c).astype(np.float32)
r32 = (t32 * q).astype(np.float64)
ref = np.array([r_exact(float(v)) for v in a32])
worst32 = np.max(np.abs(r32 / ref - 1))
print(f"P={P} degree={DEG}: max relative error {worst64:.3g} (double), {worst32:.3g} (float32 evaluation)")
for c in c32:
    print(f"    {float(c)!r},")
