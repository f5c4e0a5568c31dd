//! Depthwise convolution (groups == in_c == out_c), vectorised over channels; padded taps
//! are skipped. Per output row and block of 8 channels, the columns whose window does not
//! clip take one of two microkernel families, both generated from templates per ISA:
//! - 3x3 and 5x5, stride 1 or 2: row tiles (`dwconv_rowtile_4c_*`), 6 pixels (stride 1)
//!   or 4 pixels (stride 2) x 4 channels, each input column loaded once per kernel row and
//!   the row's weights held in registers;
//! - other shapes: strips (`dwconv_4x8_*`), 4 pixels x 8 channels sharing each weight load.
//! Columns at the row's ends (clipped windows) go one pixel at a time.
//!
//! Packed weights, built once by `dwconv2d_pack_weights`, per block cb of 8 channels
//! (tails zero-filled): [bias: 8][tap = ky*kw + kx][8 channels]
use crate::abi::{ACT_HARDSWISH, ACT_NONE, ACT_RELU, ACT_RELU6};
use crate::activation;
use crate::conv::store_tile_8;
use crate::simd::*;

/// Channels per packed block (abi/spec.mjs's `dwconv_packed_floats`).
use crate::abi::NR as CB;

/// Packs torchvision-layout weights [c, 1, kh, kw] and bias [c] into `dst`
/// (`dwconv_packed_floats` floats).
#[no_mangle]
#[optimize(size)]
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

/// One depthwise convolution as JS writes it into an op descriptor.
pub use crate::abi::DwConv2dArgs;

impl DwConv2dArgs {
    /// Output rows over the batch.
    pub fn rows(&self) -> usize {
        (self.n * self.out_h) as usize
    }
    pub fn channel_blocks(&self) -> usize {
        (self.channels as usize).div_ceil(CB)
    }
}

/// Output pixels per strip in the unclipped interior of a row.
const P: usize = 4;

/// Generates a depthwise strip microkernel from the one template: P horizontally adjacent
/// output pixels x 8 channels in 2P f32x4 accumulators, for `krows` kernel rows from the
/// first valid one (`origin` and `w` point at it) and all `$kw` columns (unrolled when `$kw`
/// is a literal), each weight pair shared by the P pixels.
macro_rules! dwconv_strip_microkernel {
    ($name:ident, kw = any, madd = $madd:path) => {
        dwconv_strip_microkernel!(@body $name, |kw| kw, $madd);
    };
    ($name:ident, kw = $kw:literal, madd = $madd:path) => {
        dwconv_strip_microkernel!(@body $name, |_kw| $kw, $madd);
    };
    (@body $name:ident, |$kw_param:ident| $kw:expr, $madd:path) => {
        #[inline(always)]
        pub unsafe fn $name(
            acc: &mut [v128; 2 * P],
            origin: *const f32,
            w: *const f32,
            $kw_param: usize,
            krows: usize,
            row_step: usize,
            pixel_step: usize,
            tap_step: usize,
        ) {
            let kw: usize = $kw;
            let mut c = *acc;
            for ky in 0..krows {
                let row = origin.add(ky * row_step);
                let wrow = w.add(ky * kw * CB);
                for kx in 0..kw {
                    let (w0, w1) = (load(wrow.add(kx * CB)), load(wrow.add(kx * CB + 4)));
                    let col = row.add(kx * tap_step);
                    for p in 0..P {
                        let xp = col.add(p * pixel_step);
                        c[2 * p] = $madd(c[2 * p], load(xp), w0);
                        c[2 * p + 1] = $madd(c[2 * p + 1], load(xp.add(4)), w1);
                    }
                }
            }
            *acc = c;
        }
    };
}

