//! The int8 ops that run outside a convolution's epilogue: a residual add left unfused (torch's
//! eager models round a block's last convolution before adding) and max pooling. Same
//! arithmetic as the js reference (packages/kernels/src/js/q8.ts `add`, `maxPool2d`), bit for bit.
use core::arch::wasm32::*;

use super::requant::round_half_even;

/// Stores the first `n` (< 16) bytes of `v` at `y`.
#[inline(always)]
unsafe fn store_part(v: v128, y: *mut u8, n: usize) {
    let mut tmp = [0u8; 16];
    v128_store(tmp.as_mut_ptr() as *mut v128, v);
    core::ptr::copy_nonoverlapping(tmp.as_ptr(), y, n);
}

/// Four f32x4 of (code - zero) · mult, one per quarter of 16 codes.
#[inline(always)]
fn scaled(codes: v128, zero: v128, mult: v128) -> [v128; 4] {
    let lo = u16x8_extend_low_u8x16(codes);
    let hi = u16x8_extend_high_u8x16(codes);
    let f = |q: v128| f32x4_mul(f32x4_convert_i32x4(i32x4_sub(q, zero)), mult);
    [f(u32x4_extend_low_u16x8(lo)), f(u32x4_extend_high_u16x8(lo)), f(u32x4_extend_low_u16x8(hi)), f(u32x4_extend_high_u16x8(hi))]
}

/// y[i] = clamp(round_half_even(f32((a[i] - a_zero)·a_mult) + f32((b[i] - b_zero)·b_mult)) + y_zero,
/// lo, hi) for `n` codes. Reads up to 15 bytes past a and b (the caller's slack); writes exactly n.
#[no_mangle]
pub unsafe extern "C" fn q8_add(a: *const u8, b: *const u8, y: *mut u8, n: u32, a_zero: i32, a_mult: f32, b_zero: i32, b_mult: f32, y_zero: i32, lo: i32, hi: i32) {
    let (za, ma, zb, mb) = (i32x4_splat(a_zero), f32x4_splat(a_mult), i32x4_splat(b_zero), f32x4_splat(b_mult));
    let (zy, vlo, vhi) = (i32x4_splat(y_zero), i32x4_splat(lo), i32x4_splat(hi));
    let n = n as usize;
    let mut i = 0;
    while i < n {
        let x = scaled(v128_load(a.add(i) as *const v128), za, ma);
        let w = scaled(v128_load(b.add(i) as *const v128), zb, mb);
        let q = |k: usize| i32x4_min(i32x4_max(i32x4_add(round_half_even(f32x4_add(x[k], w[k])), zy), vlo), vhi);
        let bytes = u8x16_narrow_i16x8(i16x8_narrow_i32x4(q(0), q(1)), i16x8_narrow_i32x4(q(2), q(3)));
        if n - i >= 16 {
            v128_store(y.add(i) as *mut v128, bytes);
        } else {
            store_part(bytes, y.add(i), n - i);
        }
        i += 16;
    }
}

/// Max pooling over NHWC codes, 16 channels at a time; padded cells never win (every code is
/// >= 0, so each window starts from 0). `geometry`: [n, in_h, in_w, c, out_h, out_w, kernel_h,
/// kernel_w, stride_h, stride_w, pad_top, pad_left] as u32 words. Reads up to 15 bytes past x.
#[no_mangle]
pub unsafe extern "C" fn q8_maxpool2d(x: *const u8, y: *mut u8, geometry: *const u32) {
    let g = core::slice::from_raw_parts(geometry, 12);
    let [n, in_h, in_w, c, out_h, out_w, kh, kw, sh, sw, pt, pl] = [g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11]].map(|v| v as isize);
    let mut out = y;
    for b in 0..n {
        for oy in 0..out_h {
            let (y0, y1) = ((oy * sh - pt).max(0), (oy * sh - pt + kh).min(in_h));
            for ox in 0..out_w {
                let (x0, x1) = ((ox * sw - pl).max(0), (ox * sw - pl + kw).min(in_w));
                let mut ch = 0;
                while ch < c {
                    let mut m = u8x16_splat(0);
                    for iy in y0..y1 {
                        for ix in x0..x1 {
                            let at = ((b * in_h + iy) * in_w + ix) * c + ch;
                            m = u8x16_max(m, v128_load(x.offset(at) as *const v128));
                        }
                    }
                    if c - ch >= 16 {
                        v128_store(out.offset(ch) as *mut v128, m);
                    } else {
                        store_part(m, out.offset(ch), (c - ch) as usize);
                    }
                    ch += 16;
                }
                out = out.offset(c);
            }
        }
    }
}

