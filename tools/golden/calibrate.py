#!/usr/bin/python3
"""Batch-norm calibration for the golden cases: the running statistics a trained network would have.

Counter-generated weights give every BatchNorm running statistics unrelated to the activations it
normalises, so deep layers saturate or vanish and the logits barely depend on the input (a golden
comparison of such logits cannot fail). Calibration fixes that the way a trained network gets its
statistics: the model, with its counter-generated weights, runs in float64 with only its BatchNorm
layers in training mode (cumulative average, momentum=None) over a few generated images; dropout
and stochastic depth stay in eval mode, so nothing is random. Networks with no normalisation layer
at all get their biases centred instead (center_biases).

The result depends only on the case (constructor, input size), the counter generator and torch's
float64 arithmetic, so it is recomputed wherever it is needed instead of committed: the statistics
of the large variants run to megabytes. Float64 keeps machines in agreement far below float32
resolution. Written as tools/golden/out/calibration/<case>.safetensors (F32, the statistics keys
only), which the TypeScript golden tests read through @cnn/core/testing.

Usage:
    /usr/bin/python3 tools/golden/calibrate.py CASE [CASE ...]   # writes the missing files
    /usr/bin/python3 tools/golden/calibrate.py --force CASE ...   # rewrites them
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn

import make_fixtures as mf

CALIBRATION_DIR = os.path.join(mf.OUT_DIR, 'calibration')
IMAGES = 4
# Large inputs are calibrated at a reduced size (statistics are per channel, so a smaller image of
# the same content distribution gives nearly the same ones, at a fraction of the float64 cost).
MAX_SIDE = 96


# Cases whose model needs its full input size (Inception v3's auxiliary head reads a 17x17 map).
FULL_SIZE = {'inception_v3_aux_299'}


def calibration_shape(case):
    shape = mf.CASES[case][3]
    _, c, h, w = shape
    scale = 1.0 if case in FULL_SIZE else min(1.0, MAX_SIDE / max(h, w))
    return [IMAGES, c, max(1, round(h * scale)), max(1, round(w * scale))]


def batch_norms(model):
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def has_layer_norm(model):
    return any(isinstance(m, (nn.LayerNorm, nn.GroupNorm)) for m in model.modules())


def center_biases(model, x):
    """For networks without normalisation layers (VGG, AlexNet, LeNet): every convolution's and
    linear layer's bias absorbs the mean of its output over the calibration batch, in forward
    order, so no layer's output is dominated by a constant offset (which is what made their logits
    nearly input-independent). Returns the module names whose bias changed."""
    layers = {name: m for name, m in model.named_modules()
              if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None}
    handles = []

    def hook(m, _inp, out):
        dims = [d for d in range(out.dim()) if d != 1]
        mean = out.mean(dim=dims)
        m.bias -= mean
        shape = [1, -1] + [1] * (out.dim() - 2)
        return out - mean.reshape(shape)  # later layers see the corrected output in this same pass

    for m in layers.values():
        handles.append(m.register_forward_hook(hook))
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    return {f'{name}.bias' for name in layers}


# Damping: with every batch norm calibrated to unit variance, deep networks (EfficientNet-B4 and
# up, ResNet-101/152) are chaotic: torch's own float32 result drifts from its float64 one by up to
# 65% of the largest logit, so no float32 engine can be compared with it. Scaling the calibrated
# running variances up by a few percent moves such a network into the ordered regime while its
# logits still depend on the input. Each case takes the smallest factor of this list for which
# torch's float32 logits stay within FLOAT32_ERROR of its float64 ones and its logits still move by
# MIN_SENSITIVITY between two inputs (checked on one image at the calibration size).
VARIANCE_SCALES = (1.0, 1.05, 1.1, 1.2, 1.35, 1.5, 1.75, 2.0)
FLOAT32_ERROR = 2e-6
MIN_SENSITIVITY = 0.05


def fixture_path(case):
    return os.path.join(mf.ROOT, 'packages', mf.CASES[case][0], 'fixtures', f'{case}.json')


def recorded_variance_scale(case):
    """The damping factor the case's committed fixture was made with (1 when none is recorded)."""
    import json
    try:
        with open(fixture_path(case), encoding='utf-8') as f:
            return float((json.load(f).get('calibration') or {}).get('varianceScale', 1.0))
    except FileNotFoundError:
        return 1.0


