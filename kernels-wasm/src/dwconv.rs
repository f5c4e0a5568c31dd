//! Depthwise convolution (groups == in_c == out_c), vectorised over channels: each output
//! pixel accumulates 8 channels per step in two f32x4 registers; padded taps are skipped.
//!
//! Packed weights, built once by `dwconv2d_pack_weights`, per block cb of 8 channels
//! (tails zero-filled): [bias: 8][tap = ky*kw + kx][8 channels]
use crate::conv::store_tile_8;
use crate::simd::*;

const CB: usize = 8;

#[no_mangle]
pub extern "C" fn dwconv2d_packed_len(channels: u32, kernel_h: u32, kernel_w: u32) -> u32 {
    let blocks = (channels as usize).div_ceil(CB);
    (blocks * (CB + (kernel_h * kernel_w) as usize * CB)) as u32
}

/// Packs torchvision-layout weights [c, 1, kh, kw] and bias [c] into `dst`.
#[no_mangle]
pub unsafe extern "C" fn dwconv2d_pack_weights(
    dst: *mut f32,
    weight: *const f32,
    bias: *const f32,
    channels: u32,
    kernel_h: u32,
    kernel_w: u32,
) {
    let c = channels as usize;
    let taps = (kernel_h * kernel_w) as usize;
    let mut d = dst;
    for cb in 0..c.div_ceil(CB) {
        for j in 0..CB {
            let ch = cb * CB + j;
            *d.add(j) = if ch < c { *bias.add(ch) } else { 0.0 };
        }
        d = d.add(CB);
        for t in 0..taps {
            for j in 0..CB {
                let ch = cb * CB + j;
                *d.add(j) = if ch < c { *weight.add(ch * taps + t) } else { 0.0 };
            }
            d = d.add(CB);
        }
    }
}

/// y = act(depthwise_conv(x, W) + bias (+ residual)); `residual` 0 means none.
#[no_mangle]
pub unsafe extern "C" fn dwconv2d_nhwc_f32(
    x: *const f32,
    y: *mut f32,
    residual: *const f32,
    packed: *const f32,
    n: u32,
    in_h: u32,
    in_w: u32,
    channels: u32,
    out_h: u32,
    out_w: u32,
    kernel_h: u32,
    kernel_w: u32,
    stride_h: u32,
    stride_w: u32,
    pad_top: u32,
    pad_left: u32,
    dilation_h: u32,
    dilation_w: u32,
    activation: u32,
) {
    let c = channels as usize;
    let (in_h, in_w) = (in_h as isize, in_w as isize);
    let (kh, kw) = (kernel_h as isize, kernel_w as isize);
    let taps = (kernel_h * kernel_w) as usize;
    let bstride = CB + taps * CB;
    let blocks = c.div_ceil(CB);
    let out_hw = (out_h * out_w) as usize;
    for b in 0..n as usize {
        let image = x.add(b * (in_h * in_w) as usize * c);
        for oy in 0..out_h as isize {
            let iy0 = oy * stride_h as isize - pad_top as isize;
            // Valid kernel rows: 0 <= iy0 + ky * dilation < in_h.
            let dh = dilation_h as isize;
            let ky0 = if iy0 < 0 { (-iy0 + dh - 1) / dh } else { 0 };
            let ky1 = kh.min((in_h - iy0 + dh - 1) / dh).max(ky0);
            for ox in 0..out_w as isize {
                let ix0 = ox * stride_w as isize - pad_left as isize;
                let dw = dilation_w as isize;
                let kx0 = if ix0 < 0 { (-ix0 + dw - 1) / dw } else { 0 };
                let kx1 = kw.min((in_w - ix0 + dw - 1) / dw).max(kx0);
                let m = b * out_hw + (oy as usize) * out_w as usize + ox as usize;
                for cb in 0..blocks {
                    let wb = packed.add(cb * bstride);
                    let mut acc = [load(wb), load(wb.add(4))];
                    for ky in ky0..ky1 {
                        let row = image.add(((iy0 + ky * dh) * in_w) as usize * c + cb * CB);
                        let wrow = wb.add(CB + (ky * kw) as usize * CB);
                        for kx in kx0..kx1 {
                            let xp = row.add((ix0 + kx * dw) as usize * c);
                            let wp = wrow.add(kx as usize * CB);
                            acc[0] = fmadd(acc[0], load(xp), load(wp));
                            acc[1] = fmadd(acc[1], load(xp.add(4)), load(wp.add(4)));
                        }
                    }
                    let nc = CB.min(c - cb * CB);
                    store_tile_8(&acc, &[m], 1, y, residual, c, cb * CB, nc, activation);
                }
            }
        }
    }
}
