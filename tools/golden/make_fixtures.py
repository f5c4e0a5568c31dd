#!/usr/bin/python3
"""Golden fixtures for @cnn: run torchvision with counter-generated weights and record the outputs.

Usage:
    /usr/bin/python3 tools/golden/make_fixtures.py [case ...]   # no args: every case in CASES
    /usr/bin/python3 tools/golden/make_fixtures.py --selfcheck  # print generator values only
    /usr/bin/python3 tools/golden/make_fixtures.py --list       # list the known cases

Every float parameter and float buffer of the model's state_dict() is overwritten with
counterParameter(key, shape) and the input is counterInput(shape); both are a numpy port of
packages/core/src/counter-weights.ts, which is the shared spec. The TypeScript tests regenerate
the same weights from the key names, so no weights are committed. Batch-norm running statistics
are calibrated (tools/golden/calibrate.py) and recomputed by the tests through the same script.
"""

import argparse
import hashlib
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torchvision

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
OUT_DIR = os.path.join(ROOT, 'tools', 'golden', 'out')
SEED = 1
SAMPLES = 256
# max |logits(input seed 2) - logits(input seed 1)| / max |logits(seed 1)| every case must reach
MIN_INPUT_SENSITIVITY = 0.01

# --------------------------------------------------------------------------------------------
# The counter-based generator (port of packages/core/src/counter-weights.ts, bit for bit)
# --------------------------------------------------------------------------------------------

GOLDEN = np.uint32(0x9E3779B9)
M32 = 0xFFFFFFFF


def fmix32(h):
    """MurmurHash3's 32-bit finaliser on a numpy uint32 array (multiplies wrap mod 2^32)."""
    h = np.asarray(h, dtype=np.uint32)
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    h = h ^ (h >> np.uint32(16))
    return h


def fmix32_int(h):
    """Scalar fmix32 on a Python int (no numpy scalar overflow warnings)."""
    h &= M32
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    h ^= h >> 16
    return h


def key_hash(key):
    """FNV-1a over the UTF-8 bytes of the key."""
    h = 0x811C9DC5
    for byte in key.encode('utf-8'):
        h ^= byte
        h = (h * 0x01000193) & M32
    return h


def counter_uniform(key, seed, n):
    """n float64 values in [0, 1), each an exact multiple of 2^-24."""
    base = np.uint32(fmix32_int(key_hash(key) ^ seed))
    assert n < 2 ** 32
    i = np.arange(n, dtype=np.uint32)
    h = fmix32(base + i * GOLDEN)  # both the multiply and the add wrap mod 2^32
    return (h >> np.uint32(8)).astype(np.float64) / 16777216.0


def counter_parameter(key, shape, seed=SEED):
    """float32 array of `shape`, the value rule chosen by the key's leaf name and the shape."""
    shape = [int(d) for d in shape]
    numel = int(np.prod(shape, dtype=np.int64)) if shape else 1
    u = counter_uniform(key, seed, numel)
    s = 2 * u - 1
    leaf = key[key.rfind('.') + 1:]
    fan_in = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
    limit = math.sqrt(3 / fan_in)
    # Same operation order as the TS, in float64, then one rounding to float32.
    if leaf == 'running_mean':
        v = 0.2 * s
    elif leaf == 'running_var':
        v = 0.5 + u
    elif leaf == 'layer_scale':
        v = 0.1 + 0.1 * u
    elif leaf == 'bias':
        v = 0.1 * s
    elif leaf == 'weight' and len(shape) == 1:
        v = 1 + 0.25 * s
    else:
        v = s * limit
    return v.astype(np.float32).reshape(shape)


def counter_input(shape, seed=SEED, key='input'):
    """Deterministic input in [-1, 1)."""
    numel = int(np.prod(shape, dtype=np.int64))
    u = counter_uniform(key, seed, numel)
    return (2 * u - 1).astype(np.float32).reshape([int(d) for d in shape])


def fill_state_dict(model, seed=SEED, skip=frozenset()):
    """Overwrite every float parameter and float buffer but the keys in `skip`; integer buffers
    (num_batches_tracked) keep their value (0)."""
    with torch.no_grad():
        for key, t in model.state_dict(keep_vars=False).items():
            if t.is_floating_point() and key not in skip:
                t.copy_(torch.from_numpy(counter_parameter(key, list(t.shape), seed)))


