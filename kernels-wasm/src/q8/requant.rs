//! The shared epilogue: int32 accumulators of 8 output channels to uint8, exactly as
//! packages/kernels/INT8.md states (f32 multiply, optional residual, round half to even by the
//! 1.5 * 2^23 trick after clamping to +-2^22, zero point, clamp), in fewer instructions where
//! the result is the same (`round_clamp`).
use core::arch::wasm32::*;

/// Bytes of a packed block header: [bias: 8 x i32][multiplier: 8 x f32].
pub const HEADER_BYTES: usize = 64;

/// What every epilogue of one call shares.
pub struct Epilogue {
    /// the clamp, as real steps around the zero point: [lo - y_zero, hi - y_zero] in f32
    pub lo: v128,
    pub hi: v128,
    /// the magic number's bits minus y_zero: subtracting it from the rounded sum's bits leaves
    /// round(v) + y_zero
    pub magic_less_zero: v128,
    pub residual_zero: v128,
    pub residual_mult: v128,
    /// the clamp as codes [lo, hi] in every byte, for `store8x2_small`
    pub lo_codes: v128,
    pub hi_codes: v128,
}

impl Epilogue {
    pub fn new(y_zero: i32, lo: i32, hi: i32, residual_zero: i32, residual_mult: f32) -> Self {
        Epilogue {
            lo: f32x4_splat((lo - y_zero) as f32),
            hi: f32x4_splat((hi - y_zero) as f32),
            magic_less_zero: i32x4_splat(MAGIC.to_bits() as i32 - y_zero),
            residual_zero: i32x4_splat(residual_zero),
            residual_mult: f32x4_splat(residual_mult),
            lo_codes: u8x16_splat(lo as u8),
            hi_codes: u8x16_splat(hi as u8),
        }
    }
}

const MAGIC: f32 = 12582912.0; // 1.5 * 2^23

/// The nearest integer (ties to even) of finite `v` clamped to +-2^22, as i32.
#[inline(always)]
pub fn round_half_even(v: v128) -> v128 {
    const LIMIT: f32 = 4194304.0; // 2^22
    // pmin/pmax (one instruction each where f32x4.min/max take several for NaN and -0): v is
    // finite, since q8.ts refuses multipliers over 2^64
    let v = f32x4_pmax(f32x4_pmin(v, f32x4_splat(LIMIT)), f32x4_splat(-LIMIT));
    // v + 1.5 * 2^23 lies in [2^23, 2^24], where f32's spacing is 1: the add rounds v to an
    // integer (ties to even), which is then the sum's bit pattern minus the magic number's (no
    // float-to-int conversion, which V8 emits as several instructions)
    i32x4_sub(f32x4_add(v, f32x4_splat(MAGIC)), i32x4_splat(MAGIC.to_bits() as i32))
}

/// clamp(round_half_even(v) + y_zero, lo, hi) in 4 instructions after the multiply: the clamp
/// comes first, in real steps ([lo - y_zero, hi - y_zero], integers, so rounding commutes with
/// it and |v| <= 255 needs no 2^22 limit), and the zero point rides on the magic number.
#[inline(always)]
fn round_clamp(v: v128, e: &Epilogue) -> v128 {
    let v = f32x4_pmax(f32x4_pmin(v, e.hi), e.lo);
    i32x4_sub(f32x4_add(v, f32x4_splat(MAGIC)), e.magic_less_zero)
}

