#!/usr/bin/python3
"""Per-layer float32 error of Winograd variants on the real activations of a calibrated golden case
(README, Correctness): why the wasm backend takes F(2x2, 3x3) where accuracy matters and why a
differently computed F(4x4, 3x3) would not do (kernels-wasm/src/winograd.rs).

Runs the case's torchvision model in float64 (calibrated weights, the fixture's input), takes the
input of every 3x3 stride-1 convolution with at least 16 input channels, and on an S x S output
patch compares against float64: torch's float32 convolution, and each Winograd variant computed in
float32 as the kernel computes it (transforms applied row by row with rounded products and sums,
channel sums in blocks of 32). Prints each variant's RMS error as a multiple of torch's.

A variant is NAME[:STAGES[:BLOCK]]: NAME one of P43 (F(4, 3), points 0, 1, -1, 1/2, -2, the
kernel's), P43u (0, 1, -1, 2, -2), P33 (F(3, 3), 0, 1, -1, 1/2), P33b (0, 1, -1, -2), P23
(F(2, 3), 0, 1, -1); STAGES a comma list of U (weight transform), V (input transform), out
(output transform) computed in float64 and rounded once; BLOCK the channel block (32).

Usage: /usr/bin/python3 tools/fit/winograd_layers.py CASE 'P43;P23;P43:U,V;P43:out' [S=24]
e.g.   /usr/bin/python3 tools/fit/winograd_layers.py resnet18_224 'P43;P23;P33;P43:U,V;P43:out' 12
"""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'golden'))
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as Fn
from fractions import Fraction as Fr
import truth as T
from winograd_points import toom_cook
torch.set_grad_enabled(False)

model_of = T.calibrated_model

def f32(t): return t.to(torch.float32)

# A^T (m x n), G (n x 3), B^T (n x n) for F(m,3) with the points + infinity, exact
toom = toom_cook

def apply_rows(M, xs, dtype):
    # y_i = sum_j M[i][j] x_j, sequentially, each coef*x and each add rounded in dtype
    out = []
    for row in M:
        acc = None
        for c, x in zip(row, xs):
            if c == 0: continue
            t = x if c == 1 else (-x if c == -1 else (x * float(c)).to(dtype))
            acc = t if acc is None else (acc + t).to(dtype)
        out.append(acc if acc is not None else torch.zeros_like(xs[0]))
    return out

def transform2d(M, X, dtype):
    # X [..., a, b] -> M X M^T, rows then columns, in dtype
    a = X.shape[-2]
    cols = apply_rows(M, [X[..., i, :] for i in range(a)], dtype)   # list len n of [..., b]
    Y = torch.stack(cols, -2)
    rows = apply_rows(M, [Y[..., :, j] for j in range(Y.shape[-1])], dtype)
    return torch.stack(rows, -1)

def winograd(x, w, mats, m, exact=(), block=32):
    """x [C, H, W] float64 (already padded), w [K, C, 3, 3] float64 -> [K, H-2, W-2] computed in f32
    except the stages named in exact (computed in f64, rounded once to f32)."""
    at, g, bt = mats
    n = m + 2
    C, H, W = x.shape
    th, tw = (H - 2) // m, (W - 2) // m
    # tiles [th, tw, C, n, n]
    tiles = torch.stack([torch.stack([x[:, i*m:i*m+n, j*m:j*m+n] for j in range(tw)]) for i in range(th)])
    if 'V' in exact: V = f32(transform2d(bt, tiles, torch.float64))
    else: V = transform2d(bt, f32(tiles), torch.float32)
    if 'U' in exact: U = f32(transform2d(g, w, torch.float64))
    else: U = transform2d(g, f32(w), torch.float32)
    # M[th,tw,K,n,n] = sum_c U[K,c]*V[c], blocked sums of `block` channels, sequential within
    Mt = torch.zeros(th, tw, w.shape[0], n, n, dtype=torch.float32)
    for c0 in range(0, C, block):
        part = torch.zeros_like(Mt)
        for c in range(c0, min(C, c0 + block)):
            part = part + (U[:, c][None, None] * V[:, :, c][:, :, None]).to(torch.float32)
        Mt = Mt + part
    if 'out' in exact: Y = f32(transform2d(at, Mt.double(), torch.float64))
    else: Y = transform2d(at, Mt, torch.float32)
    # Y [th, tw, K, m, m] -> [K, th*m, tw*m]
    return Y.permute(2, 0, 3, 1, 4).reshape(w.shape[0], th * m, tw * m)

def layer_inputs(model, x):
    got = []
    def hook(mod, inp, out):
        if mod.kernel_size == (3, 3) and mod.stride == (1, 1) and mod.groups == 1 and mod.in_channels >= 16:
            got.append((mod, inp[0].detach().clone()))
    hs = [mod.register_forward_hook(hook) for mod in model.modules() if isinstance(mod, nn.Conv2d)]
    model.double()(x.double())
    for h in hs: h.remove()
    return got

if __name__ == '__main__':
    case = sys.argv[1]
    variants = sys.argv[2].split(';')
    S = int(sys.argv[3]) if len(sys.argv) > 3 else 24  # output patch side (multiple of 4 and 2 and 3)
    model, x = model_of(case)
    P43 = toom([0, 1, -1, Fr(1, 2), -2], 4)
    P23 = toom([0, 1, -1], 2)
    P33 = toom([0, 1, -1, Fr(1, 2)], 3)
    P33b = toom([0, 1, -1, -2], 3)
    P43u = toom([0, 1, -1, 2, -2], 4)
    ns = dict(P43=P43, P23=P23, P33=P33, P33b=P33b, P43u=P43u)
    rng = np.random.default_rng(0)
    for li, (mod, inp) in enumerate(layer_inputs(model, x)):
        w = mod.weight.detach().double()
        xp = Fn.pad(inp[0], (1, 1, 1, 1))
        H = xp.shape[1] - 2
        oy = int(rng.integers(0, max(1, H - S))); ox = int(rng.integers(0, max(1, H - S)))
        s = min(S, H)
        patch = xp[:, oy:oy + s + 2, ox:ox + s + 2]
        ref = Fn.conv2d(patch[None], w)[0]
        t32 = Fn.conv2d(f32(patch)[None], f32(w))[0].double()
        scale = ref.abs().max().item()
        e_t = (t32 - ref).pow(2).mean().sqrt().item()
        res = []
        for v in variants:
            name, *opt = v.split(':')
            mats = ns[name]; m = len(mats[0])
            exact = opt[0].split(',') if opt and opt[0] else ()
            block = int(opt[1]) if len(opt) > 1 else 32
            ss = s // m * m
            y = winograd(patch[:, :ss + 2, :ss + 2], w, mats, m, exact, block).double()
            e = (y - ref[:, :ss, :ss]).pow(2).mean().sqrt().item()
            res.append(f'{v} {e / e_t:.2f}')
        print(f'layer {li} C{mod.in_channels}->{mod.out_channels} @{inp.shape[-1]}: torch32 rms {e_t / scale:.2e}; ' + ', '.join(res), flush=True)