def self_check():
    w = counter_parameter('conv1.weight', [64, 3, 7, 7]).reshape(-1)[:4]
    x = counter_input([1, 3, 2, 2]).reshape(-1)[:4]
    print('selfcheck counterParameter("conv1.weight", [64,3,7,7])[0:4] =',
          [repr(float(v)) for v in w])
    print('selfcheck counterInput([1,3,2,2])[0:4] =', [repr(float(v)) for v in x])
    print('selfcheck keyHash("conv1.weight") = 0x%08x' % key_hash('conv1.weight'))
    return w, x


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al. 1998) with full C3 connectivity; names match @cnn/lenet."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5)
        self.a1 = nn.Tanh()
        self.s2 = nn.AvgPool2d(2)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.a3 = nn.Tanh()
        self.s4 = nn.AvgPool2d(2)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.a5 = nn.Tanh()
        self.f6 = nn.Linear(120, 84)
        self.a6 = nn.Tanh()
        self.output = nn.Linear(84, 10)

    def forward(self, x):
        x = self.s2(self.a1(self.c1(x)))
        x = self.s4(self.a3(self.c3(x)))
        x = torch.flatten(self.a5(self.c5(x)), 1)
        return self.output(self.a6(self.f6(x)))


def tv(name):
    return lambda: getattr(torchvision.models, name)(weights=None)


RESNET_TAPS = {'layer1': 'layer1', 'layer2': 'layer2', 'layer3': 'layer3', 'layer4': 'layer4'}
# The taps named by reduction (ReductionTaps in packages/core/src/family.ts), checked against the
# torchvision modules they alias on one small case per family.
RESNET_STRIDE_TAPS = {'stride2': 'relu', 'stride4': 'layer1', 'stride8': 'layer2', 'stride16': 'layer3',
                      'stride32': 'layer4'}

# One row per fixture. To add a case: add a row here (and a package folder if new).
#   case: (package, model name, constructor, input shape NCHW, {tap name: module path}, extras)
# extras: 'safetensors' (full-state F32/I64 file + header in the fixture),
#         'lowp' (F16/BF16 files, headers and low-precision logits), 'size_ok' (skip 40 kB check)
CASES = {
    'lenet5': ('lenet', 'lenet5', LeNet5, [1, 1, 32, 32],
               {'c1': 'a1', 's2': 's2', 'c5': 'a5', 'stride2': 'a3', 'stride4': 'a5'}, {'lowp'}),
    'resnet18_224': ('resnet', 'resnet18', tv('resnet18'), [1, 3, 224, 224], RESNET_TAPS, set()),
    'resnet18_64': ('resnet', 'resnet18', tv('resnet18'), [1, 3, 64, 64], {**RESNET_TAPS, **RESNET_STRIDE_TAPS},
                    {'safetensors'}),
    'resnet18_batch2_64': ('resnet', 'resnet18', tv('resnet18'), [2, 3, 64, 64], RESNET_TAPS,
                           {'size_ok'}),
    'resnet34_64': ('resnet', 'resnet34', tv('resnet34'), [1, 3, 64, 64], RESNET_TAPS, set()),
    'resnet50_224': ('resnet', 'resnet50', tv('resnet50'), [1, 3, 224, 224], RESNET_TAPS, set()),
    'resnet101_64': ('resnet', 'resnet101', tv('resnet101'), [1, 3, 64, 64], RESNET_TAPS, set()),
    'resnet152_64': ('resnet', 'resnet152', tv('resnet152'), [1, 3, 64, 64], RESNET_TAPS, set()),
    'resnext50_32x4d_64': ('resnet', 'resnext50_32x4d', tv('resnext50_32x4d'), [1, 3, 64, 64],
                           RESNET_TAPS, set()),
    'wide_resnet50_2_64': ('resnet', 'wide_resnet50_2', tv('wide_resnet50_2'), [1, 3, 64, 64],
                           RESNET_TAPS, set()),
}

# Known parameter totals (torchvision docs); checked when the model is built.
EXPECTED_PARAMS = {
    'lenet5': 61_706,
    'resnet18': 11_689_512,
    'resnet50': 25_557_032,
    'resnet152': 60_192_808,
}



def _load_case_modules():
    """Each tools/golden/cases/<package>.py adds its own CASES (and EXPECTED_PARAMS), so packages
    can be added without editing this file. Case modules may define models in PyTorch."""
    import glob
    import importlib.util
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'cases')
    for path in sorted(glob.glob(os.path.join(folder, '*.py'))):
        name = 'golden_cases_' + os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        CASES.update(module.CASES)
        EXPECTED_PARAMS.update(getattr(module, 'EXPECTED_PARAMS', {}))


_load_case_modules()

# --------------------------------------------------------------------------------------------
# Serialisation helpers
# --------------------------------------------------------------------------------------------


