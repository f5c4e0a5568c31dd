//! The shared epilogue: int32 accumulators of 8 output channels to uint8, exactly as
//! packages/kernels/INT8.md states (f32 multiply, optional residual, round half to even by the
//! 1.5 * 2^23 trick after clamping to +-2^22, zero point, clamp).
use core::arch::wasm32::*;

/// Bytes of a packed block header: [bias: 8 x i32][multiplier: 8 x f32].
pub const HEADER_BYTES: usize = 64;

/// What every epilogue of one call shares.
pub struct Epilogue {
    pub y_zero: v128,
    pub lo: v128,
    pub hi: v128,
    pub residual_zero: v128,
    pub residual_mult: v128,
}

impl Epilogue {
    pub fn new(y_zero: i32, lo: i32, hi: i32, residual_zero: i32, residual_mult: f32) -> Self {
        Epilogue {
            y_zero: i32x4_splat(y_zero),
            lo: i32x4_splat(lo),
            hi: i32x4_splat(hi),
            residual_zero: i32x4_splat(residual_zero),
            residual_mult: f32x4_splat(residual_mult),
        }
    }
}

/// The nearest integer (ties to even) of finite `v` clamped to +-2^22, as i32.
#[inline(always)]
pub fn round_half_even(v: v128) -> v128 {
    const LIMIT: f32 = 4194304.0; // 2^22
    const MAGIC: f32 = 12582912.0; // 1.5 * 2^23
    // pmin/pmax (one instruction each where f32x4.min/max take several for NaN and -0): v is
    // finite, since q8.ts refuses multipliers over 2^64
    let v = f32x4_pmax(f32x4_pmin(v, f32x4_splat(LIMIT)), f32x4_splat(-LIMIT));
    // v + 1.5 * 2^23 lies in [2^23, 2^24], where f32's spacing is 1: the add rounds v to an
    // integer (ties to even), which is then the sum's bit pattern minus the magic number's (no
    // float-to-int conversion, which V8 emits as several instructions)
    i32x4_sub(f32x4_add(v, f32x4_splat(MAGIC)), i32x4_splat(MAGIC.to_bits() as i32))
}

/// Requantises acc (channels 0-3, 4-7; bias not yet added) with the block header at `header`,
/// adds the residual's 8 codes at `residual` (null: none) and stores `nc` (<= 8) bytes at `y`.
#[inline(always)]
pub unsafe fn store8(acc_lo: v128, acc_hi: v128, header: *const u8, e: &Epilogue, residual: *const u8, y: *mut u8, nc: usize) {
    let bias = header as *const v128;
    let mult = header.add(32) as *const v128;
    let mut lo = f32x4_mul(f32x4_convert_i32x4(i32x4_add(acc_lo, v128_load(bias))), v128_load(mult));
    let mut hi = f32x4_mul(f32x4_convert_i32x4(i32x4_add(acc_hi, v128_load(bias.add(1)))), v128_load(mult.add(1)));
    if !residual.is_null() {
        let r = u16x8_extend_low_u8x16(v128_load64_zero(residual as *const u64));
        let r_lo = f32x4_convert_i32x4(i32x4_sub(u32x4_extend_low_u16x8(r), e.residual_zero));
        let r_hi = f32x4_convert_i32x4(i32x4_sub(u32x4_extend_high_u16x8(r), e.residual_zero));
        lo = f32x4_add(lo, f32x4_mul(r_lo, e.residual_mult));
        hi = f32x4_add(hi, f32x4_mul(r_hi, e.residual_mult));
    }
    let q_lo = i32x4_min(i32x4_max(i32x4_add(round_half_even(lo), e.y_zero), e.lo), e.hi);
    let q_hi = i32x4_min(i32x4_max(i32x4_add(round_half_even(hi), e.y_zero), e.lo), e.hi);
    let bytes = u8x16_narrow_i16x8(i16x8_narrow_i32x4(q_lo, q_hi), i16x8_splat(0));
    if nc >= 8 {
        v128_store64_lane::<0>(bytes, y as *mut u64);
    } else {
        let mut tmp = [0u8; 16];
        v128_store(tmp.as_mut_ptr() as *mut v128, bytes);
        core::ptr::copy_nonoverlapping(tmp.as_ptr(), y, nc);
    }
}
