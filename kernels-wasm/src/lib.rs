//! f32 SIMD kernels for the @cnn wasm backend, exported with a raw C ABI.
//!
//! JavaScript owns the memory layout: every pointer argument is a byte offset into linear
//! memory, and every tensor is NHWC float32. Kernels never allocate, and they assume the
//! caller validated shapes and left at least 64 bytes of readable slack after the last
//! tensor (channel tails are computed with full-width loads whose extra lanes are discarded,
//! never stored).
//!
//! One source, four inference binaries (packages/kernels/build.sh): baseline simd128 or relaxed
//! SIMD (`fmadd` and the microkernels named `*_wasmrelaxedsimd_fma`), each single-threaded
//! (own memory) or threaded (+atomics, imported shared memory, `threads`). With the cargo
//! feature `train` the same crate builds the training binaries @cnn/train ships instead
//! (packages/train/build.sh): the training kernels only, so an inference app never downloads
//! them and they cost the inference binaries nothing. The cargo feature `q8` likewise builds the
//! int8 kernels alone (src/q8/, binaries cnn_q8*.wasm).
#![no_std]
#![cfg_attr(target_feature = "atomics", feature(stdarch_wasm_atomic_wait))]
// `#[optimize(size)]` for code run once per model (weight packers, plan_prepare's work split), in
// every binary (each inference binary has a 25 kB gzip budget); a binary with no such
// code leaves the feature unused
#![feature(optimize_attribute)]
#![allow(unused_features)]
// the training binary uses a few of the shared helpers (vector tanh, exp) and none of the rest
#![cfg_attr(any(feature = "train", feature = "q8"), allow(dead_code, unused_imports))]

mod abi;
mod activation;
#[cfg(not(any(feature = "train", feature = "q8")))]
mod conv;
#[cfg(not(any(feature = "train", feature = "q8")))]
mod dwconv;
#[cfg(not(any(feature = "train", feature = "q8")))]
mod elementwise;
#[cfg(not(any(feature = "train", feature = "q8")))]
mod linear;
#[cfg(not(any(feature = "train", feature = "q8")))]
mod normalization;
#[cfg(not(any(feature = "train", feature = "q8")))]
mod plan;
#[cfg(not(any(feature = "train", feature = "q8")))]
mod pool;
mod simd;
#[cfg(target_feature = "atomics")]
mod threads;
#[cfg(feature = "q8")]
mod q8;
#[cfg(feature = "train")]
mod train;
#[cfg(not(any(feature = "train", feature = "q8")))]
mod winograd;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// ABI version, bumped whenever an export's signature, a descriptor or a packed layout changes.
#[no_mangle]
pub extern "C" fn cnn_kernels_abi_version() -> u32 {
    abi::ABI_VERSION
}

/// What this binary was built with: bit 0 relaxed SIMD, bit 1 threads.
#[no_mangle]
pub extern "C" fn cnn_kernels_features() -> u32 {
    (cfg!(target_feature = "relaxed-simd") as u32) | ((cfg!(target_feature = "atomics") as u32) << 1)
}

/// The compute ceiling this binary reaches on one thread, for benchmarks (single-threaded
/// binaries only: benchmarks/kernels.mjs measures one thread; the threaded ones, at their gzip
/// budget, leave both benchmark exports out): the igemm 4x8
/// microkernel on L1-resident operands (4 rows of `k` floats from `table`, then k x 8 weights),
/// `iters` times; 64 k flops per round. Returns a value that keeps the work alive.
#[cfg(not(any(feature = "train", feature = "q8", target_feature = "atomics")))]
#[no_mangle]
pub unsafe extern "C" fn bench_igemm_peak(table: *const f32, k: u32, iters: u32) -> f32 {
    conv::bench_igemm_l1(table, k as usize, iters as usize)
}

/// The arithmetic peak of this binary's multiply-add on one thread, for benchmarks: 12
/// independent f32x4 chains (enough to cover a fused multiply-add's latency on current x86
/// and ARM cores) and no memory traffic, `iters` rounds of 96 flops. Baseline binaries issue a
/// multiply and an add per step, relaxed-SIMD ones one fused instruction. Returns a value that
/// keeps the work alive.
#[cfg(not(any(feature = "train", feature = "q8", target_feature = "atomics")))]
#[no_mangle]
pub extern "C" fn bench_madd_peak(iters: u32) -> f32 {
    use simd::*;
    // acc = acc * a + b: each step depends on the last through the multiply; a^iters stays
    // near e, far from overflow and denormals.
    let a = f32x4_splat(1.0 + 1.0 / (iters as f32 + 3.0));
    let b = f32x4_splat(1e-3);
    let mut acc: [v128; 12] = core::array::from_fn(|i| f32x4_splat(1.0 + i as f32));
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = fmadd(b, *v, a);
        }
    }
    acc.iter().map(|v| hsum(*v)).sum()
}

/// Scales `rows` rows of `per` floats at `w` in place, row r by `scale[r]` (f64):
/// w = fround(w * scale[r]) with the product in double precision, as the JS fold computes it
/// (@cnn/core's folded-weights.ts), so the packed weights are the same bits. The wasm backend
/// calls it on staged weights before packing them (a folded batch norm's factors).
#[cfg(not(any(feature = "train", feature = "q8")))]
#[no_mangle]
#[optimize(size)]
pub unsafe extern "C" fn scale_rows(w: *mut f32, rows: u32, per: u32, scale: *const f64) {
    use core::arch::wasm32::*;
    let per = per as usize;
    for r in 0..rows as usize {
        let s = *scale.add(r);
        let sv = f64x2_splat(s);
        let row = w.add(r * per);
        let mut i = 0;
        while i + 4 <= per {
            // The halves are joined by an OR with the zero lanes of the other demotion: joined
            // by a shuffle (or stored 8 bytes each), LLVM turned each demotion into two scalar
            // conversions and lane inserts, 0.9 ns a float in V8.
            let v = v128_load(row.add(i) as *const v128);
            let lo = f32x4_demote_f64x2_zero(f64x2_mul(f64x2_promote_low_f32x4(v), sv));
            let hi = f32x4_demote_f64x2_zero(f64x2_mul(f64x2_promote_low_f32x4(i64x2_shuffle::<1, 1>(v, v)), sv));
            v128_store(row.add(i) as *mut v128, v128_or(lo, i64x2_shuffle::<1, 0>(hi, hi)));
            i += 4;
        }
        while i < per {
            *row.add(i) = (*row.add(i) as f64 * s) as f32;
            i += 1;
        }
    }
}
