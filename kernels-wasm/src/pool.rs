//! Max, average and adaptive average pooling over NHWC, four channels per f32x4 step.
//! Divisors follow PyTorch: count_include_pad counts padding cells but not cells past it.
use crate::activation;
use crate::simd::*;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Max,
    Avg { count_include_pad: bool },
}

#[inline(always)]
unsafe fn pool2d(
    mode: Mode,
    x: *const f32,
    y: *mut f32,
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
    activation: u32,
) {
    let c = channels as usize;
    let (in_h, in_w) = (in_h as isize, in_w as isize);
    let (kh, kw) = (kernel_h as isize, kernel_w as isize);
    let (pt, pl) = (pad_top as isize, pad_left as isize);
    let mut out = y;
    for b in 0..n as usize {
        let image = x.add(b * (in_h * in_w) as usize * c);
        for oy in 0..out_h as isize {
            let y0 = oy * stride_h as isize - pt;
            let (iy0, iy1) = (y0.max(0), (y0 + kh).min(in_h));
            for ox in 0..out_w as isize {
                let x0 = ox * stride_w as isize - pl;
                let (ix0, ix1) = (x0.max(0), (x0 + kw).min(in_w));
                let divisor = match mode {
                    Mode::Avg { count_include_pad: true } => {
                        ((y0 + kh).min(in_h + pt) - y0) * ((x0 + kw).min(in_w + pl) - x0)
                    }
                    _ => (iy1 - iy0).max(0) * (ix1 - ix0).max(0),
                };
                let divisor = f32x4_splat(divisor as f32);
                let mut ch = 0;
                while ch < c {
                    let mut acc = match mode {
                        Mode::Max => f32x4_splat(f32::NEG_INFINITY),
                        Mode::Avg { .. } => f32x4_splat(0.0),
                    };
                    for iy in iy0..iy1 {
                        for ix in ix0..ix1 {
                            let v = load(image.add((iy * in_w + ix) as usize * c + ch));
                            acc = match mode {
                                // max (not pmax) propagates NaN like the reference.
                                Mode::Max => f32x4_max(acc, v),
                                Mode::Avg { .. } => f32x4_add(acc, v),
                            };
                        }
                    }
                    if mode != Mode::Max {
                        acc = f32x4_div(acc, divisor);
                    }
                    store_partial(out.add(ch), activation::apply(acc, activation), c - ch);
                    ch += 4;
                }
                out = out.add(c);
            }
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn maxpool2d_nhwc(
    x: *const f32,
    y: *mut f32,
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
    activation: u32,
) {
    pool2d(
        Mode::Max, x, y, n, in_h, in_w, channels, out_h, out_w, kernel_h, kernel_w, stride_h,
        stride_w, pad_top, pad_left, activation,
    )
}

#[no_mangle]
pub unsafe extern "C" fn avgpool2d_nhwc(
    x: *const f32,
    y: *mut f32,
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
    count_include_pad: u32,
    activation: u32,
) {
    let mode = Mode::Avg { count_include_pad: count_include_pad != 0 };
    pool2d(
        mode, x, y, n, in_h, in_w, channels, out_h, out_w, kernel_h, kernel_w, stride_h, stride_w,
        pad_top, pad_left, activation,
    )
}

/// PyTorch's AdaptiveAvgPool2d: output cell i spans [floor(i*H/oh), ceil((i+1)*H/oh)).
#[no_mangle]
pub unsafe extern "C" fn adaptive_avgpool2d_nhwc(
    x: *const f32,
    y: *mut f32,
    n: u32,
    in_h: u32,
    in_w: u32,
    channels: u32,
    out_h: u32,
    out_w: u32,
) {
    let c = channels as usize;
    let (in_h, in_w, out_h, out_w) = (in_h as usize, in_w as usize, out_h as usize, out_w as usize);
    let mut out = y;
    for b in 0..n as usize {
        let image = x.add(b * in_h * in_w * c);
        for oy in 0..out_h {
            let iy0 = oy * in_h / out_h;
            let iy1 = ((oy + 1) * in_h).div_ceil(out_h);
            for ox in 0..out_w {
                let ix0 = ox * in_w / out_w;
                let ix1 = ((ox + 1) * in_w).div_ceil(out_w);
                let divisor = f32x4_splat(((iy1 - iy0) * (ix1 - ix0)) as f32);
                let mut ch = 0;
                while ch < c {
                    let mut acc = f32x4_splat(0.0);
                    for iy in iy0..iy1 {
                        for ix in ix0..ix1 {
                            acc = f32x4_add(acc, load(image.add((iy * in_w + ix) * c + ch)));
                        }
                    }
                    store_partial(out.add(ch), f32x4_div(acc, divisor), c - ch);
                    ch += 4;
                }
                out = out.add(c);
            }
        }
    }
}
