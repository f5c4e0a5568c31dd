#!/usr/bin/env python3
"""The int8 oracle: torchvision's quantisable resnet18 / mobilenet_v2 through torch's eager-mode
post-training static quantisation (fuse_model, prepare with the engine's qconfig, calibrate, convert),
exported into @cnn's int8 file format with torch's own integer weights, scales and zero points.

usage: torch_int8.py MODEL OUTDIR [--size 64] [--seed 0] [--calibration 4] [--residual-adds separate|fused] [--reduce-range] [--onnx]

Writes OUTDIR/MODEL.int8.safetensors (format 'cnn-int8', layout: packages/core/src/quantize/format.ts),
OUTDIR/MODEL.input.npy (float32 NCHW [1, 3, size, size]) and OUTDIR/MODEL.logits.npy (torch's int8
logits, dequantised), and prints a JSON line with the logits' scale and zero point. With --onnx, also
OUTDIR/MODEL.int8.onnx: the same converted torch model through torch.onnx.export (opset 13), a QDQ
graph (QuantizeLinear / DequantizeLinear around float Conv, Gemm, Add) holding the same int8 weights,
per-channel scales and activation scales, which onnxruntime fuses into its int8 kernels; so
onnxruntime and @cnn run one int8 model (benchmarks/peers.mjs races them). The ONNX graph carries
each bias as torch's exporter writes it (bias / (input scale * weight scale), cast to int32, so
truncated where ours rounds to nearest: at most one unit of the accumulator's scale apart).

Weights are torchvision's random initialisation (seeded); batch-norm running statistics are set
from a few forward passes in train mode so activations keep a sensible range. The weight observer
is per-channel symmetric with quant range [-127, 127] (scale = max|w| / 127, as ours; torch's
default allows -128, which our kernels refuse); activations use the engine's default observer
(HistogramObserver; fbgemm reduces the range to [0, 127], and so does --reduce-range on any engine). Debian's torch 1.13 has no fbgemm
(supported_engines: qnnpack, onednn), so the default engine there is onednn.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.ao.quantization as tq
from torch.nn.intrinsic.quantized import ConvReLU2d
from torch.nn.quantized import Conv2d as QConv2d, Linear as QLinear
from torchvision.models import quantization as qmodels


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for key, arr in tensors.items():
        dtype = {np.dtype(np.int8): "I8", np.dtype(np.int64): "I64", np.dtype(np.float32): "F32"}[arr.dtype]
        data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        header[key] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header)
    text += " " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode())
        for b in blobs:
            f.write(b)


def write_npy(path, arr):
    np.save(path, np.ascontiguousarray(arr, dtype=np.float32))


def residual_outputs(name, model):
    """Our plan fuses each residual add into the layer that produces its later-written operand
    (packages/core/src/passes/fuse-residual.ts), so that layer's output is torch's add output:
    {our layer name: torch's add module}. In our ResNet the shortcut's projection (downsample.0) is
    built after conv2, so it takes the add where there is one; conv2 keeps its own scale then."""
    out = {}
    if name == "resnet18":
        for lname in ["layer1", "layer2", "layer3", "layer4"]:
            for i, block in enumerate(getattr(model, lname)):
                later = "downsample.0" if block.downsample is not None else "conv2"
                out[f"{lname}.{i}.{later}"] = f"{lname}.{i}.add_relu"
    else:
        for i, block in enumerate(model.features):
            if getattr(block, "use_res_connect", False):
                convs = [j for j, m in enumerate(block.conv) if isinstance(m, (QConv2d, ConvReLU2d))]
                out[f"features.{i}.conv.{convs[-1]}"] = f"features.{i}.skip_add"
    return out


def export_onnx(model, x, path):
    """The converted model as ONNX (input 'input' NCHW float32, output 'logits' float32): torch 1.13
    exports quantised modules as QuantizeLinear / DequantizeLinear pairs around float operators.
    Exporting traces a forward pass and leaves the model as it was."""
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's notes on quantised ops' shape inference
        torch.onnx.export(model, x, path, opset_version=13, input_names=["input"], output_names=["logits"], do_constant_folding=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model", choices=["resnet18", "mobilenet_v2"])
    p.add_argument("outdir")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--calibration", type=int, default=4)
    p.add_argument("--residual-adds", choices=["separate", "fused"], default="separate",
                   help="separate (default): our plan rounds each layer and adds as torch does; fused: the add's scale goes to the layer that fuses it (one rounding, not torch's two)")
    p.add_argument("--engine", default=None, help="fbgemm, onednn or qnnpack (default: the first this torch supports)")
    p.add_argument("--reduce-range", action="store_true",
                   help="activations to [0, 127] (HistogramObserver reduce_range, fbgemm's default): 7-bit codes, the operand relaxed SIMD's 8-bit dot takes")
    p.add_argument("--onnx", action="store_true", help="also write OUTDIR/MODEL.int8.onnx, the same int8 model as an ONNX QDQ graph (opset 13)")
    a = p.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    torch.manual_seed(a.seed)
    engine = a.engine or next(e for e in ["fbgemm", "onednn", "qnnpack"] if e in torch.backends.quantized.supported_engines)
    torch.backends.quantized.engine = engine
    model = getattr(qmodels, a.model)(weights=None, quantize=False)
    shape = (1, 3, a.size, a.size)
    # running statistics from data, as a trained network has them (untrained ones explode ResNet)
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(8, 3, a.size, a.size))
    model.eval()
    model.fuse_model()
    weight = tq.PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric, quant_min=-127, quant_max=127)
    activation = tq.HistogramObserver.with_args(reduce_range=True) if a.reduce_range else tq.get_default_qconfig(engine).activation
    model.qconfig = tq.QConfig(activation=activation, weight=weight)
    tq.prepare(model, inplace=True)
    with torch.no_grad():
        for _ in range(a.calibration):
            model(torch.randn(shape))
    tq.convert(model, inplace=True)

    # the input scale of every int8 layer (for its int32 bias), from one forward pass
    x = torch.randn(shape)
    input_scale = {}
    hooks = []
    modules = dict(model.named_modules())
    for n, m in modules.items():
        if isinstance(m, (QConv2d, ConvReLU2d, QLinear)):
            hooks.append(m.register_forward_pre_hook(lambda mod, inp, n=n: input_scale.__setitem__(n, float(inp[0].q_scale()))))
    with torch.no_grad():
        logits = model(x)
    for h in hooks:
        h.remove()

    tensors = {}
    fused = residual_outputs(a.model, model)
    for n, m in modules.items():
        if not isinstance(m, (QConv2d, ConvReLU2d, QLinear)):
            continue
        w = m.weight()
        q = w.int_repr().numpy().astype(np.int8)
        s = w.q_per_channel_scales().numpy().astype(np.float32)
        b = m.bias()
        b = np.zeros(q.shape[0]) if b is None else b.detach().numpy().astype(np.float64)
        # as ours: round half to even of b / (s_x * s_w) in double, scales as float32
        bias = np.rint(b / (np.float64(np.float32(input_scale[n])) * s.astype(np.float64))).astype(np.int64)
        assert np.all(np.abs(bias) <= 2**31 - 1), f"{n}: bias beyond int32"
        tensors[f"{n}.weight"] = q
        tensors[f"{n}.weight_scale"] = s
        tensors[f"{n}.bias"] = bias
        src = modules[fused[n]] if n in fused and a.residual_adds == "fused" else m
        tensors[f"{n}.scale"] = np.array([src.scale], dtype=np.float32)
        tensors[f"{n}.zero_point"] = np.array([src.zero_point], dtype=np.int64)
        if n in fused and a.residual_adds == "separate":
            tensors[f"{n}.add.scale"] = np.array([modules[fused[n]].scale], dtype=np.float32)
            tensors[f"{n}.add.zero_point"] = np.array([modules[fused[n]].zero_point], dtype=np.int64)
    tensors["quant.scale"] = np.array([float(model.quant.scale)], dtype=np.float32)
    tensors["quant.zero_point"] = np.array([int(model.quant.zero_point)], dtype=np.int64)
    write_safetensors(f"{a.outdir}/{a.model}.int8.safetensors", tensors, {"format": "cnn-int8", "residual-adds": a.residual_adds, "reduce-range": str(a.reduce_range).lower(), "source": f"torch {torch.__version__} eager PTQ, {engine}"})
    write_npy(f"{a.outdir}/{a.model}.input.npy", x.numpy())
    write_npy(f"{a.outdir}/{a.model}.logits.npy", logits.numpy())
    if a.onnx:
        export_onnx(model, x, f"{a.outdir}/{a.model}.int8.onnx")
    last = "fc" if a.model == "resnet18" else "classifier.1"
    json.dump({"model": a.model, "engine": engine, "logitsScale": float(modules[last].scale), "logitsZeroPoint": int(modules[last].zero_point)}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
