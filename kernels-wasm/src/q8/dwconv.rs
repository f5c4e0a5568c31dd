//! Depthwise int8 convolution (groups = in_c = out_c; any kernel, stride, padding, dilation).
//!
//! The general form: per output pixel and block of 16 channels, taps in pairs: the two taps' 16
//! codes interleaved byte by byte ([c0 t0, c0 t1, c1 t0, ...]), widened to i16, and
//! i32x4.dot_i16x8_s with the pair's interleaved i16 weights: 8 multiply-adds per instruction,
//! exact (255 * 127 fits i16).
//!
//! 3x3 without dilation, on the relaxed-SIMD binary, by output rows (`rows_3x3`): per row and
//! group of 8 channels, the window's three input rows are interleaved once into a scratch row
//! of columns [channel][row 0, 1, 2, 0 (a zero fourth)], so that relaxed SIMD's 4-way dot takes a
//! channel's three vertical taps at once; each output pixel is then three dots per 4 channels,
//! one per column of its window, against weights held in registers. The interleave is paid once
//! per input column instead of once per tap and output pixel. Rows whose input holds a code above
//! 127 (the i7 operand's range) take the general form.
//!
//! Packed weights, per block of 16 channels (tails zero-filled): two epilogue headers (channels
//! 0-7, 8-15: bias' 8 x i32, multiplier 8 x f32), then [tap pair][16 channels][2 taps] i16 (an
//! odd kernel's last pair has zero weights for its second tap); with 9 taps also, per group of 8
//! channels, [kernel column][channels 0-3, 4-7][channel][kernel row 0, 1, 2, 0] i8 for `rows_3x3`.
use super::requant::{self, Epilogue, HEADER_BYTES};
use super::ConvArgs;
use core::arch::wasm32::*;

const NC: usize = 16;
const MAX_TAPS: usize = super::igemm::MAX_TAPS;
/// Bytes of `rows_3x3`'s weights per block of 16 channels: 2 groups x 3 columns x 2 vectors.
const QUAD_BYTES: usize = 2 * 3 * 2 * 16;

#[inline(always)]
fn pair_bytes(taps: usize) -> usize {
    taps.div_ceil(2) * NC * 2 * 2
}

#[inline(always)]
fn block_bytes(taps: usize) -> usize {
    2 * HEADER_BYTES + pair_bytes(taps) + if taps == 9 { QUAD_BYTES } else { 0 }
}

pub fn packed_bytes(channels: usize, taps: usize) -> usize {
    channels.div_ceil(NC) * block_bytes(taps)
}

#[optimize(size)]
pub unsafe fn pack(dst: *mut u8, weight: *const i8, bias: *const i32, mult: *const f32, channels: usize, taps: usize, x_zero: i32) {
    for cb in 0..channels.div_ceil(NC) {
        let d = dst.add(cb * block_bytes(taps));
        for j in 0..NC {
            let c = cb * NC + j;
            let live = c < channels;
            let (b, m) = if live {
                let sum: i32 = (0..taps).map(|t| *weight.add(c * taps + t) as i32).sum();
                (*bias.add(c) - x_zero * sum, *mult.add(c))
            } else {
                (0, 0.0)
            };
            let header = d.add(j / 8 * HEADER_BYTES);
            (header as *mut i32).add(j % 8).write_unaligned(b);
            (header.add(32) as *mut f32).add(j % 8).write_unaligned(m);
            for t in 0..taps.div_ceil(2) * 2 {
                let w = if live && t < taps { *weight.add(c * taps + t) as i16 } else { 0 };
                (d.add(2 * HEADER_BYTES) as *mut i16).add((t / 2 * NC + j) * 2 + t % 2).write_unaligned(w);
            }
            if taps == 9 {
                // group j / 8, then [column][channels 0-3 | 4-7][channel][row]
                let q = d.add(2 * HEADER_BYTES + pair_bytes(taps) + j / 8 * (QUAD_BYTES / 2));
                for kx in 0..3 {
                    for ky in 0..4 {
                        let w = if live && ky < 3 { *weight.add(c * 9 + ky * 3 + kx) } else { 0 };
                        *q.add(kx * 32 + (j % 8) * 4 + ky) = w as u8;
                    }
                }
            }
        }
    }
}

