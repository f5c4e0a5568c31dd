//! Activation epilogues on f32x4, written without libm. Polynomials were fitted for this
//! crate (weighted least squares driven toward minimax against 40-digit references).
//! Codes are the ABI shared with @cnn/core's `ACTIVATIONS` order (abi.rs, generated).
use crate::simd::*;

use crate::abi::{ACT_GELU, ACT_HARDSIGMOID, ACT_HARDSWISH, ACT_NONE, ACT_RELU, ACT_RELU6, ACT_SIGMOID, ACT_SILU, ACT_TANH};

const LOG2E: f32 = 1.442_695_040_888_963_4;
// ln 2 split so that n * LN2_HI is exact for |n| < 2^9.
const LN2_HI: f32 = 0.693_145_751_953_125;
const LN2_LO: f32 = 1.428_606_765_330_187e-6;

#[inline(always)]
fn horner(x: v128, c: &[f32]) -> v128 {
    let mut acc = splat(c[c.len() - 1]);
    let mut i = c.len() - 1;
    while i > 0 {
        i -= 1;
        acc = fmadd(splat(c[i]), acc, x);
    }
    acc
}

/// n = round(x log2 e) and 2^n for |x| <= 87.3, by the float's own rounding: past 1.5 * 2^23
/// the spacing of floats is 1, and the extra 127 leaves n's biased exponent n + 127 in the
/// low mantissa bits, so shifting the same bits left by 23 gives 2^n.
#[inline(always)]
fn exp_reduce(x: v128) -> (v128, v128) {
    const MAGIC: f32 = 12_583_039.0; // 1.5 * 2^23 + 127
    let biased = fmadd(splat(MAGIC), x, splat(LOG2E));
    (f32x4_sub(biased, splat(MAGIC)), i32x4_shl(biased, 23))
}

/// x - n ln 2 in two steps (n LN2_HI is exact), small enough for `exp_poly`.
#[inline(always)]
fn exp_remainder(x: v128, n: v128) -> v128 {
    f32x4_sub(f32x4_sub(x, f32x4_mul(n, splat(LN2_HI))), f32x4_mul(n, splat(LN2_LO)))
}

/// 2^n e^r with e^r = 1 + r + r^2 q(r), q's coefficients given lowest first.
#[inline(always)]
fn exp_poly(r: v128, scale: v128, q: &[f32]) -> v128 {
    f32x4_mul(f32x4_add(splat(1.0), fmadd(r, f32x4_mul(r, r), horner(r, q))), scale)
}

/// q for |r| <= 0.45 (remainders carrying a `lo` part): relative error 4e-9 before rounding.
const EXP_Q_WIDE: [f32; 5] = [
    0.499_999_689_078_220_7,
    0.166_662_544_232_008,
    0.041_671_516_554_121_7,
    0.008_392_860_041_291_65,
    0.001_376_502_076_053_193_2,
];

/// q for |r| <= ln 2 / 2 (plain remainders), one term less: relative error 1.1e-7 before
/// rounding (1.6e-7 evaluated in float32).
const EXP_Q_NARROW: [f32; 4] = [0.499_992_31, 0.166_671_16, 0.041_890_18, 0.008_312_475];

/// e^x for |x| <= 87.3 (callers clamp), where 2^n stays normal.
#[inline(always)]
fn exp_in_range(x: v128) -> v128 {
    let (n, scale) = exp_reduce(x);
    exp_poly(exp_remainder(x, n), scale, &EXP_Q_NARROW)
}

/// e^(hi + lo) for hi <= 0 and |lo| <= 0.1, flushed to 0 once hi < -87.3 (where the result
/// leaves the normal range). Range reduction uses the exactly representable `hi`, so the
/// argument can be an unevaluated sum (see `gelu`).
#[inline(always)]
fn exp_sum_nonpositive(hi: v128, lo: v128) -> v128 {
    let (n, scale) = exp_reduce(hi);
    let e = exp_poly(f32x4_add(exp_remainder(hi, n), lo), scale, &EXP_Q_WIDE);
    v128_andnot(e, f32x4_lt(hi, splat(-87.3)))
}

