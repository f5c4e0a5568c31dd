#!/usr/bin/env bash
# Quick start on a fresh Debian 12 machine (as root, or with sudo): installs the toolchains and
# dependencies, builds every package (Rust → wasm included), then runs the main job: the built-in
# LeNet-5 (@cnn/lenet's shipped weights, trained by `cnn train`) classifies the 10,000 Fashion-MNIST
# test images, printing a few predictions against the true labels and the accuracy with its time.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Every Debian package the build and the tests need, so a bare Debian 12 machine passes
# (scripts/fresh-machine.sh checks that in a debootstrap root):
# - rustc-web, cargo-web, rust-web-src, lld-14, binaryen: Rust to WebAssembly (build-std, wasm-ld, wasm-opt)
# - chromium: the browser tests, and the SwiftShader Vulkan driver the WebGPU tests run Dawn on
# - libvulkan1: the system Vulkan loader Dawn (npm `webgpu`) opens; chromium only carries a private copy
# - python3-torch, python3-torchvision, python3-pil, python3-skimage: the torchvision oracle the golden,
#   checkpoint and image tests compare against, and real photographs
# - dataset-fashion-mnist: the data LeNet-5 is trained and checked on
# - python3-onnx: the weight-free ONNX exports the WebGPU race smoke test (benchmarks/gpu) runs
need_apt=()
for pkg in rustc-web cargo-web rust-web-src lld-14 binaryen chromium libvulkan1 \
  python3-torch python3-torchvision python3-pil python3-skimage python3-onnx dataset-fashion-mnist; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> apt-get install ${need_apt[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}"
fi

if [ "$(pnpm --version 2>/dev/null || true)" != "12.4.2" ]; then
  echo "==> npm i -g pnpm@12.4.2"
  $SUDO npm i -g pnpm@12.4.2
fi

export TURBO_TELEMETRY_DISABLED=1
echo "==> pnpm install"
pnpm install --frozen-lockfile
echo "==> build"
pnpm exec turbo run build --output-logs=errors-only

echo "==> cnn evaluate lenet5 --dataset fashion-mnist (the built-in LeNet-5 on the Fashion-MNIST test set)"
pnpm --silent cnn evaluate lenet5 --dataset fashion-mnist --show 10
