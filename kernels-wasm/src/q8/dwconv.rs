//! Depthwise int8 convolution (groups = in_c = out_c; any kernel, stride, padding, dilation):
//! per output pixel and block of 8 channels, each tap's 8 codes widened to i16 times its 8 i16
//! weights with i32x4.extmul (exact: |255 * 127| fits i16 operands, the product i32).
//!
//! Packed weights, per block of 8 channels (tails zero-filled):
//!   [header: bias' 8 x i32, multiplier 8 x f32][tap][8 x i16]
use super::requant::{self, Epilogue, HEADER_BYTES};
use super::ConvArgs;
use core::arch::wasm32::*;

const NC: usize = 8;
const MAX_TAPS: usize = super::igemm::MAX_TAPS;

#[inline(always)]
fn block_bytes(taps: usize) -> usize {
    HEADER_BYTES + taps * NC * 2
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
            (d as *mut i32).add(j).write_unaligned(b);
            (d.add(32) as *mut f32).add(j).write_unaligned(m);
            for t in 0..taps {
                let w = if c < channels { *weight.add(c * taps + t) as i16 } else { 0 };
                (d.add(HEADER_BYTES) as *mut i16).add(t * NC + j).write_unaligned(w);
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
    let mut ind = [zeros; MAX_TAPS];
    for m in 0..a.n as usize * out_hw {
        let b = m / out_hw;
        let oy = ((m % out_hw) / a.out_w as usize) as isize;
        let ox = ((m % out_hw) % a.out_w as usize) as isize;
        let image = x.add(b * (a.in_h * a.in_w) as usize * c);
        for t in 0..taps {
            let iy = oy * a.stride_h as isize - a.pad_top as isize + (t / a.kernel_w as usize) as isize * a.dilation_h as isize;
            let ix = ox * a.stride_w as isize - a.pad_left as isize + (t % a.kernel_w as usize) as isize * a.dilation_w as isize;
            ind[t] = if iy >= 0 && iy < a.in_h as isize && ix >= 0 && ix < a.in_w as isize {
                image.add((iy as usize * a.in_w as usize + ix as usize) * c)
            } else {
                zeros
            };
        }
        for cb in 0..c.div_ceil(NC) {
            let block = packed.add(cb * bb);
            let w = block.add(HEADER_BYTES) as *const v128;
            let mut lo = i32x4_splat(0);
            let mut hi = i32x4_splat(0);
            for t in 0..taps {
                let xv = u16x8_extend_low_u8x16(v128_load64_zero(ind[t].add(cb * NC) as *const u64));
                let wv = v128_load(w.add(t));
                lo = i32x4_add(lo, i32x4_extmul_low_i16x8(xv, wv));
                hi = i32x4_add(hi, i32x4_extmul_high_i16x8(xv, wv));
            }
            let off = m * c + cb * NC;
            let r = if residual.is_null() { residual } else { residual.add(off) };
            requant::store8(lo, hi, block, &e, r, y.add(off), (c - cb * NC).min(NC));
        }
    }
}