/// Clamps to [-87.3, 87.3], where `exp_in_range` applies. Sigmoid-like functions clamp their
/// argument there: past it they are within 1e-37 of their limits.
#[inline(always)]
fn clamp_exp_range(x: v128) -> v128 {
    f32x4_pmin(f32x4_pmax(x, splat(-87.3)), splat(87.3))
}

/// e^x for any x, as 1 / e^-x for positive lanes (overflowing to +inf from x = 87.3, a little
/// before float32 must).
#[inline(always)]
pub fn exp(x: v128) -> v128 {
    let e = exp_sum_nonpositive(neg_abs(x), splat(0.0));
    v128_bitselect(e, f32x4_div(splat(1.0), e), sign_mask(x))
}

/// Lanes of all ones where x's sign bit is set (negative numbers, -0 and negative NaNs).
#[inline(always)]
fn sign_mask(x: v128) -> v128 {
    i32x4_shr(x, 31)
}

/// -|x|
#[inline(always)]
fn neg_abs(x: v128) -> v128 {
    v128_or(x, i32x4_splat(i32::MIN))
}

/// Natural log for positive normal inputs: ln(m 2^e) = e ln 2 + 2 atanh((m - 1) / (m + 1)),
/// m in [sqrt(1/2), sqrt(2)), where the atanh series converges to 1e-10 in five terms.
#[inline(always)]
pub fn ln(x: v128) -> v128 {
    let bits = x;
    let mut e = i32x4_sub(u32x4_shr(bits, 23), i32x4_splat(127));
    let mut m = v128_or(v128_and(bits, i32x4_splat(0x007f_ffff)), i32x4_splat(0x3f80_0000));
    let big = f32x4_gt(m, splat(core::f32::consts::SQRT_2));
    m = v128_bitselect(f32x4_mul(m, splat(0.5)), m, big);
    e = i32x4_sub(e, big); // big lanes are -1
    let ef = f32x4_convert_i32x4(e);
    let s = f32x4_div(f32x4_sub(m, splat(1.0)), f32x4_add(m, splat(1.0)));
    let s2 = f32x4_mul(s, s);
    let series = horner(s2, &[2.0, 2.0 / 3.0, 2.0 / 5.0, 2.0 / 7.0, 2.0 / 9.0]);
    let ln_m = f32x4_mul(s, series);
    f32x4_add(f32x4_mul(ef, splat(LN2_HI)), fmadd(ln_m, ef, splat(LN2_LO)))
}

#[inline(always)]
fn copysign(magnitude: v128, sign_of: v128) -> v128 {
    let sign = i32x4_splat(i32::MIN);
    v128_or(magnitude, v128_and(sign_of, sign))
}

#[inline(always)]
pub fn tanh(x: v128) -> v128 {
    let s = f32x4_mul(x, x);
    // |x| < 0.625: x + x^3 P(x^2), relative error 4e-9 before rounding.
    const P: [f32; 5] = [
        -0.333_332_819_401_818_5,
        0.133_314_421_575_307_68,
        -0.053_739_712_156_422_74,
        0.020_639_078_740_122_482,
        -0.005_704_978_372_858_205,
    ];
    let small = fmadd(x, f32x4_mul(x, s), horner(s, &P));
    // otherwise tanh |x| = (1 - e) / (1 + e) with e = e^-2|x| <= 0.29, which does not cancel.
    let m = neg_abs(x);
    let e = exp_sum_nonpositive(f32x4_add(m, m), splat(0.0));
    let big = f32x4_div(f32x4_sub(splat(1.0), e), f32x4_add(splat(1.0), e));
    v128_bitselect(small, copysign(big, x), f32x4_gt(m, splat(-0.625)))
}

