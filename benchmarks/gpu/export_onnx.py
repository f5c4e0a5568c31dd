#!/usr/bin/python3
"""Weight-free ONNX exports for the WebGPU race (benchmarks/webgpu.mjs --engines ort).

The GPU machine cannot take the full exports (resnet50 is 98 MB, vgg16 528 MB; 64 MiB travel with a
call), so each model is exported as a graph whose weights are external data that the benchmark
regenerates there, by torchvision key, with the same counter generator @cnn's
`useGeneratedWeights(1)` and tools/golden's `fill_state_dict` use. Per model and input size this writes
(to --out, default .carry/gpu/onnx):
    <name>_<size>.onnx   the graph (opset 13, dynamic batch; input 'input' NCHW, output 'logits'), every
                         large initializer stored as external data in 'weights.bin' (not written)
    <name>_<size>.json   the recipe for weights.bin: for each external initializer its byte range and
                         either a torchvision state_dict key, or the conv + batch-norm keys whose fold
                         it is; plus torchvision's logits for counter_input([b, C, size, size]) at each
                         batch b of --batches, the reference both engines are checked against
Models: the torchvision ones of tools/onnx/export.py (at --size), and lenet5 (always 32x32, the
golden case of @cnn/lenet).
Batch norm is folded into the convolution before it (weight and bias recomputed by the recipe), as
tools/onnx/export.py's constant folding does, so onnxruntime gets the same graph as in bench:peers.

Usage: /usr/bin/python3 benchmarks/gpu/export_onnx.py [--models resnet50,...] [--size 224]
                                                       [--batches 1,8] [--out DIR] [--force] [--write-weights]
Needs Debian's python3-torch, python3-torchvision and python3-onnx (run with /usr/bin/python3).
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
from onnx import numpy_helper

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
OPSET = 13
SEED = 1
DEFAULT_MODELS = ['resnet50', 'mobilenet_v2', 'efficientnet_b0', 'convnext_tiny', 'vgg16']
# golden cases at their native, fixed input size (not in tools/onnx/export.py)
FIXED_SIZE_CASES = {'lenet5': 'lenet5'}
# initializers up to this many bytes stay inside the graph (shape constants and the like)
INLINE_BYTES = 4096


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fold_batch_norms(graph):
    """Conv -> BatchNormalization pairs (the conv output read by nothing else) become one Conv whose
    weight and bias are new initializers described by a fold recipe. Returns {name: recipe}."""
    inits = {t.name: t for t in graph.initializer}
    consumers = {}
    for node in graph.node:
        for i in node.input:
            consumers[i] = consumers.get(i, 0) + 1
    for o in graph.output:
        consumers[o.name] = consumers.get(o.name, 0) + 1
    producer = {o: n for n in graph.node for o in n.output}
    recipes = {}
    removed = []
    for bn in graph.node:
        if bn.op_type != 'BatchNormalization' or len(bn.output) != 1:
            continue
        conv = producer.get(bn.input[0])
        if conv is None or conv.op_type != 'Conv' or consumers.get(conv.output[0], 0) != 1:
            continue
        if not all(i in inits for i in bn.input[1:]) or conv.input[1] not in inits:
            continue
        eps = next((a.f for a in bn.attribute if a.name == 'epsilon'), 1e-5)
        w_name = conv.input[1]
        b_name = conv.input[2] if len(conv.input) > 2 and conv.input[2] else None
        scale, shift, mean, var = bn.input[1:5]
        out_c = int(inits[w_name].dims[0])
        fold = {'weight': w_name, 'bias': b_name, 'gamma': scale, 'beta': shift, 'mean': mean, 'var': var, 'eps': eps}
        new_w, new_b = f'{w_name}+{scale}', f'{bn.output[0]}.folded_bias'
        w = numpy_helper.to_array(inits[w_name]).astype(np.float32)
        b = numpy_helper.to_array(inits[b_name]).astype(np.float32) if b_name else np.zeros(out_c, np.float32)
        g, be, m, v = (numpy_helper.to_array(inits[k]).astype(np.float64) for k in (scale, shift, mean, var))
        s = g / np.sqrt(v + eps)
        graph.initializer.append(numpy_helper.from_array((w * s.reshape(-1, 1, 1, 1)).astype(np.float32), new_w))
        graph.initializer.append(numpy_helper.from_array(((b - m) * s + be).astype(np.float32), new_b))
        recipes[new_w] = {'fold': 'weight', **fold}
        recipes[new_b] = {'fold': 'bias', **fold}
        x_in = conv.input[0]
        del conv.input[:]
        conv.input.extend([x_in, new_w, new_b])
        conv.output[0] = bn.output[0]
        removed.append(bn)
    for node in removed:
        graph.node.remove(node)
    # drop initializers nothing reads any more
    used = {i for n in graph.node for i in n.input}
    for t in list(graph.initializer):
        if t.name not in used:
            graph.initializer.remove(t)
    return recipes


def export(golden, cases, name, size, batches, out_dir, force, write_weights=False):
    _package, _model_name, ctor, native_shape, _taps, _extras = golden.CASES[cases[name]]
    channels = native_shape[1]
    if name in FIXED_SIZE_CASES:
        size = native_shape[2]
    stem = f'{name}_{size}'
    onnx_path = os.path.join(out_dir, f'{stem}.onnx')
    json_path = os.path.join(out_dir, f'{stem}.json')
    sources = [golden.__file__, __file__]
    if not force and os.path.exists(onnx_path) and os.path.exists(json_path) \
            and os.path.getmtime(json_path) >= max(os.path.getmtime(p) for p in sources):
        with open(json_path, encoding='utf-8') as f:
            old = json.load(f)
        if all(str(b) in old['logits'] for b in batches):
            print(f'{stem:24s} up to date', flush=True)
            return
    t0 = time.time()
    torch.manual_seed(0)
    model = ctor().float().eval()
    golden.fill_state_dict(model, SEED)
    state = {k for k, t in model.state_dict().items() if t.is_floating_point()}
    x1 = torch.from_numpy(golden.counter_input([1, channels, size, size], SEED))
    tmp = onnx_path + '.tmp'
    with torch.no_grad():
        # PRESERVE: no eval-mode peephole, so initializers keep their state_dict names (the fold below
        # names the folded ones); the module is in eval mode, so batch norm exports its inference form
        torch.onnx.export(model, x1, tmp, opset_version=OPSET, input_names=['input'], output_names=['logits'],
                          dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}},
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    m = onnx.load(tmp)
    os.remove(tmp)
    recipes = fold_batch_norms(m.graph)
    external = []
    offset = 0
    blobs = []
    for t in m.graph.initializer:
        arr = numpy_helper.to_array(t)
        if arr.nbytes <= INLINE_BYTES:
            continue
        if t.name in recipes:
            recipe = recipes[t.name]
        elif t.name in state:
            recipe = {'key': t.name}
        else:
            raise SystemExit(f'{stem}: initializer {t.name} ({arr.shape}) is neither a state_dict key nor a folded batch norm')
        if arr.dtype != np.float32:
            raise SystemExit(f'{stem}: initializer {t.name} is {arr.dtype}, expected float32')
        length = arr.nbytes
        blobs.append((offset, arr.tobytes()))
        external.append({'name': t.name, 'dims': [int(d) for d in t.dims], 'offset': offset, 'length': length, **recipe})
        t.ClearField('raw_data')
        t.ClearField('float_data')
        t.data_location = onnx.TensorProto.EXTERNAL
        del t.external_data[:]
        for k, v in (('location', 'weights.bin'), ('offset', str(offset)), ('length', str(length))):
            entry = t.external_data.add()
            entry.key, entry.value = k, v
        offset += (length + 63) // 64 * 64
    onnx.save(m, onnx_path)
    if write_weights:  # what the graph had, for tests of the regeneration (benchmarks/gpu/webgpu-race.test.ts)
        data = bytearray(offset)
        for at, blob in blobs:
            data[at:at + len(blob)] = blob
        with open(os.path.join(out_dir, f'{stem}.weights.bin'), 'wb') as f:
            f.write(data)
    logits = {}
    with torch.no_grad():
        for b in batches:
            x = torch.from_numpy(golden.counter_input([b, channels, size, size], SEED))
            y = model(x).numpy()
            logits[str(b)] = {'shape': list(y.shape), 'data': golden.f32_list(y)}
    record = {'model': name, 'case': cases[name], 'input': [channels, size, size], 'size': size, 'seed': SEED, 'opset': OPSET, 'torch': torch.__version__,
              'weightsBytes': offset, 'external': external, 'logits': logits}
    with open(json_path, 'w', encoding='utf-8') as f:
        json.dump(record, f, separators=(',', ':'))
        f.write('\n')
    print(f'{stem:24s} {os.path.getsize(onnx_path) / 1024:8.1f} KiB graph, {len(external)} external initializers '
          f'({offset / 2**20:.1f} MiB regenerated there), logits at batch {",".join(map(str, batches))}, {time.time() - t0:.1f}s', flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--models', default=','.join(DEFAULT_MODELS))
    ap.add_argument('--size', type=int, default=224)
    ap.add_argument('--batches', default='1,8')
    ap.add_argument('--out', default=os.path.join(ROOT, '.carry', 'gpu', 'onnx'))
    ap.add_argument('--force', action='store_true')
    ap.add_argument('--write-weights', action='store_true', help="also write <name>_<size>.weights.bin, the stripped weights")
    args = ap.parse_args()
    exporter = load_module('cnn_onnx_export', os.path.join(ROOT, 'tools', 'onnx', 'export.py'))
    golden = exporter.load_golden()
    cases = {**exporter.MODELS, **FIXED_SIZE_CASES}
    names = [m for m in args.models.split(',') if m]
    unknown = [m for m in names if m not in cases]
    if unknown:
        raise SystemExit(f'unknown model(s) {", ".join(unknown)}; known: {", ".join(cases)}')
    batches = [int(b) for b in args.batches.split(',') if b]
    os.makedirs(args.out, exist_ok=True)
    for name in names:
        export(golden, cases, name, args.size, batches, args.out, args.force or args.write_weights, args.write_weights)


if __name__ == '__main__':
    np.seterr(over='ignore')  # the generator's uint32 arithmetic wraps by design
    main()