#[cfg(not(target_feature = "relaxed-simd"))]
mod strips {
    use super::*;
    dwconv_strip_microkernel!(dwconv_4x8_3x3_wasmsimd, kw = 3, madd = madd_wasmsimd);
    dwconv_strip_microkernel!(dwconv_4x8_5x5_wasmsimd, kw = 5, madd = madd_wasmsimd);
    dwconv_strip_microkernel!(dwconv_4x8_kxk_wasmsimd, kw = any, madd = madd_wasmsimd);
    pub use dwconv_4x8_3x3_wasmsimd as k3;
    pub use dwconv_4x8_5x5_wasmsimd as k5;
    pub use dwconv_4x8_kxk_wasmsimd as any;
}
#[cfg(target_feature = "relaxed-simd")]
mod strips {
    use super::*;
    dwconv_strip_microkernel!(dwconv_4x8_3x3_wasmrelaxedsimd_fma, kw = 3, madd = madd_wasmrelaxedsimd);
    dwconv_strip_microkernel!(dwconv_4x8_5x5_wasmrelaxedsimd_fma, kw = 5, madd = madd_wasmrelaxedsimd);
    dwconv_strip_microkernel!(dwconv_4x8_kxk_wasmrelaxedsimd_fma, kw = any, madd = madd_wasmrelaxedsimd);
    pub use dwconv_4x8_3x3_wasmrelaxedsimd_fma as k3;
    pub use dwconv_4x8_5x5_wasmrelaxedsimd_fma as k5;
    pub use dwconv_4x8_kxk_wasmrelaxedsimd_fma as any;
}

/// One output pixel of one 8-channel block with clipped kernel rows and columns (row ends);
/// `origin` and `w` point at the first valid tap.
#[inline(always)]
unsafe fn dw_pixel(
    acc: &mut [v128; 2],
    origin: *const f32,
    w: *const f32,
    kw: usize,
    krows: usize,
    kcols: usize,
    row_step: usize,
    tap_step: usize,
) {
    for ky in 0..krows {
        for kx in 0..kcols {
            let wp = w.add((ky * kw + kx) * CB);
            let xp = origin.add(ky * row_step + kx * tap_step);
            acc[0] = fmadd(acc[0], load(xp), load(wp));
            acc[1] = fmadd(acc[1], load(xp.add(4)), load(wp.add(4)));
        }
    }
}

/// Generates the row-tile microkernel of a depthwise `KW`-wide, stride-`S` (dilation 1)
/// convolution from the one template: P adjacent output pixels x 4 channels (one f32x4 each).
/// Each input column of a kernel row is loaded once and feeds every pixel whose window covers
/// it, with that row's KW weights held in registers: (P - 1) S + KW loads instead of P KW.
macro_rules! dwconv_rowtile_microkernel {
    ($name:ident, madd = $madd:path) => {
        #[inline(always)]
        pub unsafe fn $name<const P: usize, const KW: usize, const S: usize>(
            origin: *const f32,
            w: *const f32,
            bias: v128,
            krows: usize,
            row_step: usize,
            c: usize,
        ) -> [v128; P] {
            let mut acc = [bias; P];
            for ky in 0..krows {
                let row = origin.add(ky * row_step);
                let wr = w.add(ky * KW * CB);
                let wv: [v128; KW] = core::array::from_fn(|kx| load(wr.add(kx * CB)));
                for j in 0..(P - 1) * S + KW {
                    let xv = load(row.add(j * c));
                    for kx in 0..KW {
                        if j >= kx && (j - kx) % S == 0 && (j - kx) / S < P {
                            let p = (j - kx) / S;
                            acc[p] = $madd(acc[p], xv, wv[kx]);
                        }
                    }
                }
            }
            acc
        }
    };
}

#[cfg(not(target_feature = "relaxed-simd"))]
dwconv_rowtile_microkernel!(dwconv_rowtile_4c_wasmsimd, madd = madd_wasmsimd);
#[cfg(not(target_feature = "relaxed-simd"))]
use dwconv_rowtile_4c_wasmsimd as rowtile;
#[cfg(target_feature = "relaxed-simd")]
dwconv_rowtile_microkernel!(dwconv_rowtile_4c_wasmrelaxedsimd_fma, madd = madd_wasmrelaxedsimd);
#[cfg(target_feature = "relaxed-simd")]
use dwconv_rowtile_4c_wasmrelaxedsimd_fma as rowtile;