/// 1 / (1 + e^-x), the argument clamped to where e^-x is normal.
#[inline(always)]
pub fn sigmoid(x: v128) -> v128 {
    let e = exp_in_range(clamp_exp_range(f32x4_neg(x)));
    f32x4_div(splat(1.0), f32x4_add(splat(1.0), e))
}

/// x / (1 + e^-x), the exponent clamped like sigmoid's.
#[inline(always)]
pub fn silu(x: v128) -> v128 {
    let e = exp_in_range(clamp_exp_range(f32x4_neg(x)));
    f32x4_div(x, f32x4_add(splat(1.0), e))
}

#[inline(always)]
fn relu6_of(x: v128) -> v128 {
    f32x4_pmin(f32x4_pmax(x, splat(0.0)), splat(6.0))
}

#[inline(always)]
pub fn hardswish(x: v128) -> v128 {
    f32x4_div(f32x4_mul(x, relu6_of(f32x4_add(x, splat(3.0)))), splat(6.0))
}

#[inline(always)]
pub fn hardsigmoid(x: v128) -> v128 {
    f32x4_div(relu6_of(f32x4_add(x, splat(3.0))), splat(6.0))
}

/// Exact GELU, x Phi(x), from the lower tail h = Phi(-|x|): Phi(x) = h for x < 0, 1 - h
/// otherwise, so neither side cancels. h = e^(-x^2 / 2) R(|x|), where R falls smoothly from
/// 1/2 like 1 / (|x| sqrt(2 pi)): R(a) = t Q(t) with t = 1 / (1 + 0.3 a) (Q fitted by
/// tools/fit/gelu_tail.py, relative error 3.2e-7 evaluated in float32, on all of [0, 13.3]).
#[inline(always)]
pub fn gelu(x: v128) -> v128 {
    const Q: [f32; 10] = [
        0.11968648433685303,
        0.1195756196975708,
        0.11020547151565552,
        0.0785222128033638,
        0.09579223394393921,
        -0.07877576351165771,
        0.19103960692882538,
        -0.22767764329910278,
        0.1122162789106369,
        -0.02058449387550354,
    ];
    // Past |x| = 13.2, h is below float32's normal range and flushes to 0.
    let a = f32x4_pmin(f32x4_abs(x), splat(13.5));
    let t = f32x4_div(splat(1.0), fmadd(splat(1.0), a, splat(0.3)));
    let r = f32x4_mul(t, horner(t, &Q));
    // e^(-a^2 / 2) with a^2 carried as ah^2 (exact: ah keeps 12 significant bits) plus a
    // small rest, so the tail keeps its relative accuracy (rounding a^2 would cost a^2 ulp).
    let ah = v128_and(a, i32x4_splat(0xffff_f000u32 as i32));
    let hi = f32x4_mul(f32x4_mul(ah, ah), splat(-0.5));
    let lo = f32x4_mul(f32x4_mul(f32x4_sub(a, ah), f32x4_add(a, ah)), splat(-0.5));
    let h = f32x4_mul(exp_sum_nonpositive(hi, lo), r);
    f32x4_mul(x, v128_bitselect(h, f32x4_sub(splat(1.0), h), sign_mask(x)))
}

/// Applies activation `code` (unknown codes act as identity; JS validates them).
#[inline(always)]
pub fn apply(v: v128, code: u32) -> v128 {
    match code {
        // pmax(v, 0) is `v < 0 ? 0 : v`: NaN stays NaN, as in torch.relu (pmax(0, v) gave 0).
        ACT_RELU => f32x4_pmax(v, splat(0.0)),
        ACT_RELU6 => relu6_of(v),
        ACT_TANH => tanh(v),
        ACT_SIGMOID => sigmoid(v),
        ACT_SILU => silu(v),
        ACT_HARDSWISH => hardswish(v),
        ACT_HARDSIGMOID => hardsigmoid(v),
        ACT_GELU => gelu(v),
        ACT_NONE | _ => v,
    }
}

