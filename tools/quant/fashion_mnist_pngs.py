#!/usr/bin/env python3
"""Writes the first N Fashion-MNIST training images as PNG files, a calibration folder for
cnn quantize lenet5. usage: fashion_mnist_pngs.py OUTDIR [N=500] [DATASET_DIR=/usr/share/datasets/fashion-mnist]"""
import gzip
import os
import sys

import numpy as np
from PIL import Image

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
root = sys.argv[3] if len(sys.argv) > 3 else "/usr/share/datasets/fashion-mnist"
with gzip.open(os.path.join(root, "train-images-idx3-ubyte.gz")) as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
os.makedirs(out, exist_ok=True)
for i in range(min(n, len(images))):
    Image.fromarray(images[i]).save(os.path.join(out, f"train{i:05d}.png"))
print(f"wrote {min(n, len(images))} images to {out}")