/// Epilogue of a row tile: + residual, activation, store `nc` (1..=4) channels of each pixel.
/// Not inlined: one copy serves every tile shape (the wide tiles store none, relu and relu6
/// inline instead: `rowtiles`). Four full channels without a residual choose hardswish once
/// per tile instead of once per vector (the choice per tile took MobileNetV2's depthwise 3x3s
/// from 2.24 to 1.7 ms when this function stored every activation).
#[inline(never)]
unsafe fn store_rowtile(
    acc: &[v128],
    y: *mut f32,
    residual: *const f32,
    off: usize,
    c: usize,
    nc: usize,
    act: u32,
) {
    #[inline(always)]
    unsafe fn each(acc: &[v128], y: *mut f32, off: usize, c: usize, f: impl Fn(v128) -> v128) {
        for (p, &v) in acc.iter().enumerate() {
            store(y.add(off + p * c), f(v));
        }
    }
    if nc >= 4 && residual.is_null() {
        match act {
            ACT_HARDSWISH => return each(acc, y, off, c, |v| activation::apply(v, ACT_HARDSWISH)),
            _ => {}
        }
    }
    for (p, &v) in acc.iter().enumerate() {
        let o = off + p * c;
        let mut v = v;
        if !residual.is_null() {
            v = f32x4_add(v, load(residual.add(o)));
        }
        store_partial(y.add(o), activation::apply(v, act), nc);
    }
}

/// Row tiles of P pixels over both 4-channel halves of a block (the second half finds the
/// first one's cache lines in L1), from column `ox` while P fit before `ox1`; returns the
/// first column left over. Tiles of 4+ pixels with 4 channels, no residual and none, relu or
/// relu6 (`RowTiles::clamp`) store inline; the rest call `store_rowtile` with a copy of the
/// sums, so that the sums themselves never need an address: passing them by reference kept V8
/// storing them to its stack and back on every tile. MobileNetV2's depthwise 3x3s 1.78 -> 1.63
/// ms, the stride-2 ones 0.67 -> 0.64 (bench:profile, relaxed SIMD, Node 20).
#[inline(always)]
unsafe fn rowtiles<const P: usize, const KW: usize, const S: usize>(
    mut ox: usize,
    ox1: usize,
    t: &RowTiles,
) -> usize {
    while ox + P <= ox1 {
        let origin = t.x.wrapping_add(ox * t.pixel_step);
        let off = (t.out_row + ox) * t.c + t.ch0;
        for half in 0..t.halves {
            let acc = rowtile::<P, KW, S>(origin.add(4 * half), t.w.add(4 * half), t.bias[half], t.krows, t.row_step, t.c);
            if P >= 4 && t.clamp && t.nc - 4 * half >= 4 {
                for (p, &v) in acc.iter().enumerate() {
                    store(t.y.add(off + 4 * half + p * t.c), f32x4_pmin(f32x4_pmax(v, t.lo), t.hi));
                }
            } else {
                let spilled = acc;
                store_rowtile(&spilled, t.y, t.residual, off + 4 * half, t.c, t.nc - 4 * half, t.act);
            }
        }
        ox += P;
    }
    ox
}

/// What the row tiles of one output row and one 8-channel block share. `x` is the input
/// under the first valid tap of output column 0 (which may itself lie left of the image:
/// only interior columns are ever added to it).
struct RowTiles {
    x: *const f32,
    w: *const f32,
    bias: [v128; 2],
    halves: usize,
    krows: usize,
    row_step: usize,
    pixel_step: usize,
    c: usize,
    out_row: usize,
    /// the block's first channel
    ch0: usize,
    y: *mut f32,
    residual: *const f32,
    nc: usize,
    act: u32,
    /// no residual and a clamp activation (none, relu, relu6): the wide tiles store inline,
    /// max(v, lo) then min(v, hi)
    clamp: bool,
    lo: v128,
    hi: v128,
}

