//! Depthwise int8 convolution (groups = in_c = out_c; any kernel, stride, padding, dilation):
//! per output pixel and block of 16 channels, taps in pairs: the two taps' 16 codes interleaved
//! byte by byte ([c0 t0, c0 t1, c1 t0, ...]), widened to i16, and i32x4.dot_i16x8_s with the
//! pair's interleaved i16 weights: 8 multiply-adds per instruction, exact (255 * 127 fits i16).
//!
//! Packed weights, per block of 16 channels (tails zero-filled): two epilogue headers (channels
//! 0-7, 8-15: bias' 8 x i32, multiplier 8 x f32), then [tap pair][16 channels][2 taps] i16 (an
//! odd kernel's last pair has zero weights for its second tap).
use super::requant::{self, Epilogue, HEADER_BYTES};
use super::ConvArgs;
use core::arch::wasm32::*;

const NC: usize = 16;
const MAX_TAPS: usize = super::igemm::MAX_TAPS;

#[inline(always)]
fn block_bytes(taps: usize) -> usize {
    2 * HEADER_BYTES + taps.div_ceil(2) * NC * 2 * 2
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
            let (b, m) = if c < channels {
                let sum: i32 = (0..taps).map(|t| *weight.add(c * taps + t) as i32).sum();
                (*bias.add(c) - x_zero * sum, *mult.add(c))
            } else {
                (0, 0.0)
            };
            let header = d.add(j / 8 * HEADER_BYTES);
            (header as *mut i32).add(j % 8).write_unaligned(b);
            (header.add(32) as *mut f32).add(j % 8).write_unaligned(m);
            for t in 0..taps.div_ceil(2) * 2 {
                let w = if c < channels && t < taps { *weight.add(c * taps + t) as i16 } else { 0 };
                (d.add(2 * HEADER_BYTES) as *mut i16).add((t / 2 * NC + j) * 2 + t % 2).write_unaligned(w);
            }
        }
    }
}

pub unsafe fn dwconv2d(a: &ConvArgs) {
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
    for m in 0..a.n as usize * out_hw {
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
        for cb in 0..c.div_ceil(NC) {
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
                if nc > 8 * half {
                    let r = if residual.is_null() { residual } else { residual.add(off + 8 * half) };
                    requant::store8(acc[2 * half], acc[2 * half + 1], mult[2 * half], mult[2 * half + 1], &e, r, y.add(off + 8 * half), (nc - 8 * half).min(8));
                }
            }
        }
    }
}
