#!/usr/bin/python3
"""Logits of golden cases in float64 and in float32, for measuring how far each engine is from
the truth (benchmarks/accuracy.mjs). Same model, calibrated weights and input as the fixture.

Usage: /usr/bin/python3 tools/golden/truth.py CASE [CASE ...] > truth.json
"""

import json
import os
import sys

import torch

import calibrate
import make_fixtures as mf


def calibrated_model(case):
    """The golden case's torchvision model in float32 with its calibrated statistics, and its input."""
    _, _, ctor, shape, _, _ = mf.CASES[case]
    torch.manual_seed(0)
    model = ctor().float().eval()
    mf.fill_state_dict(model)
    if os.path.exists(calibrate.path_of(case)):
        stats = read_statistics(calibrate.path_of(case))
    else:
        stats = calibrate.damp(calibrate.calibrated_statistics(case), calibrate.recorded_variance_scale(case))
    calibrate.apply_statistics(model, stats)
    return model, torch.from_numpy(mf.counter_input(shape))


def truth(case):
    model, x = calibrated_model(case)
    with torch.no_grad():
        y32 = model(x)
        y64 = model.double()(x.double())
    return {'shape': list(y32.shape), 'float32': y32.reshape(-1).tolist(), 'float64': y64.reshape(-1).tolist()}


def read_statistics(path):
    import struct
    import numpy as np
    with open(path, 'rb') as f:
        blob = f.read()
    (n,) = struct.unpack('<Q', blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    out = {}
    for key, e in header.items():
        if key == '__metadata__':
            continue
        a, b = e['data_offsets']
        out[key] = np.frombuffer(data[a:b], dtype='<f4').reshape(e['shape']).copy()
    return out


def main():
    cases = sys.argv[1:]
    unknown = [c for c in cases if c not in mf.CASES]
    if not cases or unknown:
        sys.exit(f'usage: truth.py CASE [CASE ...]; unknown: {unknown}')
    torch.set_grad_enabled(False)
    json.dump({case: truth(case) for case in cases}, sys.stdout)


if __name__ == '__main__':
    main()
