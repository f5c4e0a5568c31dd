#!/usr/bin/env bash
# Builds @cnn/train's kernel binaries into packages/train/wasm/ from the kernels-wasm crate with
# its cargo feature `train` (the recipe is packages/kernels/build.sh's):
#   cnn_train.wasm            simd128, single-threaded
#   cnn_train-threads.wasm    simd128 + atomics on imported shared memory (2+ threads)
# Only @cnn/train loads them: inference apps never download the training kernels.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
(($#)) || set -- train train-threads
CNN_WASM_OUT_DIR="$here/wasm" exec bash "$here/../kernels/build.sh" "$@"
