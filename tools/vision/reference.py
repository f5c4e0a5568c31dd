#!/usr/bin/python3
"""torchvision's image pipeline, as the oracle for @cnn/vision's tests (Debian's python3-torchvision, python3-pil).

Usage: /usr/bin/python3 tools/vision/reference.py < job.json > result.json

A job {"resize": [...]} instead runs Pillow's Image.resize on raw images (see resize_cases).

job.json: {"out": DIR, "presets": [...], "images": [PATH...], "model": NAME?, "weights": FILE?}
  every preset: {"resizeSize", "cropSize", "interpolation", "mean", "std", "channels": 1|3}
For every image i and preset j it writes to DIR:
  i.decoded      Image.open(path).convert('RGB' or 'L') as raw uint8 (the decoded pixels)
  i-j.resized    F.resize(shorter side) then F.center_crop of that image, raw uint8 HWC
  i-j.tensor     transforms._presets.ImageClassification (or its grayscale twin), float32 CHW
and with "model": the torchvision model with the .safetensors weights, on preset 0 of every
image: logits, softmax and the input of the last linear layer ("embedding"), as JSON.
"""

import json
import os
import struct
import sys

import numpy as np
import torch
import torchvision
import torchvision.transforms.functional as F
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms._presets import ImageClassification

MODES = {'bilinear': InterpolationMode.BILINEAR, 'bicubic': InterpolationMode.BICUBIC, 'nearest': InterpolationMode.NEAREST}


def preset_transform(p):
    interpolation = MODES[p['interpolation']]
    if p.get('channels', 3) == 3:
        return ImageClassification(crop_size=p['cropSize'], resize_size=p['resizeSize'], mean=p['mean'], std=p['std'],
                                   interpolation=interpolation)

    def gray(img):
        # the same steps as ImageClassification.forward, on a one-channel image
        img = F.resize(img, [p['resizeSize']], interpolation=interpolation)
        img = F.center_crop(img, [p['cropSize']])
        img = F.convert_image_dtype(F.pil_to_tensor(img), torch.float)
        return F.normalize(img, mean=p['mean'][:1], std=p['std'][:1])
    return gray


def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    kinds = {'F32': np.float32, 'F16': np.float16, 'I64': np.int64}
    out = {}
    for key, entry in header.items():
        if key == '__metadata__':
            continue
        a, b = entry['data_offsets']
        array = np.frombuffer(body[a:b], dtype=kinds[entry['dtype']]).reshape(entry['shape'])
        out[key] = torch.from_numpy(array.copy())
    return out


def run_model(job, tensors):
    model = getattr(torchvision.models, job['model'])()
    state = read_safetensors(job['weights'])
    missing, unexpected = model.load_state_dict(state, strict=False)
    # the files @cnn writes hold no num_batches_tracked counters; anything else missing is an error
    missing = [k for k in missing if not k.endswith('num_batches_tracked')]
    if missing or unexpected:
        raise SystemExit(f'weights do not fit {job["model"]}: missing {missing[:5]}, unexpected {unexpected[:5]}')
    model.eval()
    if job.get('pth'):
        # the same weights as torch writes them (zip format), for the tests that load .pth files
        torch.save(model.state_dict(), job['pth'])
    captured = {}
    last_linear = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    last_linear.register_forward_hook(lambda m, inp, out: captured.__setitem__('embedding', inp[0].detach()))
    with torch.no_grad():
        logits = model(torch.stack(tensors))
    return {
        'logits': logits.tolist(),
        'probabilities': torch.softmax(logits.double(), dim=1).tolist(),
        'embedding': captured['embedding'].reshape(len(tensors), -1).tolist(),
    }


def resize_cases(job):
    """Pillow's Image.resize on raw images the test wrote: {"resize": [{"file", "mode", "size", "to", "interpolation"}]}."""
    for case in job['resize']:
        with open(case['file'], 'rb') as f:
            img = Image.frombytes(case['mode'], tuple(case['size']), f.read())
        with open(case['file'] + '.out', 'wb') as f:
            f.write(img.resize(tuple(case['to']), MODES_PIL[case['interpolation']]).tobytes())
    json.dump({'resized': len(job['resize'])}, sys.stdout)


MODES_PIL = {'bilinear': Image.BILINEAR, 'bicubic': Image.BICUBIC, 'nearest': Image.NEAREST}


def main():
    job = json.load(sys.stdin)
    if 'resize' in job:
        return resize_cases(job)
    out = job['out']
    result = {'images': []}
    first = []
    for i, path in enumerate(job['images']):
        with Image.open(path) as opened:
            opened.load()
            source_mode = opened.mode
            rgb = opened.convert('RGB')
            gray = opened.convert('L')
        entry = {'path': path, 'mode': source_mode, 'size': list(rgb.size), 'presets': []}
        with open(os.path.join(out, f'{i}.decoded'), 'wb') as f:
            f.write(np.asarray(rgb, dtype=np.uint8).tobytes())
        for j, p in enumerate(job['presets']):
            img = rgb if p.get('channels', 3) == 3 else gray
            resized = F.center_crop(F.resize(img, [p['resizeSize']], interpolation=MODES[p['interpolation']]), [p['cropSize']])
            with open(os.path.join(out, f'{i}-{j}.resized'), 'wb') as f:
                f.write(np.asarray(resized, dtype=np.uint8).tobytes())
            tensor = preset_transform(p)(img)
            if j == 0:
                first.append(tensor)
            with open(os.path.join(out, f'{i}-{j}.tensor'), 'wb') as f:
                f.write(tensor.numpy().astype('<f4').tobytes())
            entry['presets'].append({'resized': list(resized.size), 'tensor': list(tensor.shape)})
        result['images'].append(entry)
    if job.get('model'):
        result['model'] = run_model(job, first)
    json.dump(result, sys.stdout)


if __name__ == '__main__':
    main()
