//! Activation epilogues on f32x4, written without libm. Polynomials were fitted for this
//! crate (weighted least squares driven toward minimax against 40-digit references).
//! Codes are the ABI shared with @cnn/core's `ACTIVATIONS` order.
use crate::simd::*;

pub const ACT_NONE: u32 = 0;
pub const ACT_RELU: u32 = 1;
pub const ACT_RELU6: u32 = 2;
pub const ACT_TANH: u32 = 3;
pub const ACT_SIGMOID: u32 = 4;
pub const ACT_SILU: u32 = 5;
pub const ACT_HARDSWISH: u32 = 6;
pub const ACT_HARDSIGMOID: u32 = 7;
pub const ACT_GELU: u32 = 8;

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

/// e^(hi + lo) for |lo| <= 0.1: range reduction uses the exactly representable `hi`,
/// so callers can pass an argument carried as an unevaluated sum (see `gelu`).
#[inline(always)]
fn exp_sum(hi: v128, lo: v128) -> v128 {
    // e^-104 is below the smallest subnormal; e^88.8 overflows to +inf through the scaling.
    let x = f32x4_pmin(f32x4_pmax(hi, splat(-104.0)), splat(88.8));
    let n = f32x4_nearest(f32x4_mul(x, splat(LOG2E)));
    let r = f32x4_sub(f32x4_sub(x, f32x4_mul(n, splat(LN2_HI))), f32x4_mul(n, splat(LN2_LO)));
    let r = f32x4_add(r, lo);
    // e^r = 1 + r + r^2 q(r) on |r| <= 0.45, relative error 4e-9 before rounding.
    const Q: [f32; 5] = [
        0.499_999_689_078_220_7,
        0.166_662_544_232_008,
        0.041_671_516_554_121_7,
        0.008_392_860_041_291_65,
        0.001_376_502_076_053_193_2,
    ];
    let q = horner(r, &Q);
    let p = f32x4_add(splat(1.0), fmadd(r, f32x4_mul(r, r), q));
    // 2^n applied as two factors so that n in [-150, 128] never leaves the normal range.
    let ni = i32x4_trunc_sat_f32x4(n);
    let n1 = i32x4_shr(ni, 1);
    let n2 = i32x4_sub(ni, n1);
    let s1 = i32x4_shl(i32x4_add(n1, i32x4_splat(127)), 23);
    let s2 = i32x4_shl(i32x4_add(n2, i32x4_splat(127)), 23);
    f32x4_mul(f32x4_mul(p, s1), s2)
}

#[inline(always)]
pub fn exp(x: v128) -> v128 {
    exp_sum(x, f32x4_splat(0.0))
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
    let ax = f32x4_abs(x);
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
    // otherwise 1 - 2 / (e^(2|x|) + 1), which no longer cancels badly.
    let e = exp(f32x4_add(ax, ax));
    let big = f32x4_sub(splat(1.0), f32x4_div(splat(2.0), f32x4_add(e, splat(1.0))));
    v128_bitselect(small, copysign(big, x), f32x4_lt(ax, splat(0.625)))
}

#[inline(always)]
pub fn sigmoid(x: v128) -> v128 {
    f32x4_div(splat(1.0), f32x4_add(splat(1.0), exp(f32x4_neg(x))))
}

#[inline(always)]
pub fn silu(x: v128) -> v128 {
    f32x4_div(x, f32x4_add(splat(1.0), exp(f32x4_neg(x))))
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

/// Exact GELU, x * Phi(x) with Phi(x) = erfc(-x / sqrt 2) / 2.
#[inline(always)]
pub fn gelu(x: v128) -> v128 {
    let z = f32x4_mul(x, splat(core::f32::consts::FRAC_1_SQRT_2));
    // Past |z| = 10, erfc is below the smallest subnormal anyway.
    let az = f32x4_pmin(f32x4_abs(z), splat(10.0));

    // |z| < 0.5: Phi = 1/2 + erf(z)/2 with erf(z) = z P(z^2), relative error 1.4e-9.
    const P: [f32; 5] = [
        1.128_379_165_567_336,
        -0.376_126_085_727_586_1,
        0.112_828_228_082_283_25,
        -0.026_757_184_164_604_916,
        0.004_717_989_863_171_711,
    ];
    let s = f32x4_mul(z, z);
    let erf_small = f32x4_mul(z, horner(s, &P));
    let phi_small = fmadd(splat(0.5), splat(0.5), erf_small);

    // |z| >= 0.5: erfc(|z|) = e^(-z^2) t Q(t), t = 1 / (1 + 0.4 |z|), relative error 4e-9.
    const Q: [f32; 9] = [
        0.225_678_837_097_579_02,
        0.225_573_940_886_101_9,
        0.209_000_273_252_914_2,
        0.161_450_158_829_635_37,
        0.165_979_971_690_199_73,
        -0.055_559_929_083_853_69,
        0.228_195_770_213_793_77,
        -0.220_487_364_814_522_94,
        0.060_180_333_944_679_025,
    ];
    let t = f32x4_div(splat(1.0), fmadd(splat(1.0), splat(0.4), az));
    let q = horner(t, &Q);
    // e^(-z^2) = e^(-x^2 / 2), with x^2 carried as xh^2 (exact: xh keeps 12 significant bits)
    // plus a small rest, so the tail keeps its relative accuracy (rounding z itself would cost
    // 2 |z|^2 ulp there).
    let ax = f32x4_pmin(f32x4_abs(x), splat(10.0 * core::f32::consts::SQRT_2));
    let xh = v128_and(ax, i32x4_splat(0xffff_f000u32 as i32));
    let hi = f32x4_mul(f32x4_mul(xh, xh), splat(-0.5));
    let lo = f32x4_mul(f32x4_mul(f32x4_sub(ax, xh), f32x4_add(ax, xh)), splat(-0.5));
    let e = exp_sum(hi, lo);
    let half_erfc = f32x4_mul(f32x4_mul(e, splat(0.5)), f32x4_mul(t, q));
    let phi_big = v128_bitselect(
        f32x4_sub(splat(1.0), half_erfc),
        half_erfc,
        f32x4_ge(z, splat(0.0)),
    );
    let phi = v128_bitselect(phi_small, phi_big, f32x4_lt(az, splat(0.5)));
    f32x4_mul(x, phi)
}

/// Applies activation `code` (unknown codes act as identity; JS validates them).
#[inline(always)]
pub fn apply(v: v128, code: u32) -> v128 {
    match code {
        // pmax(0, v) maps NaN to 0 like the reference's `x > 0 ? x : 0`.
        ACT_RELU => f32x4_pmax(splat(0.0), v),
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
