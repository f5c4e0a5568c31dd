#!/usr/bin/env bash
# Runs the WebGPU benchmark from the folder prepare.sh made (.carry/gpu): on the lent GPU machine,
# where there is no Node.js, or with --smoke here on SwiftShader to test the very same path.
# Usage: bash benchmarks/gpu/run.sh [--smoke] [benchmark options, e.g. --models resnet50 --batches 1]
# Results: the table on stdout, and webgpu-bench.txt / webgpu-bench.json in $OUT (or a temp dir);
# NAME=other names them other.txt / other.json (two runs in one device call).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
CARRY=${CARRY:-.carry/gpu}
SMOKE=0
if [ "${1:-}" = --smoke ]; then SMOKE=1; shift; fi
if [ ! -f "$CARRY/node.xz" ]; then
  echo "no $CARRY/node.xz: run benchmarks/gpu/prepare.sh first, and carry $CARRY" >&2
  exit 1
fi

WORK=$(mktemp -d /tmp/cnn-gpu.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
xz -dc "$CARRY/node.xz" > "$WORK/node"
chmod +x "$WORK/node"
mkdir -p "$WORK/node_modules/webgpu/dist/linux-x64"
cp "$CARRY/node_modules/webgpu/index.js" "$CARRY/node_modules/webgpu/package.json" "$WORK/node_modules/webgpu/"
xz -dc "$CARRY/node_modules/webgpu/dist/linux-x64/dawn.node.xz" > "$WORK/node_modules/webgpu/dist/linux-x64/dawn.node"
ORT="$WORK/node_modules/onnxruntime-web"
mkdir -p "$ORT/dist"
cp "$CARRY/node_modules/onnxruntime-web/package.json" "$ORT/"
cp "$CARRY"/node_modules/onnxruntime-web/dist/*.mjs "$ORT/dist/"
xz -dc "$CARRY/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm.xz" > "$ORT/dist/ort-wasm-simd-threaded.asyncify.wasm"
cp "$CARRY/webgpu-bench.mjs" "$WORK/"
export XDG_RUNTIME_DIR="$WORK/xdg"
mkdir -m 700 "$XDG_RUNTIME_DIR"

if [ "$SMOKE" = 1 ]; then
  export VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json}
  set -- --models resnet18 --batches 1,2 --size 64 --reps 2 --budget 0 "$@"
else
  # The loader: the machine's own, else the carried Debian one (unpacked over /, as the device notes say).
  # Always unpack the carried glvnd + Vulkan loader: the NVIDIA ICD (libGLX_nvidia) needs
  # libGLdispatch from libglvnd0 even where a Vulkan loader is already installed (seen on an H200).
  for f in "$CARRY"/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
  export __EGL_VENDOR_LIBRARY_FILENAMES=${__EGL_VENDOR_LIBRARY_FILENAMES:-/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json}
  # The driver: point the loader at NVIDIA's ICD where none is registered in the usual places.
  NV_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ] && [ -f "$NV_ICD" ] \
    && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
    export VK_DRIVER_FILES=$NV_ICD
  fi
  echo "vulkan: $(ldconfig -p | grep -m1 'libvulkan\.so\.1 ' || echo 'no loader'); VK_DRIVER_FILES=${VK_DRIVER_FILES:-} VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-}"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
fi

RESULTS=${OUT:-$WORK}
NAME=${NAME:-webgpu-bench}
set +e
"$WORK/node" "$WORK/webgpu-bench.mjs" --repo "$REPO" --onnx "$CARRY/onnx" --budget 2000 --json "$RESULTS/$NAME.json" "$@" 2>&1 | tee "$RESULTS/$NAME.txt"
status=${PIPESTATUS[0]}
set -e
[ -n "${OUT:-}" ] || echo "(results were in $WORK, removed on exit; set OUT to keep them)"
exit "$status"