/// Returns how many (output row, group of 8 channels) pairs ran `rows_3x3`'s relaxed-SIMD dot
/// (0 in the plain binary, and for other kernels).
pub unsafe fn dwconv2d(a: &ConvArgs) -> u32 {
    #[cfg(target_feature = "relaxed-simd")]
    if a.kernel_h == 3
        && a.kernel_w == 3
        && a.dilation_h == 1
        && a.dilation_w == 1
        && a.x_zero <= 127
        && ((a.out_w - 1) * a.stride_w + 3) as usize <= SCRATCH_COLS
    {
        return if super::igemm::FUSED_DOT {
            rows_3x3(a, super::igemm::dot_i7_add_fused)
        } else {
            rows_3x3(a, super::igemm::dot_i7_add)
        };
    }
    general(a, 0, (a.n * a.out_h * a.out_w) as usize, 0, (a.in_c as usize).div_ceil(NC), 3);
    0
}

/// The general form over output pixels [m0, m1) (images in order) and blocks [cb0, cb1) of 16
/// channels, storing the halves (channels 0-7, 8-15 of each block) that bit 0, 1 of `halves` name.
unsafe fn general(a: &ConvArgs, m0: usize, m1: usize, cb0: usize, cb1: usize, halves: u32) {
    let x = a.x as usize as *const u8;
    let c = a.in_c as usize;
    let taps = (a.kernel_h * a.kernel_w) as usize;
    let bb = block_bytes(taps);
    let out_hw = (a.out_h * a.out_w) as usize;
    let zeros = a.zeros as usize as *const u8;
    let y = a.y as usize as *mut u8;
    let residual = a.residual as usize as *const u8;
    let packed = a.packed as usize as *const u8;
    let e = Epilogue::new(a.y_zero, a.lo, a.hi, a.residual_zero, a.residual_mult);
    let (kh, kw) = (a.kernel_h as isize, a.kernel_w as isize);
    let (in_h, in_w) = (a.in_h as isize, a.in_w as isize);
    let (dh, dw) = (a.dilation_h as isize, a.dilation_w as isize);
    // a window inside the image: each tap at a fixed offset from its top-left cell
    let mut tap_at = [0usize; MAX_TAPS];
    for t in 0..taps {
        tap_at[t] = ((t as isize / kw * dh * in_w + t as isize % kw * dw) as usize) * c;
    }
    // an odd kernel's last pair reads ind[taps], which stays the zero row (its weights are 0)
    let mut ind = [zeros; MAX_TAPS + 1];
    for m in m0..m1 {
        let b = m / out_hw;
        let oy = ((m % out_hw) / a.out_w as usize) as isize;
        let ox = ((m % out_hw) % a.out_w as usize) as isize;
        let image = x.add(b * (a.in_h * a.in_w) as usize * c);
        let iy0 = oy * a.stride_h as isize - a.pad_top as isize;
        let ix0 = ox * a.stride_w as isize - a.pad_left as isize;
        if iy0 >= 0 && ix0 >= 0 && iy0 + (kh - 1) * dh < in_h && ix0 + (kw - 1) * dw < in_w {
            let corner = image.add((iy0 * in_w + ix0) as usize * c);
            for t in 0..taps {
                ind[t] = corner.add(tap_at[t]);
            }
        } else {
            for t in 0..taps {
                let iy = iy0 + t as isize / kw * dh;
                let ix = ix0 + t as isize % kw * dw;
                ind[t] = if iy >= 0 && iy < in_h && ix >= 0 && ix < in_w { image.add((iy * in_w + ix) as usize * c) } else { zeros };
            }
        }
        for cb in cb0..cb1 {
            let block = packed.add(cb * bb);
            let w = block.add(2 * HEADER_BYTES) as *const v128;
            let [b0, b1, m0, m1] = requant::header(block);
            let [b2, b3, m2, m3] = requant::header(block.add(HEADER_BYTES));
            let mut acc = [b0, b1, b2, b3];
            for pair in 0..taps.div_ceil(2) {
                let a = v128_load(ind[2 * pair].add(cb * NC) as *const v128);
                let b = v128_load(ind[2 * pair + 1].add(cb * NC) as *const v128);
                let lo = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(a, b);
                let hi = i8x16_shuffle::<8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31>(a, b);
                let wp = w.add(4 * pair);
                acc[0] = i32x4_add(acc[0], i32x4_dot_i16x8(u16x8_extend_low_u8x16(lo), v128_load(wp)));
                acc[1] = i32x4_add(acc[1], i32x4_dot_i16x8(u16x8_extend_high_u8x16(lo), v128_load(wp.add(1))));
                acc[2] = i32x4_add(acc[2], i32x4_dot_i16x8(u16x8_extend_low_u8x16(hi), v128_load(wp.add(2))));
                acc[3] = i32x4_add(acc[3], i32x4_dot_i16x8(u16x8_extend_high_u8x16(hi), v128_load(wp.add(3))));
            }
            let off = m * c + cb * NC;
            let nc = c - cb * NC;
            let mult = [m0, m1, m2, m3];
            for half in 0..2 {
                if nc > 8 * half && halves & (1 << half) != 0 {
                    let r = if residual.is_null() { residual } else { residual.add(off + 8 * half) };
                    requant::store8(acc[2 * half], acc[2 * half + 1], mult[2 * half], mult[2 * half + 1], &e, r, y.add(off + 8 * half), (nc - 8 * half).min(8));
                }
            }
        }
    }
}

