//! Small f32x4 helpers shared by every kernel family, and the one place where the binary's
//! instruction set shows: `fmadd` is a fused multiply-add (relaxed SIMD) in the relaxed
//! binaries and a multiply then add in the baseline simd128 ones.
pub use core::arch::wasm32::*;

#[inline(always)]
pub unsafe fn load(p: *const f32) -> v128 {
    v128_load(p as *const v128)
}

#[inline(always)]
pub unsafe fn store(p: *mut f32, v: v128) {
    v128_store(p as *mut v128, v)
}

#[inline(always)]
pub fn splat(x: f32) -> v128 {
    f32x4_splat(x)
}

/// acc + a * b as a multiply then an add (two roundings): baseline simd128.
#[cfg_attr(target_feature = "relaxed-simd", allow(dead_code))]
#[inline(always)]
pub fn madd_wasmsimd(acc: v128, a: v128, b: v128) -> v128 {
    f32x4_add(acc, f32x4_mul(a, b))
}

/// acc + a * b as relaxed SIMD's madd, which the engine fuses (one rounding) where the CPU
/// has FMA.
#[cfg(target_feature = "relaxed-simd")]
#[inline(always)]
pub fn madd_wasmrelaxedsimd(acc: v128, a: v128, b: v128) -> v128 {
    f32x4_relaxed_madd(a, b, acc)
}

/// The binary's multiply-add, used by every kernel outside the named microkernels.
#[cfg(target_feature = "relaxed-simd")]
pub use madd_wasmrelaxedsimd as fmadd;
#[cfg(not(target_feature = "relaxed-simd"))]
pub use madd_wasmsimd as fmadd;

/// Stores the first `n` lanes of `v` (n >= 4 stores all four).
#[inline(always)]
pub unsafe fn store_partial(p: *mut f32, v: v128, n: usize) {
    match n {
        0 => {}
        1 => *p = f32x4_extract_lane::<0>(v),
        2 => v128_store64_lane::<0>(v, p as *mut u64),
        3 => {
            v128_store64_lane::<0>(v, p as *mut u64);
            *p.add(2) = f32x4_extract_lane::<2>(v);
        }
        _ => store(p, v),
    }
}

/// Stores the first `n` lanes of the 8-wide pair (lo, hi).
#[inline(always)]
pub unsafe fn store8_partial(p: *mut f32, lo: v128, hi: v128, n: usize) {
    if n >= 8 {
        store(p, lo);
        store(p.add(4), hi);
    } else if n > 4 {
        store(p, lo);
        store_partial(p.add(4), hi, n - 4);
    } else {
        store_partial(p, lo, n);
    }
}

#[inline(always)]
pub fn hsum(v: v128) -> f32 {
    let s = f32x4_add(v, i32x4_shuffle::<2, 3, 0, 1>(v, v));
    let s = f32x4_add(s, i32x4_shuffle::<1, 0, 3, 2>(s, s));
    f32x4_extract_lane::<0>(s)
}

/// Part `i` of `parts` near-equal parts of [0, total), rounded to multiples of `align`.
#[inline(always)]
pub fn part(total: usize, parts: usize, i: usize, align: usize) -> (usize, usize) {
    let units = total.div_ceil(align);
    let lo = (units * i / parts * align).min(total);
    let hi = (units * (i + 1) / parts * align).min(total);
    (lo, hi)
}
