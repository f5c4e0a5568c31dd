#!/usr/bin/env bash
# Builds kernels-wasm (Rust, no_std, simd128) into packages/kernels/wasm/cnn_kernels.wasm.
# Recipe: /work/shared/TOOLCHAIN.md section 7 (Debian cargo 1.96, build-std, wasm-ld-14, wasm-opt).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
crate="$(cd "$here/../../kernels-wasm" && pwd)"
out_dir="$here/wasm"
out="$out_dir/cnn_kernels.wasm"

# Debian's cargo/rustc (1.96, with rust-src) must win over rustup's x86_64-only toolchains.
export PATH="/usr/bin:$PATH"
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-C target-feature=+simd128 -C linker=wasm-ld-14"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$crate/target}"

# cargo finds .cargo/config.toml (the vendored-source replacement) from the working directory.
cd "$crate"
cargo build --release --offline \
  --target wasm32-unknown-unknown -Z build-std=core,panic_abort

raw="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/cnn_kernels.wasm"
mkdir -p "$out_dir"
# Skip wasm-opt when the optimised file is newer than cargo's output (cached rebuilds).
if [[ ! -f "$out" || "$raw" -nt "$out" ]]; then
  wasm-opt -O3 --enable-simd --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
    --enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types \
    --strip-debug --strip-producers --strip-target-features \
    "$raw" -o "$out.tmp"
  mv "$out.tmp" "$out"
fi
echo "cnn_kernels.wasm: $(wc -c <"$out") bytes"