/// Scratch columns of `rows_3x3` (a row of up to 1022 output pixels at stride 1, 510 at stride 2).
#[cfg(target_feature = "relaxed-simd")]
const SCRATCH_COLS: usize = 1024;
/// One interleaved input row band for one group of 8 channels: per column, two vectors
/// (channels 0-3, 4-7) of [channel][row 0, 1, 2, 0]. The int8 binaries are single-threaded.
#[cfg(target_feature = "relaxed-simd")]
static mut SCRATCH: [u64; 4 * SCRATCH_COLS] = [0; 4 * SCRATCH_COLS];

/// Three rows' 8 codes (low halves of r0, r1, r2) as [channel][r0 r1 r2 0] for channels 0-3, 4-7.
#[cfg(target_feature = "relaxed-simd")]
#[inline(always)]
fn quads(r0: v128, r1: v128, r2: v128) -> (v128, v128) {
    let r01 = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(r0, r1);
    let r2z = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(r2, u64x2_splat(0));
    (i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(r01, r2z), i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(r01, r2z))
}

/// 3x3 depthwise, no dilation, by output rows with relaxed SIMD's 4-way dot (the module
/// comment); `dot` is the split or the fused dot-add. The caller checked the zero point and the
/// row width; a (row, group) whose three input rows hold a code above 127 in the group's
/// channels runs the general form.
#[cfg(target_feature = "relaxed-simd")]
unsafe fn rows_3x3(a: &ConvArgs, dot: impl Fn(v128, v128, v128) -> v128 + Copy) -> u32 {
    let x = a.x as usize as *const u8;
    let c = a.in_c as usize;
    let (in_h, in_w) = (a.in_h as isize, a.in_w as usize);
    let (out_h, out_w) = (a.out_h as usize, a.out_w as usize);
    let (sh, sw) = (a.stride_h as isize, a.stride_w as usize);
    let pad_left = a.pad_left as usize;
    let zeros = a.zeros as usize as *const u8;
    let y = a.y as usize as *mut u8;
    let residual = a.residual as usize as *const u8;
    let packed = a.packed as usize as *const u8;
    let bb = block_bytes(9);
    let e = Epilogue::new(a.y_zero, a.lo, a.hi, a.residual_zero, a.residual_mult);
    let small = a.small_range != 0;
    let scratch = core::ptr::addr_of_mut!(SCRATCH) as *mut v128;
    // columns left and right of the image: zero-point codes in every row
    let zp = v128_load64_zero(zeros as *const u64);
    let (pad0, pad1) = quads(zp, zp, zp);
    let cols = (out_w - 1) * sw + 3;
    // scratch columns [lead, lead + in_w) hold image columns; the rest are padding
    let lead = pad_left.min(cols);
    let image_end = (pad_left + in_w).min(cols);
    let iota = u8x16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let mut fast = 0u32;
    for b in 0..a.n as usize {
        let image = x.add(b * in_h as usize * in_w * c);
        for oy in 0..out_h {
            let iy0 = oy as isize * sh - a.pad_top as isize;
            // each window row: its first cell and the step between columns (0 for a padding row)
            let row = |ky: isize| -> (*const u8, usize) {
                let iy = iy0 + ky;
                if iy >= 0 && iy < in_h {
                    (image.add(iy as usize * in_w * c), c)
                } else {
                    (zeros, 0)
                }
            };
            let [(p0, s0), (p1, s1), (p2, s2)] = [row(0), row(1), row(2)];
            let m_row = (b * out_h + oy) * out_w;
            for g in 0..c.div_ceil(8) {
                let nc = (c - 8 * g).min(8);
                let ch = 8 * g;
                for j in 0..lead {
                    v128_store(scratch.add(2 * j), pad0);
                    v128_store(scratch.add(2 * j + 1), pad1);
                }
                let mut any = u64x2_splat(0);
                for j in lead..image_end {
                    let ix = j - pad_left;
                    let r0 = v128_load64_zero(p0.add(ix * s0 + ch) as *const u64);
                    let r1 = v128_load64_zero(p1.add(ix * s1 + ch) as *const u64);
                    let r2 = v128_load64_zero(p2.add(ix * s2 + ch) as *const u64);
                    any = v128_or(any, v128_or(r0, v128_or(r1, r2)));
                    let (q0, q1) = quads(r0, r1, r2);
                    v128_store(scratch.add(2 * j), q0);
                    v128_store(scratch.add(2 * j + 1), q1);
                }
                for j in image_end..cols {
                    v128_store(scratch.add(2 * j), pad0);
                    v128_store(scratch.add(2 * j + 1), pad1);
                }
                // codes above 127 in the group's own channels: the general form for this row
                if u8x16_bitmask(v128_and(any, u8x16_lt(iota, u8x16_splat(nc as u8)))) != 0 {
                    general(a, m_row, m_row + out_w, g / 2, g / 2 + 1, 1 << (g % 2));
                    continue;
                }
                fast += 1;
                let block = packed.add(g / 2 * bb);
                let [bias0, bias1, mult0, mult1] = requant::header(block.add(g % 2 * HEADER_BYTES));
                let wq = block.add(2 * HEADER_BYTES + pair_bytes(9) + g % 2 * (QUAD_BYTES / 2)) as *const v128;
                let w: [v128; 6] = core::array::from_fn(|k| v128_load(wq.add(k)));
                // one output pixel: its window's three scratch columns against the weights
                let pixel = |ox: usize| -> (v128, v128) {
                    let col = scratch.add(2 * ox * sw) as *const v128;
                    let mut acc0 = dot(w[0], v128_load(col), bias0);
                    let mut acc1 = dot(w[1], v128_load(col.add(1)), bias1);
                    acc0 = dot(w[2], v128_load(col.add(2)), acc0);
                    acc1 = dot(w[3], v128_load(col.add(3)), acc1);
                    acc0 = dot(w[4], v128_load(col.add(4)), acc0);
                    acc1 = dot(w[5], v128_load(col.add(5)), acc1);
                    (acc0, acc1)
                };
                if small && nc == 8 {
                    // pixels in pairs through the short epilogue (a last odd one stored twice)
                    for ox in (0..out_w).step_by(2) {
                        let ox1 = (ox + 1).min(out_w - 1);
                        let (a0, a1) = pixel(ox);
                        let (a2, a3) = pixel(ox1);
                        let (o0, o1) = ((m_row + ox) * c + ch, (m_row + ox1) * c + ch);
                        let (r0, r1) = if residual.is_null() { (residual, residual) } else { (residual.add(o0), residual.add(o1)) };
                        requant::store8x2_small([a0, a1, a2, a3], mult0, mult1, &e, r0, r1, y.add(o0), y.add(o1));
                    }
                    continue;
                }
                for ox in 0..out_w {
                    let (acc0, acc1) = pixel(ox);
                    let off = (m_row + ox) * c + ch;
                    let r = if residual.is_null() { residual } else { residual.add(off) };
                    requant::store8(acc0, acc1, mult0, mult1, &e, r, y.add(off), nc);
                }
            }
        }
    }
    fast
}
