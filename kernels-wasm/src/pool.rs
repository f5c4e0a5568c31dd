//! Max, average and adaptive average pooling over NHWC, four channels per f32x4 step.
//! Divisors follow PyTorch: count_include_pad counts padding cells but not cells past it.
use crate::activation;
use crate::simd::*;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Max,
    Avg { count_include_pad: bool },
}

/// One max or average pooling as JS writes it into an op descriptor.
pub use crate::abi::Pool2dArgs;

/// Output rows [rows.0, rows.1) over the batch.
#[inline(always)]
unsafe fn pool2d(mode: Mode, a: &Pool2dArgs, rows: (usize, usize)) {
    let (x, y) = (a.x as *const f32, a.y as *mut f32);
    let c = a.channels as usize;
    let (in_h, in_w) = (a.in_h as isize, a.in_w as isize);
    let (kh, kw) = (a.kernel_h as isize, a.kernel_w as isize);
    let (pt, pl) = (a.pad_top as isize, a.pad_left as isize);
    let (out_h, out_w) = (a.out_h as usize, a.out_w as usize);
    for r in rows.0..rows.1 {
        let b = r / out_h;
        let oy = (r - b * out_h) as isize;
        let image = x.add(b * (in_h * in_w) as usize * c);
        let y_stride = a.y_stride as usize;
        let mut out = y.add(r * out_w * y_stride);
        let y0 = oy * a.stride_h as isize - pt;
        let (iy0, iy1) = (y0.max(0), (y0 + kh).min(in_h));
        for ox in 0..out_w as isize {
            let x0 = ox * a.stride_w as isize - pl;
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
                store_partial(out.add(ch), activation::apply(acc, a.activation), c - ch);
                ch += 4;
            }
            out = out.add(y_stride);
        }
    }
}

#[inline(never)]
pub unsafe fn maxpool2d_nhwc(a: &Pool2dArgs, rows: (usize, usize)) {
    pool2d(Mode::Max, a, rows)
}

#[inline(never)]
pub unsafe fn avgpool2d_nhwc(a: &Pool2dArgs, rows: (usize, usize)) {
    pool2d(Mode::Avg { count_include_pad: a.count_include_pad != 0 }, a, rows)
}

/// One adaptive average pooling as JS writes it into an op descriptor.
pub use crate::abi::AdaptiveAvgPool2dArgs;

/// PyTorch's AdaptiveAvgPool2d: output cell i spans [floor(i*H/oh), ceil((i+1)*H/oh)).
/// Output rows [rows.0, rows.1) over the batch.
#[inline(never)]
#[optimize(size)]
pub unsafe fn adaptive_avgpool2d_nhwc(a: &AdaptiveAvgPool2dArgs, rows: (usize, usize)) {
    let (x, y) = (a.x as *const f32, a.y as *mut f32);
    let c = a.channels as usize;
    let (in_h, in_w, out_h, out_w) = (a.in_h as usize, a.in_w as usize, a.out_h as usize, a.out_w as usize);
    for r in rows.0..rows.1 {
        let b = r / out_h;
        let oy = r - b * out_h;
        let image = x.add(b * in_h * in_w * c);
        let mut out = y.add(r * out_w * c);
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