/// The interior columns [ox0, ox1) of one output row and block: tiles of PB pixels, then
/// 4, 2 and 1.
#[inline(always)]
unsafe fn rowtile_run<const PB: usize, const KW: usize, const S: usize>(ox0: usize, ox1: usize, t: &RowTiles) {
    let ox = rowtiles::<PB, KW, S>(ox0, ox1, t);
    let ox = rowtiles::<4, KW, S>(ox, ox1, t);
    let ox = rowtiles::<2, KW, S>(ox, ox1, t);
    rowtiles::<1, KW, S>(ox, ox1, t);
}

/// y = act(depthwise_conv(x, W) + bias (+ residual)) for output rows [rows.0, rows.1) (over
/// the batch) and 8-channel blocks [blocks.0, blocks.1). Padded taps are skipped: only the
/// pixels at a row's ends take the clipped per-pixel path, the rest go P at a time.
#[inline(never)]
pub unsafe fn dwconv2d_nhwc_f32(a: &DwConv2dArgs, rows: (usize, usize), blocks: (usize, usize)) {
    let x = a.x as *const f32;
    let y = a.y as *mut f32;
    let residual = a.residual as *const f32;
    let packed = a.packed as *const f32;
    let c = a.channels as usize;
    let (in_h, in_w) = (a.in_h as isize, a.in_w as isize);
    let (kh, kw) = (a.kernel_h as isize, a.kernel_w as isize);
    let (dh, dw) = (a.dilation_h as isize, a.dilation_w as isize);
    let (sh, sw) = (a.stride_h as isize, a.stride_w as isize);
    let (out_h, out_w) = (a.out_h as usize, a.out_w as usize);
    let taps = (kh * kw) as usize;
    let bstride = CB + taps * CB;
    let (pt, pl) = (a.pad_top as isize, a.pad_left as isize);
    // Valid kernel indices k for an input origin o: 0 <= o + k * d < size.
    let valid = |o: isize, d: isize, size: isize, k: isize| {
        let k0 = if o < 0 { (-o + d - 1) / d } else { 0 };
        (k0, k.min((size - o + d - 1) / d).max(k0))
    };
    // Interior output columns [ox_lo, ox_hi): no kernel column clips.
    let ox_lo = ((pl + sw - 1) / sw) as usize;
    let ox_hi = {
        let last = in_w - (kw - 1) * dw - 1 + pl; // ox * sw <= last
        if last < 0 { 0 } else { (last / sw + 1) as usize }
    }
    .min(out_w)
    .max(ox_lo.min(out_w));
    let row_step = (dh * in_w) as usize * c;
    let tap_step = dw as usize * c;
    let pixel_step = sw as usize * c;
    let kw_u = kw as usize;
    // 3x3 and 5x5, stride 1 or 2, no dilation, rows of 4+ interior pixels: the row-tile
    // microkernels. With stride 2, 4-pixel tiles beat 8 (3x3) and 6 (5x5) ones: 1.4x and 1.15x
    // the strips (benchmarks/kernels.mjs, MobileNetV2 112x112x96 s2, EfficientNet-B0 56x56x144
    // s2). Rows of 4-7 interior pixels (MobileNetV2's 7x7x960 3x3s) went to the 8-channel strips
    // until the row tiles stored inline (below): 0.081 -> 0.063 ms a layer with them.
    let rowtile_shape = (kw == 3 || kw == 5) && dw == 1 && (sw == 1 || sw == 2) && ox_hi >= ox_lo + 4;
    // The row tiles' inline store (`RowTiles::clamp`), decided once per op.
    let clamp = residual.is_null() && matches!(a.activation, ACT_NONE | ACT_RELU | ACT_RELU6);
    let lo = splat(if a.activation == ACT_NONE { f32::NEG_INFINITY } else { 0.0 });
    let hi = splat(if a.activation == ACT_RELU6 { 6.0 } else { f32::INFINITY });
    for r in rows.0..rows.1 {
        let b = r / out_h;
        let oy = r - b * out_h;
        let image = x.add(b * (in_h * in_w) as usize * c);
        let iy0 = oy as isize * sh - pt;
        let (ky0, ky1) = valid(iy0, dh, in_h, kh);
        let (ky0, ky1) = (ky0 as usize, ky1 as usize);
        let out_row = r * out_w;
        for cb in blocks.0..blocks.1 {
            let wb = packed.add(cb * bstride);
            let (b0, b1) = (load(wb), load(wb.add(4)));
            let wt = wb.add(CB);
            let nc = CB.min(c - cb * CB);
            let xb = image.add(cb * CB);
            // The input under tap (ky0, kx0) of output column ox.
            let iy = iy0 + ky0 as isize * dh;
            let origin = |ox: usize, kx0: usize| {
                let ix = ox as isize * sw - pl + kx0 as isize * dw;
                xb.add((iy * in_w + ix) as usize * c)
            };
            let wt = wt.add(ky0 * kw_u * CB);
            let krows = ky1 - ky0;
            let rowtiles = rowtile_shape && krows > 0;
            let mut ox = 0;
            while ox < out_w {
                if rowtiles && ox == ox_lo && ox_lo < ox_hi {
                    let t = RowTiles {
                        // Column 0's origin, offset by whole pixels: computed with wrapping
                        // arithmetic, then only ever moved back inside the image.
                        x: xb.wrapping_offset((iy * in_w - pl) * c as isize),
                        w: wt,
                        bias: [b0, b1],
                        halves: if nc > 4 { 2 } else { 1 },
                        krows,
                        row_step,
                        pixel_step,
                        c,
                        out_row,
                        ch0: cb * CB,
                        y,
                        residual,
                        nc,
                        act: a.activation,
                        clamp,
                        lo,
                        hi,
                    };
                    match (kw_u, sw) {
                        // 3x3: 6-pixel tiles (9 sums and weights + 8 inputs a row) spill less in
                        // V8 than 8-pixel ones: MobileNetV2's 3x3s 1.60 -> 1.52 ms (Node 20)
                        (3, 1) => rowtile_run::<6, 3, 1>(ox_lo, ox_hi, &t),
                        (5, 1) => rowtile_run::<6, 5, 1>(ox_lo, ox_hi, &t),
                        (3, _) => rowtile_run::<4, 3, 2>(ox_lo, ox_hi, &t),
                        _ => rowtile_run::<4, 5, 2>(ox_lo, ox_hi, &t),
                    }
                    ox = ox_hi;
                    continue;
                }
                if ox >= ox_lo && ox + P <= ox_hi {
                    let mut acc: [v128; 2 * P] = core::array::from_fn(|i| if i % 2 == 0 { b0 } else { b1 });
                    if krows > 0 {
                        let o = origin(ox, 0);
                        match kw_u {
                            3 => strips::k3(&mut acc, o, wt, 3, krows, row_step, pixel_step, tap_step),
                            5 => strips::k5(&mut acc, o, wt, 5, krows, row_step, pixel_step, tap_step),
                            _ => strips::any(&mut acc, o, wt, kw_u, krows, row_step, pixel_step, tap_step),
                        }
                    }
                    let rows_p: [usize; P] = core::array::from_fn(|p| out_row + ox + p);
                    store_tile_8(&acc, &rows_p, P, y, residual, c, cb * CB, nc, a.activation);
                    ox += P;
                } else {
                    let ix0 = ox as isize * sw - pl;
                    let (kx0, kx1) = valid(ix0, dw, in_w, kw);
                    let (kx0, kx1) = (kx0 as usize, kx1 as usize);
                    let mut acc = [b0, b1];
                    if krows > 0 && kx1 > kx0 {
                        let o = origin(ox, kx0);
                        dw_pixel(&mut acc, o, wt.add(kx0 * CB), kw_u, krows, kx1 - kx0, row_step, tap_step);
                    }
                    store_tile_8(&acc, &[out_row + ox], 1, y, residual, c, cb * CB, nc, a.activation);
                    ox += 1;
                }
            }
        }
    }
}