def f32_list(a):
    """float32 values as the shortest decimal that parses back (as a double, then rounded to
    float32, as JS Math.fround / Float32Array do) to the identical float32."""
    a = np.ascontiguousarray(a, dtype=np.float32).reshape(-1)
    out = [float(repr(v)) for v in a]  # repr of an np.float32 is its shortest round-trip decimal
    back = np.array(out, dtype=np.float64).astype(np.float32)
    assert np.array_equal(back.view(np.uint32), a.view(np.uint32)), 'float32 round-trip failed'
    return out


def tap_summary(t):
    a = t.detach().cpu().numpy().astype(np.float32).reshape(-1)
    n = a.size
    stride = max(1, n // SAMPLES)
    sample = a[::stride][:SAMPLES]
    return {
        'shape': list(t.shape),
        'stride': stride,
        'sample': f32_list(sample),
        'sum': float(a.astype(np.float64).sum()),
        'absmax': float(np.abs(a).max()),
    }


def f32_to_bf16_bits(a):
    """BF16 = the upper 16 bits of the float32 pattern, rounded to nearest, ties to even:
    add 0x7FFF plus the lowest kept bit, then truncate. (NaN/Inf not handled: none occur.)"""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + np.uint64(0x7FFF) + ((bits >> np.uint64(16)) & np.uint64(1))) >> np.uint64(16)
    return rounded.astype(np.uint16)


def bf16_bits_to_f32(b):
    return (b.astype(np.uint32) << np.uint32(16)).view(np.float32)


DTYPE_NAMES = {np.dtype('<f4'): 'F32', np.dtype('<f2'): 'F16', np.dtype('<i8'): 'I64'}


