#!/usr/bin/env bash
# Builds kernels-wasm (Rust, no_std) into the four binaries of packages/kernels/wasm/, one
# per variant the loader can pick (src/wasm/variants.ts):
#   cnn_kernels.wasm                       simd                  simd128
#   cnn_kernels-relaxed-simd.wasm          relaxed-simd          + relaxed-simd (FMA microkernels)
#   cnn_kernels-simd-threads.wasm          simd-threads          + atomics, imported shared memory
#   cnn_kernels-relaxed-simd-threads.wasm  relaxed-simd-threads  both
# Recipe: shared/TOOLCHAIN.md section 7 (Debian cargo 1.96, build-std, wasm-ld-14).
# Machine paths: /usr/bin first (Debian's rustc-web must win over rustup toolchains, which have
# no wasm32 target here), and the crates rust-web-src vendors under /usr/src/rustc-<version>/
# (derived from `rustc --version`; CNN_RUST_VENDOR overrides it).
# With the cargo feature `train`, the same crate builds @cnn/train's binaries (the training
# kernels only; packages/train/build.sh calls this with CNN_WASM_OUT_DIR pointing there):
#   cnn_train.wasm                         train                 simd128
#   cnn_train-threads.wasm                 train-threads         + atomics, imported shared memory
# With the cargo feature `q8`, the int8 kernels alone (src/q8/; issue 15), which no inference
# entry point references (src/wasm/binaries.ts), so fp32 apps never download them:
#   cnn_q8.wasm                            q8                    simd128 (i32x4.dot_i16x8_s)
#   cnn_q8-relaxed.wasm                    q8-relaxed            + relaxed SIMD (relaxed_dot_i8x16_i7x16)
# Usage: build.sh [variant...]   (default: the four inference binaries and the two int8 ones)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
crate="$(cd "$here/../../kernels-wasm" && pwd)"
out_dir="${CNN_WASM_OUT_DIR:-$here/wasm}"
target_root="${CARGO_TARGET_DIR:-$crate/target}"
max_bytes=153600 # each binary must stay within 150 kB

# Debian's cargo/rustc (1.96, with rust-src) must win over rustup's x86_64-only toolchains.
export PATH="/usr/bin:$PATH"
export RUSTC_BOOTSTRAP=1
rust_version="$(rustc --version | awk '{ print $2 }')"
vendor="${CNN_RUST_VENDOR:-/usr/src/rustc-$rust_version/library/vendor}"
if [ ! -d "$vendor" ]; then
  echo "build.sh: no vendored crates at $vendor for rustc $rust_version: install Debian's rust-web-src (or set CNN_RUST_VENDOR)" >&2
  exit 1
fi

threads_link="-C link-arg=--shared-memory -C link-arg=--import-memory \
  -C link-arg=--max-memory=4294967296 -C link-arg=--export=__stack_pointer"

# The int8 binaries keep LLVM's instructions in source order within a block: its default
# scheduler hoisted a tile's six input splats above the dots that use them, one vector too many
# for V8's 15 registers on x64 (kernels-wasm/src/q8/igemm.rs, MR_FUSED). The fp32 binaries keep
# the default: in source order MobileNetV2, ResNet-50 and EfficientNet-B0 ran 1-2% slower.
source_order="-C llvm-args=-pre-RA-sched=source"

build_variant() {
  local variant="$1" features file link="" cargo_features="" llvm=""
  case "$variant" in
    simd) features="+simd128"; file="cnn_kernels.wasm" ;;
    relaxed-simd) features="+simd128,+relaxed-simd"; file="cnn_kernels-relaxed-simd.wasm" ;;
    simd-threads) features="+simd128,+atomics,+bulk-memory,+mutable-globals"; link="$threads_link"
      file="cnn_kernels-simd-threads.wasm" ;;
    relaxed-simd-threads) features="+simd128,+relaxed-simd,+atomics,+bulk-memory,+mutable-globals"
      link="$threads_link"; file="cnn_kernels-relaxed-simd-threads.wasm" ;;
    train) features="+simd128"; file="cnn_train.wasm"; cargo_features="--features train" ;;
    train-threads) features="+simd128,+atomics,+bulk-memory,+mutable-globals"; link="$threads_link"
      file="cnn_train-threads.wasm"; cargo_features="--features train" ;;
    q8) features="+simd128"; file="cnn_q8.wasm"; cargo_features="--features q8"; llvm="$source_order" ;;
    q8-relaxed) features="+simd128,+relaxed-simd"; file="cnn_q8-relaxed.wasm"; cargo_features="--features q8"
      llvm="$source_order" ;;
    *) echo "build.sh: unknown variant '$variant'" >&2; exit 2 ;;
  esac
  local target_dir="$target_root/$variant"
  # cargo finds .cargo/config.toml (the vendored-source replacement) from the working directory.
  # Kernels need a few KiB of stack; 256 KiB instead of Rust's default 1 MiB keeps memory small.
  # rustc warns that `atomics` is an unstable target feature (expected: TOOLCHAIN.md 7(b)).
  (cd "$crate" && RUSTFLAGS="-C target-feature=$features -C linker=wasm-ld-14 -C link-arg=-zstack-size=262144 $link $llvm" \
    CARGO_TARGET_DIR="$target_dir" cargo build --release --offline --quiet $cargo_features \
    --config "source.vendored-sources.directory='$vendor'" \
    --target wasm32-unknown-unknown -Z build-std=core,panic_abort) 2>&1 |
    { grep -v -e "unstable feature specified for \`-Ctarget-feature\`: \`atomics\`" \
      -e 'this feature is not stably supported' -e '^ *|$' -e '^$' || true; } >&2
  local raw="$target_dir/wasm32-unknown-unknown/release/cnn_kernels.wasm"
  local out="$out_dir/$file"
  # No wasm-opt: its -O3 inlines every kernel back into the plan runner's dispatch, one huge
  # function that V8 compiled 30% slower (conv layers) than rustc's output, where each kernel
  # stays its own function (kernels-wasm/src/plan.rs). It also cannot read relaxed SIMD
  # (Debian's binaryen 108 predates the final opcodes). rustc's output is LTO'd and stripped.
  cp "$raw" "$out.tmp"
  mv "$out.tmp" "$out"
  local size
  size=$(wc -c <"$out")
  echo "$file ($variant): $size bytes"
  if ((size > max_bytes)); then
    echo "build.sh: $file is $size bytes, over the $max_bytes-byte budget" >&2
    exit 1
  fi
}

mkdir -p "$out_dir"
variants=("$@")
((${#variants[@]})) || variants=(simd relaxed-simd simd-threads relaxed-simd-threads q8 q8-relaxed)
for v in "${variants[@]}"; do build_variant "$v"; done
