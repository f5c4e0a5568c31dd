#!/usr/bin/env bash
# Prepares .carry/gpu (ignored by git) for benchmarks/gpu/run.sh on the lent GPU machine, which has
# no Node.js and reaches no registry: an xz-compressed node binary, the 'webgpu' package with an
# xz-compressed dawn.node, onnxruntime-web's WebGPU build (its wasm xz-compressed), the weight-free
# ONNX exports with torchvision's logits (export_onnx.py), the benchmark bundled into one file, and
# the Vulkan loader .deb.
# Usage: bash benchmarks/gpu/prepare.sh   (then carry ".carry/gpu"; see benchmarks/gpu/README.md)
set -euo pipefail
cd "$(dirname "$0")/../.."
CARRY=.carry/gpu
mkdir -p "$CARRY/debs" "$CARRY/node_modules/webgpu/dist/linux-x64"

# 1. The benchmark and every @cnn package it uses, in one file (only 'webgpu' stays external).
node benchmarks/gpu/bundle.mjs "$CARRY/webgpu-bench.mjs" --from "${FROM:-src}"

# 2. Node and Dawn, compressed (99 MB -> ~24 MB and 21 MB -> ~5 MB); redone only when they change.
NODE_BIN=$(readlink -f "$(command -v node)")
if [ ! -f "$CARRY/node.xz" ] || [ "$NODE_BIN" -nt "$CARRY/node.xz" ]; then
  echo "compressing $NODE_BIN ($(node --version))"
  xz -T2 -9 -c "$NODE_BIN" > "$CARRY/node.xz.tmp" && mv "$CARRY/node.xz.tmp" "$CARRY/node.xz"
fi
WEBGPU=node_modules/webgpu
cp "$WEBGPU/index.js" "$WEBGPU/package.json" "$CARRY/node_modules/webgpu/"
DAWN="$WEBGPU/dist/linux-x64/dawn.node"
if [ ! -f "$CARRY/$DAWN.xz" ] || [ "$DAWN" -nt "$CARRY/$DAWN.xz" ]; then
  xz -T2 -9 -c "$DAWN" > "$CARRY/$DAWN.xz"
fi

# 3. onnxruntime-web's WebGPU build: the entry, its emscripten glue and the asyncify wasm (26 MB -> ~4 MB).
ORT=benchmarks/node_modules/onnxruntime-web
ORT_OUT="$CARRY/node_modules/onnxruntime-web"
mkdir -p "$ORT_OUT/dist"
cp "$ORT/package.json" "$ORT_OUT/"
cp "$ORT/dist/ort.webgpu.bundle.min.mjs" "$ORT/dist/ort-wasm-simd-threaded.asyncify.mjs" "$ORT_OUT/dist/"
ORT_WASM="$ORT/dist/ort-wasm-simd-threaded.asyncify.wasm"
if [ ! -f "$ORT_OUT/dist/ort-wasm-simd-threaded.asyncify.wasm.xz" ] || [ "$ORT_WASM" -nt "$ORT_OUT/dist/ort-wasm-simd-threaded.asyncify.wasm.xz" ]; then
  xz -T2 -9 -c "$ORT_WASM" > "$ORT_OUT/dist/ort-wasm-simd-threaded.asyncify.wasm.xz"
fi

# 4. The models for onnxruntime: graphs without weights (regenerated there by torchvision key) and
#    torchvision logits: the race at 224 (batch 1 and 8); resnet18 at 64 for run.sh --smoke and lenet5 (batch 1 and 2).
PY=/usr/bin/python3
$PY benchmarks/gpu/export_onnx.py --out "$CARRY/onnx" --models resnet50,mobilenet_v2,efficientnet_b0,convnext_tiny,vgg16 --size 224 --batches 1,8
$PY benchmarks/gpu/export_onnx.py --out "$CARRY/onnx" --models resnet18,lenet5 --size 64 --batches 1,2

# 5. The Vulkan loader, for a machine that has the NVIDIA driver but no libvulkan.so.1.
if ! ls "$CARRY"/debs/libvulkan1_*.deb >/dev/null 2>&1; then
  APT_OPTS=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64)
  (cd "$CARRY/debs" && apt-get "${APT_OPTS[@]}" download libvulkan1 libglvnd0 libegl1 libgl1 libglx0 libgles2 libopengl0) || {
    echo "apt-get download libvulkan1 failed: run apt-get update first" >&2
    exit 1
  }
fi

du -sh "$CARRY"
echo "ready: carry \"$CARRY\" and run: bash benchmarks/gpu/run.sh"
