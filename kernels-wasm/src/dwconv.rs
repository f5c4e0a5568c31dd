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

/// Accumulates P horizontally adjacent output pixels of one 8-channel block. Every pixel uses
/// kernel rows [ky0, ky1) and columns [kx0, kx1), so P > 1 is only used where no column clips;
/// the P pixels then share each weight load.
#[inline(always)]
unsafe fn dw_tile<const P: usize>(
    acc: &mut [v128],
    image: *const f32,
    wb: *const f32,
    c: usize,
    in_w: isize,
    iy0: isize,
    ix0: isize,
    stride_w: isize,
    dh: isize,
    dw: isize,
    kw: isize,
    (ky0, ky1): (isize, isize),
    (kx0, kx1): (isize, isize),
) {
    for ky in ky0..ky1 {
        let row = image.add(((iy0 + ky * dh) * in_w) as usize * c);
        let wrow = wb.add(CB + (ky * kw) as usize * CB);
        for kx in kx0..kx1 {
            let wp = wrow.add(kx as usize * CB);
            let (w0, w1) = (load(wp), load(wp.add(4)));
            for p in 0..P {
                let xp = row.add((ix0 + p as isize * stride_w + kx * dw) as usize * c);
                acc[2 * p] = fmadd(acc[2 * p], load(xp), w0);
                acc[2 * p + 1] = fmadd(acc[2 * p + 1], load(xp.add(4)), w1);
            }
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
    const P: usize = 4;
    let c = channels as usize;
    let (in_h, in_w) = (in_h as isize, in_w as isize);
    let (kh, kw) = (kernel_h as isize, kernel_w as isize);
    let (dh, dw) = (dilation_h as isize, dilation_w as isize);
    let (sw, out_w) = (stride_w as isize, out_w as usize);
    let taps = (kernel_h * kernel_w) as usize;
    let bstride = CB + taps * CB;
    let blocks = c.div_ceil(CB);
    let out_hw = out_h as usize * out_w;
    // Valid kernel indices k for an input origin o: 0 <= o + k * d < size.
    let valid = |o: isize, d: isize, size: isize, k: isize| {
        let k0 = if o < 0 { (-o + d - 1) / d } else { 0 };
        (k0, k.min((size - o + d - 1) / d).max(k0))
    };
    for b in 0..n as usize {
        let image = x.add(b * (in_h * in_w) as usize * c);
        for oy in 0..out_h as usize {
            let iy0 = oy as isize * stride_h as isize - pad_top as isize;
            let krows = valid(iy0, dh, in_h, kh);
            let mut ox = 0;
            while ox < out_w {
                let ix0 = ox as isize * sw - pad_left as isize;
                let m = b * out_hw + oy * out_w + ox;
                // P pixels at once when none of them has a clipped kernel column.
                let last = ix0 + (P as isize - 1) * sw;
                let wide = ox + P <= out_w && ix0 >= 0 && last + (kw - 1) * dw < in_w;
                let rows: [usize; P] = core::array::from_fn(|p| m + p);
                for cb in 0..blocks {
                    let wb = packed.add(cb * bstride);
                    let (b0, b1) = (load(wb), load(wb.add(4)));
                    let mut acc: [v128; 2 * P] = core::array::from_fn(|i| if i % 2 == 0 { b0 } else { b1 });
                    let xb = image.add(cb * CB);
                    let nc = CB.min(c - cb * CB);
                    if wide {
                        dw_tile::<P>(&mut acc, xb, wb, c, in_w, iy0, ix0, sw, dh, dw, kw, krows, (0, kw));
                        store_tile_8(&acc, &rows, P, y, residual, c, cb * CB, nc, activation);
                    } else {
                        let kcols = valid(ix0, dw, in_w, kw);
                        dw_tile::<1>(&mut acc, xb, wb, c, in_w, iy0, ix0, sw, dh, dw, kw, krows, kcols);
                        store_tile_8(&acc, &rows, 1, y, residual, c, cb * CB, nc, activation);
                    }
                }
                ox += if wide { P } else { 1 };
            }
        }
    }
}
