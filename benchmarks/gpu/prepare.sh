#!/usr/bin/env bash
# Prepares .carry/gpu (ignored by git) for benchmarks/gpu/run.sh on the lent GPU machine, which has
# no Node.js and reaches no registry: an xz-compressed node binary, the 'webgpu' package with an
# xz-compressed dawn.node, the benchmark bundled into one file, and the Vulkan loader .deb.
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

# 3. The Vulkan loader, for a machine that has the NVIDIA driver but no libvulkan.so.1.
if ! ls "$CARRY"/debs/libvulkan1_*.deb >/dev/null 2>&1; then
  APT_OPTS=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64)
  (cd "$CARRY/debs" && apt-get "${APT_OPTS[@]}" download libvulkan1 libglvnd0 libegl1 libgl1 libglx0 libgles2 libopengl0) || {
    echo "apt-get download libvulkan1 failed: run apt-get update first" >&2
    exit 1
  }
fi

du -sh "$CARRY"
echo "ready: carry \"$CARRY\" and run: bash benchmarks/gpu/run.sh"
