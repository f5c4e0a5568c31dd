#!/usr/bin/python3
"""Why the wasm Winograd F(4x4, 3x3) uses the points 0, 1, -1, 1/2, -2 (kernels-wasm/src/winograd.rs).

Builds F(4, 3) by Toom-Cook for several point sets (A^T and G from the points, B^T solved exactly
so that A^T[(G g) * (B^T d)] is the correlation), then runs 2D tiles of many input channels in
float32, with the transforms, the elementwise products and a sequential reduction over channels
all rounded as the kernel rounds them, against float64 direct convolution. Prints the mean of
the largest error per tile, per point set and per stage (only that stage in float32).

Usage: /usr/bin/python3 tools/fit/winograd_points.py [--channels 256] [--tiles 40]
"""
import argparse
from fractions import Fraction as F

import numpy as np
import sympy


def toom_cook(points, m):
    """Exact F(m, 3) matrices for the finite points plus infinity: A^T (m x n), G (n x 3), B^T (n x n)."""
    r = 3
    n = m + r - 1
    p = [F(x) for x in points]
    at = [[p[i] ** j for i in range(n - 1)] + [F(int(j == m - 1))] for j in range(m)]
    g = []
    for i in range(n - 1):
        norm = F(1)
        for k in range(n - 1):
            if k != i:
                norm *= p[i] - p[k]
        g.append([p[i] ** q / norm for q in range(r)])
    g.append([F(0), F(0), F(1)])
    b = sympy.Matrix(n, n, lambda i, l: sympy.Symbol(f'b{i}_{l}'))
    rat = lambda f: sympy.Rational(f.numerator, f.denominator)
    eqs = [sum(rat(at[k][i]) * rat(g[i][q]) * b[i, l] for i in range(n)) - int(l == k + q)
           for k in range(m) for q in range(r) for l in range(n)]
    sol = sympy.solve(eqs, list(b))
    bt = [[F(str(sol[b[i, l]])) for l in range(n)] for i in range(n)]
    return at, g, bt


def toom_cook_f43(points):
    at, g, bt = toom_cook(points, 4)
    return (np.array(at, dtype=float), np.array(g, dtype=float), np.array(bt, dtype=float))


def tile_error(at, g_t, bt, channels, tiles, single=None, seed=0):
    """single: only this stage ('U', 'V', 'sum', 'out') in float32; None: all of them."""
    rng = np.random.default_rng(seed)
    errs = []
    for _ in range(tiles):
        d = rng.standard_normal((channels, 6, 6)).astype(np.float32)
        w = (rng.standard_normal((channels, 3, 3)) / np.sqrt(9 * channels)).astype(np.float32)
        ref = np.array([[np.sum(d[:, y:y + 3, x:x + 3].astype(np.float64) * w.astype(np.float64))
                         for x in range(4)] for y in range(4)])
        t = lambda stage: np.float32 if single in (None, stage) else np.float64
        u = np.einsum('ia,cab,jb->cij', g_t.astype(t('U')), w.astype(t('U')), g_t.astype(t('U'))).astype(t('U'))
        v = np.einsum('ia,cab,jb->cij', bt.astype(t('V')), d.astype(t('V')), bt.astype(t('V'))).astype(t('V'))
        acc = np.zeros((6, 6), dtype=t('sum'))
        for c in range(channels):
            acc = (acc + u[c].astype(t('sum')) * v[c].astype(t('sum'))).astype(t('sum'))
        y = (at.astype(t('out')) @ acc.astype(t('out')) @ at.T.astype(t('out'))).astype(t('out'))
        errs.append(np.abs(y - ref).max())
    return float(np.mean(errs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--channels', type=int, default=256)
    ap.add_argument('--tiles', type=int, default=40)
    a = ap.parse_args()
    for points in ([0, 1, -1, 2, -2], [0, 1, -1, F(1, 2), -2], [0, 1, -1, F(1, 2), F(-1, 2)]):
        at, g_t, bt = toom_cook_f43(points)
        stages = {s: tile_error(at, g_t, bt, a.channels, a.tiles, single=s) for s in ('U', 'V', 'sum', 'out')}
        total = tile_error(at, g_t, bt, a.channels, a.tiles)
        print(f"points {', '.join(str(p) for p in points)} + inf: all float32 {total:.2e}; only "
              + ', '.join(f'{k} {v:.2e}' for k, v in stages.items()) + f'; max |B^T| {np.abs(bt).max():g}')


if __name__ == '__main__':
    main()
