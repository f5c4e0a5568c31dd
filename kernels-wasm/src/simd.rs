//! Small f32x4 helpers shared by every kernel family.
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

#[inline(always)]
pub fn fmadd(acc: v128, a: v128, b: v128) -> v128 {
    // No fused multiply-add in baseline simd128; relaxed-simd would need an engine flag in Node 20.
    f32x4_add(acc, f32x4_mul(a, b))
}

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
