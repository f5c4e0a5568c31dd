#!/usr/bin/python3
"""Writes PyTorch checkpoints with Debian's torch for the .pth reader's tests (nothing is committed).
  torch_checkpoints.py formats OUT_DIR     small state dicts in both formats, nested, prefixed, hostile
  torch_checkpoints.py resnet18 OUT_DIR    torchvision resnet18 (seeded random init) in both formats,
                                           an input and torchvision's logits
  torch_checkpoints.py torchvision OUT_DIR NAME...   state dicts under torchvision's file names
Every directory gets expected.json describing what was written."""
import json
import os
import pathlib
import sys
from collections import OrderedDict

import torch


def tensors():
    g = torch.Generator().manual_seed(7)
    base = torch.randn(4, 6, generator=g)
    sd = OrderedDict()
    sd["conv.weight"] = torch.randn(3, 2, 3, 3, generator=g)
    sd["conv.bias"] = torch.randn(3, generator=g)
    sd["half"] = torch.randn(2, 5, generator=g).half()
    sd["bf16"] = torch.randn(7, generator=g).bfloat16()
    sd["double"] = torch.randn(3, 2, generator=g).double()
    sd["bn.num_batches_tracked"] = torch.tensor(17)
    sd["transposed"] = base.t()  # strided view of base's storage
    sd["row2"] = base[2]  # offset view into the same storage
    sd["cols"] = base[:, 1:4]  # offset and strided
    sd["param"] = torch.nn.Parameter(torch.randn(2, 2, generator=g))
    sd["scalar"] = torch.tensor(1.5)
    return sd


def describe(sd):
    return {k: {"shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", ""), "values": v.detach().double().flatten().tolist()} for k, v in sd.items()}


class System:
    """Pickles as a call to os.system, as a hostile checkpoint would."""

    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def formats(out):
    sd = tensors()
    torch.save(sd, out / "zip.pth")
    torch.save(sd, out / "legacy.pth", _use_new_zipfile_serialization=False)
    prefixed = OrderedDict(("module." + k, v) for k, v in sd.items())
    training = {"epoch": 3, "best_acc1": 0.75, "arch": "tiny", "state_dict": prefixed, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "momentum": 0.9, "params": [0, 1, 2]}]}}
    torch.save(training, out / "nested.pth")
    torch.save({"model": sd}, out / "model_key_legacy.pth", _use_new_zipfile_serialization=False)
    torch.save({"weights": sd["conv.weight"], "payload": System()}, out / "system.pth")
    torch.save({"weights": sd["conv.weight"], "payload": System()}, out / "system_legacy.pth", _use_new_zipfile_serialization=False)
    (out / "expected.json").write_text(json.dumps({"tensors": describe(sd)}))


def resnet18(out):
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet18()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    model.eval()
    sd = model.state_dict()
    torch.save(sd, out / "resnet18.pth")
    torch.save(sd, out / "resnet18_legacy.pth", _use_new_zipfile_serialization=False)
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        logits = model(x)
    x.numpy().astype("<f4").tofile(out / "input.f32")
    (out / "expected.json").write_text(json.dumps({"input": list(x.shape), "logits": logits.flatten().tolist()}))


def torchvision_files(out, names):
    """Seeded random state dicts saved under torchvision's own file names (for the manifest tests)."""
    import torchvision

    written = {}
    for name in names:
        torch.manual_seed(0)
        weights = torchvision.models.get_model_weights(name).DEFAULT
        file = weights.url.rsplit("/", 1)[1]
        torch.save(torchvision.models.get_model(name).state_dict(), out / file)
        written[name] = file
    (out / "expected.json").write_text(json.dumps(written))


if __name__ == "__main__":
    what, target = sys.argv[1], pathlib.Path(sys.argv[2])
    target.mkdir(parents=True, exist_ok=True)
    if what == "formats":
        formats(target)
    elif what == "resnet18":
        resnet18(target)
    elif what == "torchvision":
        torchvision_files(target, sys.argv[3:])
    else:
        raise SystemExit(f"unknown set '{what}'")