def write_safetensors(path, entries):
    """entries: list of (key, dtype name, shape, little-endian bytes), written in this order.
    Layout: u64 LE header length N, N bytes of JSON (space-padded so 8+N % 8 == 0), data."""
    header = {'__metadata__': {'format': 'pt'}}
    offset = 0
    for key, dtype, shape, data in entries:
        header[key] = {'dtype': dtype, 'shape': list(shape),
                       'data_offsets': [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(',', ':'), ensure_ascii=False)
    raw = text.encode('utf-8')
    raw += b' ' * ((-(8 + len(raw))) % 8)
    blob = struct.pack('<Q', len(raw)) + raw + b''.join(e[3] for e in entries)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(blob)
    return {'header': raw.decode('utf-8'), 'byteLength': len(blob),
            'sha256': hashlib.sha256(blob).hexdigest()}


def state_entries(model, float_dtype='F32'):
    """safetensors entries for the whole state_dict, in state_dict order."""
    entries = []
    for key, t in model.state_dict().items():
        a = t.detach().cpu().numpy()
        if a.dtype == np.int64:
            entries.append((key, 'I64', a.shape, a.astype('<i8').tobytes()))
        elif a.dtype == np.float32:
            if float_dtype == 'F32':
                entries.append((key, 'F32', a.shape, a.astype('<f4').tobytes()))
            elif float_dtype == 'F16':
                entries.append((key, 'F16', a.shape, a.astype('<f2').tobytes()))
            elif float_dtype == 'BF16':
                entries.append((key, 'BF16', a.shape, f32_to_bf16_bits(a).astype('<u2').tobytes()))
            else:
                raise ValueError(float_dtype)
        else:
            raise TypeError(f'{key}: unsupported dtype {a.dtype}')
    return entries


def dump_fixture(obj):
    """Top-level keys and taps one per line; every value compact."""
    def c(v):
        return json.dumps(v, separators=(',', ':'), ensure_ascii=False)
    lines = []
    for k, v in obj.items():
        if k == 'taps':
            inner = ',\n'.join(f'    {c(tk)}:{c(tv_)}' for tk, tv_ in v.items())
            lines.append(f'  {c(k)}:{{\n{inner}\n  }}')
        else:
            lines.append(f'  {c(k)}:{c(v)}')
    return '{\n' + ',\n'.join(lines) + '\n}\n'


# --------------------------------------------------------------------------------------------
# Running a case
# --------------------------------------------------------------------------------------------


def count_macs_and_run(model, x, taps):
    """Forward with hooks: captures tap outputs and counts conv + linear multiply-adds."""
    captured, macs, handles = {}, [0], []
    modules = dict(model.named_modules())

    def mac_hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            kh, kw = m.kernel_size
            macs[0] += out.numel() * (m.in_channels // m.groups) * kh * kw
        elif isinstance(m, nn.Linear):
            macs[0] += out.numel() * m.in_features

    for m in modules.values():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            handles.append(m.register_forward_hook(mac_hook))
    for tap, path in taps.items():
        def hook(m, inp, out, tap=tap):
            captured[tap] = out.detach().clone()
        handles.append(modules[path].register_forward_hook(hook))
    try:
        y = model(x)
    finally:
        for h in handles:
            h.remove()
    return y, captured, macs[0]


def set_floats(model, transform):
    with torch.no_grad():
        for _, t in model.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.from_numpy(transform(t.numpy())))


def run_case(case):
    package, model_name, ctor, shape, taps, extras = CASES[case]
    t0 = time.time()
    torch.manual_seed(0)
    model = ctor().float().eval()
    fill_state_dict(model)
    import calibrate  # imports this module; loaded here so the two can share CASES
    stats = calibrate.calibrated_statistics(case)
    variance_scale = calibrate.choose_variance_scale(case, stats)
    stats = calibrate.damp(stats, variance_scale)
    calibrate.apply_statistics(model, stats)
    if stats:
        calibrate.write_statistics(case, stats)
    params = sum(p.numel() for p in model.parameters())
    if model_name in EXPECTED_PARAMS:
        assert params == EXPECTED_PARAMS[model_name], (model_name, params)
    x = torch.from_numpy(counter_input(shape))
    with torch.no_grad():
        y, captured, macs = count_macs_and_run(model, x, taps)
        # A golden case must be able to fail: its logits must depend on its input.
        y2 = model(torch.from_numpy(counter_input(shape, seed=SEED + 1)))
    sensitivity = float((y2 - y).abs().max() / y.abs().max())
    assert sensitivity >= MIN_INPUT_SENSITIVITY, f'{case}: logits change by only {sensitivity:.2e} between two inputs'
    fixture = {
        'model': model_name,
        'case': case,
        'torch': torch.__version__,
        'torchvision': torchvision.__version__,
        'seed': SEED,
        'params': params,
        'macs': macs,
        'input': {'key': 'input', 'shape': list(shape)},
        # running statistics from tools/golden/calibrate.py (0 keys: the model has no batch norm)
        'calibration': {'keys': len(stats), 'shape': calibrate.calibration_shape(case) if stats else None,
                        'varianceScale': variance_scale},
        'inputSensitivity': sensitivity,
        'logits': {'shape': list(y.shape), 'data': f32_list(y.numpy())},
        'taps': {name: tap_summary(captured[name]) for name in taps},
    }
    if 'safetensors' in extras:
        fixture['safetensors'] = write_safetensors(
            os.path.join(OUT_DIR, f'{model_name}.safetensors'), state_entries(model, 'F32'))
    if 'lowp' in extras:
        base = {k: v.clone() for k, v in model.state_dict().items()}
        for dtype, tag, rt in (
            ('F16', 'f16', lambda a: a.astype(np.float16).astype(np.float32)),
            ('BF16', 'bf16', lambda a: bf16_bits_to_f32(f32_to_bf16_bits(a))),
        ):
            fixture[f'safetensors_{tag}'] = write_safetensors(
                os.path.join(OUT_DIR, f'{model_name}_{tag}.safetensors'),
                state_entries(model, dtype))
            set_floats(model, rt)  # weights rounded through the low-precision type
            with torch.no_grad():
                fixture[f'logits_{tag}'] = {'shape': list(y.shape),
                                            'data': f32_list(model(x).numpy())}
            model.load_state_dict(base)
    path = os.path.join(ROOT, 'packages', package, 'fixtures', f'{case}.json')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = dump_fixture(fixture)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    size = len(text.encode('utf-8'))
    warn = '' if size < 40_000 or 'size_ok' in extras else '  (over 40 kB!)'
    print(f'{case:22s} params={params:>11,d} macs={macs:>15,d} sens={sensitivity:.3f} '
          f'{os.path.relpath(path, ROOT)} {size:,d} B {time.time() - t0:.1f}s{warn}', flush=True)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('cases', nargs='*', help='case names (default: all)')
    ap.add_argument('--selfcheck', action='store_true', help='print generator values and exit')
    ap.add_argument('--list', action='store_true', help='list cases and exit')
    args = ap.parse_args()
    if args.list:
        for k, v in CASES.items():
            print(f'{k:22s} package={v[0]} model={v[1]} input={v[3]}')
        return
    self_check()
    if args.selfcheck:
        return
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        sys.exit(f'unknown case(s): {unknown}; known: {list(CASES)}')
    torch.set_grad_enabled(False)
    t0 = time.time()
    for case in args.cases or list(CASES):
        run_case(case)
    print(f'total {time.time() - t0:.1f}s')


if __name__ == '__main__':
    main()