def conditioning(case, stats, scale):
    """(torch float32 error against float64, input sensitivity) of the case's model with these
    statistics damped by `scale`, on single images at the calibration size."""
    _, _, ctor, _, _, _ = mf.CASES[case]
    torch.manual_seed(0)
    model = ctor().float().eval()
    mf.fill_state_dict(model)
    apply_statistics(model, damp(stats, scale))
    shape = [1] + calibration_shape(case)[1:]
    x1 = torch.from_numpy(mf.counter_input(shape, seed=1))
    x2 = torch.from_numpy(mf.counter_input(shape, seed=2))
    with torch.no_grad():
        y32 = model(x1).double()
        model = model.double()
        y64 = model(x1.double())
        y64b = model(x2.double())
    scale64 = float(y64.abs().max())
    return float((y32 - y64).abs().max()) / scale64, float((y64b - y64).abs().max()) / scale64


def choose_variance_scale(case, stats):
    if not any(k.endswith('running_var') for k in stats):
        return 1.0
    # The check runs at the calibration size; a case 4x larger or more (EfficientNet-B5..B7 at
    # their native sizes) accumulates more rounding, so it must pass a 4x stricter bound there
    # (B7 at 600x600 came out 1.9e-4 from torchvision on wasm with the plain bound).
    bound = FLOAT32_ERROR / 4 if max(mf.CASES[case][3][2:]) >= 4 * MAX_SIDE else FLOAT32_ERROR
    best = None
    for scale in VARIANCE_SCALES:
        error, sensitivity = conditioning(case, stats, scale)
        if sensitivity < MIN_SENSITIVITY:
            break
        if error <= bound:
            return scale
        if best is None or error < best[0]:
            best = (error, scale)
    if best is not None and best[0] <= FLOAT32_ERROR:
        return best[1]  # the stricter bound is out of reach: the most ordered scale that stays sensitive
    raise SystemExit(f'{case}: no variance scale in {VARIANCE_SCALES} gives float32 error <= {FLOAT32_ERROR} with sensitivity >= {MIN_SENSITIVITY}')


def damp(stats, scale):
    return {k: (v * np.float32(scale) if k.endswith('.running_var') else v) for k, v in stats.items()}


def calibrated_statistics(case):
    """{state_dict key: float32 array}: the tensors calibration replaces in the case's counter-
    generated state. With batch norm: every running_mean/running_var. Without any normalisation
    layer: the biases (center_biases). Otherwise (LayerNorm networks, well conditioned as they
    are): nothing."""
    _, _, ctor, _, _, _ = mf.CASES[case]
    torch.manual_seed(0)
    model = ctor().float().eval()
    norms = batch_norms(model)
    if not norms and has_layer_norm(model):
        return {}
    # Batch-norm statistics depend only on what runs before the norms; in these networks the
    # linear layers (classifiers, auxiliary heads) never do, and generating them is most of the
    # cost (VGG's 120 M). They stay zero here; the fixtures and the tests both use this function,
    # so its result is what they agree on either way.
    skip = {f'{n}.weight' for n, m in model.named_modules() if isinstance(m, nn.Linear)} if norms else set()
    mf.fill_state_dict(model, skip=skip)
    model = model.double()
    shape = calibration_shape(case)
    x = torch.from_numpy(mf.counter_input(shape, key='calibration').astype(np.float64))
    if norms:
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over every batch seen
            m.train()
        with torch.no_grad():
            model(x)
        keys = {k for k in model.state_dict() if k.endswith(('.running_mean', '.running_var'))}
    else:
        with torch.no_grad():
            keys = center_biases(model, x)
    return {k: t.detach().numpy().astype(np.float32) for k, t in model.state_dict().items() if k in keys}


def apply_statistics(model, stats):
    """Copies calibrated statistics into a float32 model's state."""
    with torch.no_grad():
        state = model.state_dict()
        for key, a in stats.items():
            state[key].copy_(torch.from_numpy(a))


def path_of(case):
    return os.path.join(CALIBRATION_DIR, f'{case}.safetensors')


def write_statistics(case, stats):
    entries = [(k, 'F32', a.shape, a.astype('<f4').tobytes()) for k, a in stats.items()]
    tmp = path_of(case) + f'.tmp{os.getpid()}'
    mf.write_safetensors(tmp, entries)
    os.replace(tmp, path_of(case))  # readers never see a half-written file


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('cases', nargs='+')
    ap.add_argument('--force', action='store_true', help='recompute files that exist')
    args = ap.parse_args()
    unknown = [c for c in args.cases if c not in mf.CASES]
    if unknown:
        sys.exit(f'calibrate.py: unknown case(s) {unknown}')
    torch.set_grad_enabled(False)
    for case in args.cases:
        if args.force or not os.path.exists(path_of(case)):
            write_statistics(case, damp(calibrated_statistics(case), recorded_variance_scale(case)))


if __name__ == '__main__':
    main()