/// Requantises acc (channels 0-3, 4-7; bias already in) with the multipliers `mult_lo`,
/// `mult_hi`, adds the residual's 8 codes at `residual` (null: none) and stores `nc` (<= 8)
/// bytes at `y`.
#[inline(always)]
pub unsafe fn store8(acc_lo: v128, acc_hi: v128, mult_lo: v128, mult_hi: v128, e: &Epilogue, residual: *const u8, y: *mut u8, nc: usize) {
    let mut v = [f32x4_mul(f32x4_convert_i32x4(acc_lo), mult_lo), f32x4_mul(f32x4_convert_i32x4(acc_hi), mult_hi)];
    if !residual.is_null() {
        v = add_residual(v, residual, e);
    }
    let [lo, hi] = v;
    // in [0, 255]: the narrows (signed saturation to i16, then unsigned to u8) keep them
    let bytes = u8x16_narrow_i16x8(i16x8_narrow_i32x4(round_clamp(lo, e), round_clamp(hi, e)), i16x8_splat(0));
    if nc >= 8 {
        v128_store64_lane::<0>(bytes, y as *mut u64);
    } else {
        let mut tmp = [0u8; 16];
        v128_store(tmp.as_mut_ptr() as *mut v128, bytes);
        core::ptr::copy_nonoverlapping(tmp.as_ptr(), y, nc);
    }
}

/// v (channels 0-3, 4-7) plus the residual's 8 codes at `r`, dequantised: (code - zero) * mult.
#[inline(always)]
unsafe fn add_residual(v: [v128; 2], r: *const u8, e: &Epilogue) -> [v128; 2] {
    let r = u16x8_extend_low_u8x16(v128_load64_zero(r as *const u64));
    let r_lo = f32x4_convert_i32x4(i32x4_sub(u32x4_extend_low_u16x8(r), e.residual_zero));
    let r_hi = f32x4_convert_i32x4(i32x4_sub(u32x4_extend_high_u16x8(r), e.residual_zero));
    [f32x4_add(v[0], f32x4_mul(r_lo, e.residual_mult)), f32x4_add(v[1], f32x4_mul(r_hi, e.residual_mult))]
}

/// round_half_even(v) + y_zero, for |v| < 2^22 (no clamp needed for the magic number's trick).
#[inline(always)]
fn round_small(v: v128, e: &Epilogue) -> v128 {
    i32x4_sub(f32x4_add(v, f32x4_splat(MAGIC)), e.magic_less_zero)
}

/// Two pixels' 8 channels (a: pixel 0's channels 0-3, 4-7, then pixel 1's), requantised as
/// `store8` does (with the residual's codes at r0, r1 unless r0 is null) and stored at y0 and
/// y1, for a layer whose `ConvArgs::small_range` is set: the sums need no clamp before rounding,
/// so the clamp to [lo, hi] runs once on the 16 bytes (after the narrows, which saturate to
/// [0, 255] and so keep the clamp's result): 23 instructions for two pixels where store8 takes 30.
#[inline(always)]
pub unsafe fn store8x2_small(a: [v128; 4], mult_lo: v128, mult_hi: v128, e: &Epilogue, r0: *const u8, r1: *const u8, y0: *mut u8, y1: *mut u8) {
    let mut v0 = [f32x4_mul(f32x4_convert_i32x4(a[0]), mult_lo), f32x4_mul(f32x4_convert_i32x4(a[1]), mult_hi)];
    let mut v1 = [f32x4_mul(f32x4_convert_i32x4(a[2]), mult_lo), f32x4_mul(f32x4_convert_i32x4(a[3]), mult_hi)];
    if !r0.is_null() {
        v0 = add_residual(v0, r0, e);
        v1 = add_residual(v1, r1, e);
    }
    let p0 = i16x8_narrow_i32x4(round_small(v0[0], e), round_small(v0[1], e));
    let p1 = i16x8_narrow_i32x4(round_small(v1[0], e), round_small(v1[1], e));
    let bytes = u8x16_min(u8x16_max(u8x16_narrow_i16x8(p0, p1), e.lo_codes), e.hi_codes);
    v128_store64_lane::<0>(bytes, y0 as *mut u64);
    v128_store64_lane::<1>(bytes, y1 as *mut u64);
}

/// A block header's bias (channels 0-3, 4-7) and multipliers, loaded once per block.
#[inline(always)]
pub unsafe fn header(at: *const u8) -> [v128; 4] {
    let h = at as *const v128;
    [v128_load(h), v128_load(h.add(1)), v128_load(h.add(2)), v128_load(h.add(3))]
}
