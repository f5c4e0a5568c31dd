#!/usr/bin/python3
"""Export the peer-benchmark models from torchvision to ONNX, with the golden fixtures' weights.

Usage:
    /usr/bin/python3 tools/onnx/export.py                  # the 10 benchmark models
    /usr/bin/python3 tools/onnx/export.py resnet18 vgg16   # selected models
    /usr/bin/python3 tools/onnx/export.py --list           # known models
    /usr/bin/python3 tools/onnx/export.py --force          # re-export even if up to date

For each model this builds the same torchvision module the golden fixtures use (the constructor of
the `<name>_<size>` case in tools/golden: e.g. GoogLeNet with transform_input=True and no aux
heads, DenseNet with its final ReLU as a module), fills every float parameter and buffer with the
counter-based generator (fill_state_dict, imported from tools/golden/make_fixtures.py, so the
weights are bit-identical to @cnn's `model.useGeneratedWeights(1)`), and writes:

    benchmarks/models/<name>.onnx         batch-1 float32 graph, input 'input' NCHW, output 'logits'
    benchmarks/models/<name>.logits.json  torchvision's logits for counter_input([1, 3, H, W])

Both are generated files (gitignored, never committed). The benchmark (benchmarks/peers.mjs)
checks every engine's logits against the .logits.json before it times anything.

Needs Debian's python3-torch (1.13), python3-torchvision (0.14) and python3-onnx; run it with
/usr/bin/python3 (a pyenv python on PATH has none of them).
"""

import argparse
import importlib.util
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
import torchvision

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
OUT_DIR = os.path.join(ROOT, 'benchmarks', 'models')
OPSET = 13
SEED = 1

# name -> golden case whose constructor and input size are used (native resolution).
MODELS = {
    'resnet50': 'resnet50_224',
    'resnet18': 'resnet18_224',
    'mobilenet_v2': 'mobilenet_v2_224',
    'mobilenet_v3_large': 'mobilenet_v3_large_224',
    'efficientnet_b0': 'efficientnet_b0_224',
    'convnext_tiny': 'convnext_tiny_224',
    'densenet121': 'densenet121_224',
    'googlenet': 'googlenet_224',
    'vgg16': 'vgg16_224',
    'alexnet': 'alexnet_224',
    'inception_v3': 'inception_v3_299',
}
DEFAULT = [m for m in MODELS if m != 'inception_v3']


def load_golden():
    """tools/golden/make_fixtures.py as a module (its import also loads the per-package cases)."""
    path = os.path.join(ROOT, 'tools', 'golden', 'make_fixtures.py')
    spec = importlib.util.spec_from_file_location('cnn_golden_make_fixtures', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def source_stamp(golden):
    """Versions the outputs depend on (recorded in the .logits.json)."""
    return {'torch': torch.__version__, 'torchvision': torchvision.__version__, 'onnx': onnx.__version__,
            'opset': OPSET, 'seed': SEED}


def export(golden, name, force=False):
    case = MODELS[name]
    _package, model_name, ctor, shape, _taps, _extras = golden.CASES[case]
    onnx_path = os.path.join(OUT_DIR, f'{name}.onnx')
    json_path = os.path.join(OUT_DIR, f'{name}.logits.json')
    if not force and os.path.exists(onnx_path) and os.path.exists(json_path):
        with open(json_path, encoding='utf-8') as f:
            old = json.load(f)
        if old.get('stamp', {}).get('torch') == torch.__version__ and old.get('opset') == OPSET \
                and os.path.getmtime(onnx_path) >= max(os.path.getmtime(golden.__file__),
                                                       os.path.getmtime(__file__)):
            print(f'{name:20s} up to date ({os.path.relpath(onnx_path, ROOT)})', flush=True)
            return 0.0
    t0 = time.time()
    torch.manual_seed(0)
    model = ctor().float().eval()
    golden.fill_state_dict(model, SEED)
    params = sum(p.numel() for p in model.parameters())
    x = torch.from_numpy(golden.counter_input(shape, SEED))
    with torch.no_grad():
        y, _captured, macs = golden.count_macs_and_run(model, x, {})
    os.makedirs(OUT_DIR, exist_ok=True)
    tmp = onnx_path + '.tmp'
    with torch.no_grad():
        torch.onnx.export(model, x, tmp, opset_version=OPSET, input_names=['input'],
                          output_names=['logits'], do_constant_folding=True)
    onnx.checker.check_model(tmp)  # path form: works for models over 2 GB too
    os.replace(tmp, onnx_path)
    record = {
        'model': name,
        'case': case,
        'torchModel': model_name,
        'torch': torch.__version__,
        'torchvision': torchvision.__version__,
        'onnx': onnx.__version__,
        'opset': OPSET,
        'seed': SEED,
        'params': params,
        'macs': macs,
        'input': {'key': 'input', 'shape': list(shape)},
        'logits': {'shape': list(y.shape), 'data': golden.f32_list(y.numpy())},
        'stamp': source_stamp(golden),
    }
    with open(json_path, 'w', encoding='utf-8') as f:
        json.dump(record, f, separators=(',', ':'))
        f.write('\n')
    dt = time.time() - t0
    size = os.path.getsize(onnx_path)
    print(f'{name:20s} params={params:>11,d} macs={macs:>14,d} {os.path.relpath(onnx_path, ROOT)} '
          f'{size / 2**20:7.1f} MiB  {dt:.1f}s', flush=True)
    return dt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('models', nargs='*', help=f'model names (default: {", ".join(DEFAULT)})')
    ap.add_argument('--list', action='store_true', help='list the known models and exit')
    ap.add_argument('--force', action='store_true', help='re-export even when the files are up to date')
    args = ap.parse_args()
    if args.list:
        for name, case in MODELS.items():
            print(f'{name:20s} golden case {case}')
        return
    unknown = [m for m in args.models if m not in MODELS]
    if unknown:
        sys.exit(f'unknown model(s): {unknown}; known: {list(MODELS)}')
    torch.set_grad_enabled(False)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    golden = load_golden()
    t0 = time.time()
    for name in args.models or DEFAULT:
        export(golden, name, args.force)
    print(f'total {time.time() - t0:.1f}s')


if __name__ == '__main__':
    np.seterr(over='ignore')  # the generator's uint32 arithmetic wraps by design
    main()