/// y[i] = clamp(round_half_even(f32(x[i] · inverse)) + zero, 0, 255) for `n` floats: the js
/// reference's `quantize` (torch.quantize_per_tensor), bit for bit. Returns 1 (and leaves y
/// unspecified) when some x[i] is NaN, which uint8 cannot hold: the caller reports it.
#[no_mangle]
pub unsafe extern "C" fn q8_quantize(x: *const f32, y: *mut u8, n: u32, inverse: f32, zero: i32) -> u32 {
    let n = n as usize;
    let (inv, z) = (f32x4_splat(inverse), i32x4_splat(zero));
    let (lo, hi) = (i32x4_splat(0), i32x4_splat(255));
    let mut nan = i32x4_splat(0);
    let mut sixteen = |v: [v128; 4], y: *mut u8, len: usize| {
        let mut q = [i32x4_splat(0); 4];
        for k in 0..4 {
            nan = v128_or(nan, f32x4_ne(v[k], v[k]));
            q[k] = i32x4_min(i32x4_max(i32x4_add(round_half_even(f32x4_mul(v[k], inv)), z), lo), hi);
        }
        let bytes = u8x16_narrow_i16x8(i16x8_narrow_i32x4(q[0], q[1]), i16x8_narrow_i32x4(q[2], q[3]));
        if len == 16 {
            v128_store(y as *mut v128, bytes);
        } else {
            store_part(bytes, y, len);
        }
    };
    let mut i = 0;
    while i + 16 <= n {
        let p = x.add(i) as *const v128;
        sixteen([v128_load(p), v128_load(p.add(1)), v128_load(p.add(2)), v128_load(p.add(3))], y.add(i), 16);
        i += 16;
    }
    if i < n {
        // the tail through zeros, so that no float past x[n - 1] is read
        let mut tail = [0f32; 16];
        core::ptr::copy_nonoverlapping(x.add(i), tail.as_mut_ptr(), n - i);
        let p = tail.as_ptr() as *const v128;
        sixteen([v128_load(p), v128_load(p.add(1)), v128_load(p.add(2)), v128_load(p.add(3))], y.add(i), n - i);
    }
    v128_any_true(nan) as u32
}

/// Global average pooling (torch's adaptive pooling to 1 x 1), the js reference's
/// `adaptiveAvgPool2d` bit for bit: per image and channel, acc = sum(q - x_zero) over the
/// `cells` = H x W codes (an exact integer: cells <= 65536), then
/// y = clamp(round_half_even(f32(f32(acc / cells) · m)) + y_zero, 0, 255). f32's division of
/// two integers below 2^24 is the js reference's f64 one rounded once to f32 (53 >= 2 · 24 + 2
/// bits: the double rounding is harmless). Reads up to 15 bytes past each image's last code.
#[no_mangle]
pub unsafe extern "C" fn q8_global_avgpool(x: *const u8, y: *mut u8, n: u32, cells: u32, c: u32, x_zero: i32, m: f32, y_zero: i32) {
    let (cells, c) = (cells as usize, c as usize);
    let offset = i32x4_splat(cells as i32 * x_zero);
    let (divisor, mult, zy) = (f32x4_splat(cells as f32), f32x4_splat(m), i32x4_splat(y_zero));
    let (lo, hi) = (i32x4_splat(0), i32x4_splat(255));
    for b in 0..n as usize {
        let image = x.add(b * cells * c);
        let out = y.add(b * c);
        let mut c0 = 0;
        while c0 < c {
            let mut acc = [i32x4_splat(0); 4];
            for cell in 0..cells {
                let v = v128_load(image.add(cell * c + c0) as *const v128);
                let (lo16, hi16) = (u16x8_extend_low_u8x16(v), u16x8_extend_high_u8x16(v));
                acc[0] = i32x4_add(acc[0], u32x4_extend_low_u16x8(lo16));
                acc[1] = i32x4_add(acc[1], u32x4_extend_high_u16x8(lo16));
                acc[2] = i32x4_add(acc[2], u32x4_extend_low_u16x8(hi16));
                acc[3] = i32x4_add(acc[3], u32x4_extend_high_u16x8(hi16));
            }
            let q = acc.map(|a| {
                let mean = f32x4_div(f32x4_convert_i32x4(i32x4_sub(a, offset)), divisor);
                i32x4_min(i32x4_max(i32x4_add(round_half_even(f32x4_mul(mean, mult)), zy), lo), hi)
            });
            let bytes = u8x16_narrow_i16x8(i16x8_narrow_i32x4(q[0], q[1]), i16x8_narrow_i32x4(q[2], q[3]));
            if c - c0 >= 16 {
                v128_store(out.add(c0) as *mut v128, bytes);
            } else {
                store_part(bytes, out.add(c0), c - c0);
            }
            c0 += 16;
        }
    }
}
