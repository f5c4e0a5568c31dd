//! Dense and grouped convolution as an indirect GEMM ("igemm"): the microkernel keeps an
//! MR-pixel x 8-channel output tile in f32x4 accumulators and walks, for each kernel tap,
//! one input row pointer per pixel. 1x1 stride-1 convolutions take plain NHWC rows (a GEMM,
//! `conv1x1_nhwc_f32`); other shapes fill a small per-tile pointer table, where a padded tap
//! points at a caller-provided zero row. There is no im2col copy.
//! (3x3 stride-1 convolutions with enough channels take Winograd F(4x4, 3x3) instead, in
//! winograd.rs, which shares this file's microkernel and `Conv2dArgs`.)
//!
//! Packed weights, built once by `conv2d_pack_weights`, per group g and per block cb of 8
//! output channels (tails zero-filled):
//!   [bias: 8][tap = ky*kw + kx][input channel of the group: in_c_g][8 output channels]
use crate::abi::{ACT_HARDSWISH, ACT_NONE, ACT_RELU, ACT_RELU6, ACT_SILU};
use crate::activation;
use crate::simd::*;

/// Output channels per microkernel tile: two f32x4 accumulators per pixel.
pub use crate::abi::NR;
/// Output pixels per microkernel tile: MR x 2 accumulators + 2 weight vectors + 1 splat
/// (+ 1 product temporary without FMA) fit the 15 vector registers V8 allocates on x64. With
/// relaxed SIMD, 5x8 and 6x8 tiles measured 25-35% slower than 4x8 (spills), so both ISAs use 4.
pub use crate::abi::MR;
/// Pointer-table capacity in taps (7x7 = 49 fits; larger kernels refill it per block).
const MAX_TAPS: usize = 64;
/// Weight blocks visited per pass over the pixels, sized to stay cache resident.
const WEIGHT_CHUNK_FLOATS: usize = 32 * 1024;
/// Row mode's scratch for the zero-padded kernel rows of edge pixels (`fill_row_table`), 8 KiB.
const ROW_EDGE_FLOATS: usize = 2048;

/// Floats of one packed weight block (the layout is stated once, in abi/spec.mjs).
use crate::abi::conv_block_floats as block_floats;

/// Packs torchvision-layout weights [out_c, in_c_g, kh, kw] and bias [out_c] into `dst`
/// (`conv_packed_floats` floats).
#[no_mangle]
#[optimize(size)]
pub unsafe extern "C" fn conv2d_pack_weights(
    dst: *mut f32,
    weight: *const f32,
    bias: *const f32,
    out_c: u32,
    in_c_g: u32,
    kernel_h: u32,
    kernel_w: u32,
    groups: u32,
) {
    let groups = groups as usize;
    let out_c_g = out_c as usize / groups;
    let k = in_c_g as usize;
    let taps = (kernel_h * kernel_w) as usize;
    let blocks = out_c_g.div_ceil(NR);
    let mut d = dst;
    for g in 0..groups {
        for cb in 0..blocks {
            for j in 0..NR {
                let c = cb * NR + j;
                *d.add(j) = if c < out_c_g { *bias.add(g * out_c_g + c) } else { 0.0 };
            }
            d = d.add(NR);
            for t in 0..taps {
                for i in 0..k {
                    for j in 0..NR {
                        let c = cb * NR + j;
                        *d.add(j) = if c < out_c_g {
                            *weight.add(((g * out_c_g + c) * k + i) * taps + t)
                        } else {
                            0.0
                        };
                    }
                    d = d.add(NR);
                }
            }
        }
    }
}

struct Geometry {
    in_h: isize,
    in_w: isize,
    in_c: usize,
    out_hw: usize,
    out_w: usize,
    kernel_w: usize,
    stride_h: isize,
    stride_w: isize,
    pad_top: isize,
    pad_left: isize,
    dilation_h: isize,
    dilation_w: isize,
}

/// Fills `ind[(t - t0) * MR + p]` with the input row of tap t for the tile's pixel p.
#[inline(always)]
unsafe fn fill_pointer_table(
    ind: &mut [*const f32; MAX_TAPS * MR],
    geo: &Geometry,
    x_group: *const f32,
    zeros: *const f32,
    rows: &[usize; MR],
    t0: usize,
    t1: usize,
) {
    for p in 0..MR {
        let m = rows[p];
        let b = m / geo.out_hw;
        let rem = m - b * geo.out_hw;
        let oy = (rem / geo.out_w) as isize;
        let ox = (rem % geo.out_w) as isize;
        let iy0 = oy * geo.stride_h - geo.pad_top;
        let ix0 = ox * geo.stride_w - geo.pad_left;
        let image = x_group.add(b * (geo.in_h * geo.in_w) as usize * geo.in_c);
        for t in t0..t1 {
            let ky = (t / geo.kernel_w) as isize;
            let kx = (t % geo.kernel_w) as isize;
            let iy = iy0 + ky * geo.dilation_h;
            let ix = ix0 + kx * geo.dilation_w;
            ind[(t - t0) * MR + p] = if iy >= 0 && iy < geo.in_h && ix >= 0 && ix < geo.in_w {
                image.add((iy * geo.in_w + ix) as usize * geo.in_c)
            } else {
                zeros
            };
        }
    }
}

/// Row mode (groups 1, dilation_w 1): when every pixel of the tile has its whole kernel row
/// inside the input, the kw taps of a kernel row are one contiguous run of kw * in_c floats in
/// NHWC, and so are their packed weights. One pointer per (kernel row, pixel) then covers them,
/// which makes the inner loop kw times longer (the 7x7 stem with 3 channels: 21 instead of 3).
/// A pixel whose kernel row crosses the left/right edge gets, when `kernel_h * MR` such rows
/// fit `edge` (`edge_ok`), a copy of each of its kernel rows zero-padded there (AlexNet's
/// 11x11 stride-4 conv1 with 3 channels: 10% of the tiles, which the per-tap path ran at a
/// third of the speed). Returns false, leaving `ind` untouched, when some pixel's row crosses
/// the edge and `edge_ok` is false.
#[inline(always)]
unsafe fn fill_row_table(
    ind: &mut [*const f32; MAX_TAPS * MR],
    edge: &mut [f32; ROW_EDGE_FLOATS],
    edge_ok: bool,
    geo: &Geometry,
    x: *const f32,
    zeros: *const f32,
    rows: &[usize; MR],
    kernel_h: usize,
) -> bool {
    let mut origin = [(0usize, 0isize, 0isize); MR];
    for p in 0..MR {
        let m = rows[p];
        let b = m / geo.out_hw;
        let rem = m - b * geo.out_hw;
        let iy0 = (rem / geo.out_w) as isize * geo.stride_h - geo.pad_top;
        let ix0 = (rem % geo.out_w) as isize * geo.stride_w - geo.pad_left;
        if !edge_ok && (ix0 < 0 || ix0 + geo.kernel_w as isize > geo.in_w) {
            return false;
        }
        origin[p] = (b, iy0, ix0);
    }
    let run = geo.kernel_w * geo.in_c;
    for p in 0..MR {
        let (b, iy0, ix0) = origin[p];
        let image = x.add(b * (geo.in_h * geo.in_w) as usize * geo.in_c);
        let inside = ix0 >= 0 && ix0 + geo.kernel_w as isize <= geo.in_w;
        for ky in 0..kernel_h {
            let iy = iy0 + ky as isize * geo.dilation_h;
            ind[ky * MR + p] = if iy < 0 || iy >= geo.in_h {
                zeros
            } else if inside {
                image.add((iy * geo.in_w + ix0) as usize * geo.in_c)
            } else {
                let dst = edge.as_mut_ptr().add((ky * MR + p) * run);
                let src_row = image.add((iy * geo.in_w) as usize * geo.in_c);
                for kx in 0..geo.kernel_w {
                    let ix = ix0 + kx as isize;
                    let d = dst.add(kx * geo.in_c);
                    if ix >= 0 && ix < geo.in_w {
                        core::ptr::copy_nonoverlapping(src_row.add(ix as usize * geo.in_c), d, geo.in_c);
                    } else {
                        core::ptr::write_bytes(d, 0, geo.in_c);
                    }
                }
                dst as *const f32
            };
        }
    }
    true
}

/// Generates an igemm microkernel from the one template: an MR-pixel x 8-channel tile in
/// 2 * MR f32x4 accumulators; per reduction step, one splatted input value per pixel times two
/// f32x4 weight vectors. `$madd` is the instruction set's multiply-add.
macro_rules! igemm_microkernel {
    ($name:ident, mr = $mr:tt, madd = $madd:path) => {
        /// acc[2p..2p+2] += sum over taps t and k of a[t][p][i] * w[t][i][0..8].
        #[inline(always)]
        pub(crate) unsafe fn $name(
            acc: &mut [v128; 2 * $mr],
            ind: *const *const f32,
            taps: usize,
            k: usize,
            mut w: *const f32,
        ) {
            let mut c = *acc;
            for t in 0..taps {
                let a: [*const f32; $mr] = core::array::from_fn(|p| *ind.add(t * $mr + p));
                for i in 0..k {
                    let w0 = load(w);
                    let w1 = load(w.add(4));
                    w = w.add(NR);
                    for p in 0..$mr {
                        let s = f32x4_splat(*a[p].add(i));
                        c[2 * p] = $madd(c[2 * p], s, w0);
                        c[2 * p + 1] = $madd(c[2 * p + 1], s, w1);
                    }
                }
            }
            *acc = c;
        }
    };
}

// One binary per ISA (build.sh), so each compiles only its own instance of the template.
#[cfg(not(target_feature = "relaxed-simd"))]
igemm_microkernel!(igemm_4x8_wasmsimd_splat, mr = 4, madd = madd_wasmsimd);
#[cfg(not(target_feature = "relaxed-simd"))]
pub(crate) use igemm_4x8_wasmsimd_splat as igemm;
#[cfg(target_feature = "relaxed-simd")]
igemm_microkernel!(igemm_4x8_wasmrelaxedsimd_fma_splat, mr = 4, madd = madd_wasmrelaxedsimd);
#[cfg(target_feature = "relaxed-simd")]
pub(crate) use igemm_4x8_wasmrelaxedsimd_fma_splat as igemm;

/// See `bench_igemm_peak` in lib.rs. Each pixel reads its own row: with one row shared by all
/// MR pixels the compiler merges their splats and products (MR times fewer multiplies), which
/// made the plain-SIMD "ceiling" exceed the CPU's multiply-add peak.
#[cfg(not(any(feature = "train", feature = "q8", target_feature = "atomics")))]
pub unsafe fn bench_igemm_l1(table: *const f32, k: usize, iters: usize) -> f32 {
    let ind: [*const f32; MR] = core::array::from_fn(|p| table.add(p * k));
    let mut acc = [f32x4_splat(0.0); 2 * MR];
    for _ in 0..iters {
        igemm(&mut acc, ind.as_ptr(), 1, k, table.add(MR * k));
    }
    acc.iter().map(|v| hsum(*v)).sum()
}

/// Epilogue: + residual, activation, store the valid pixels and `nc` valid channels; pixels
/// lie `row_stride` floats apart in y and the residual (more than the channels when y is a channel view).
/// Not inlined: one copy of every activation serves the convolutions and depthwise strips
/// (full conv tiles of the common activations take `store_full_tile`, inlined, instead):
/// inlined here as well, the threaded relaxed binary passed its 25 kB gzip budget.
#[inline(never)]
pub unsafe fn store_tile_8(
    acc: &[v128],
    rows: &[usize],
    valid: usize,
    y: *mut f32,
    residual: *const f32,
    row_stride: usize,
    c0: usize,
    nc: usize,
    act: u32,
) {
    for p in 0..valid {
        let off = rows[p] * row_stride + c0;
        let mut lo = acc[2 * p];
        let mut hi = acc[2 * p + 1];
        if !residual.is_null() {
            lo = f32x4_add(lo, load(residual.add(off)));
            hi = f32x4_add(hi, load(residual.add(off + 4)));
        }
        store8_partial(
            y.add(off),
            activation::apply(lo, act),
            activation::apply(hi, act),
            nc,
        );
    }
}

/// Stores a full tile's MR pixels x 8 channels, each vector through `f`.
#[inline(always)]
unsafe fn each(acc: &[v128; 2 * MR], rows: &[usize; MR], y: *mut f32, row_stride: usize, c0: usize, f: impl Fn(v128) -> v128) {
    for p in 0..MR {
        let dst = y.add(rows[p] * row_stride + c0);
        store(dst, f(acc[2 * p]));
        store(dst.add(4), f(acc[2 * p + 1]));
    }
}

/// `store_tile_8` for a full igemm tile (MR pixels of 8 channels), no residual, with the
/// activation chosen once per tile instead of once per vector: none, relu and relu6 inline,
/// hardswish and silu out of line (`store_full_tile_out`, one copy of their arithmetic for both
/// convolution functions); false (nothing stored) for the others. MobileNetV2's 112x112 16->96
/// expansion 1.48 -> 1.15 ms, its stem 0.80 -> 0.68 (bench:profile, relaxed SIMD). Residuals:
/// no further gain.
///
/// Callers pass `store_tile_8` a copy of the sums, never the sums themselves: a reference to
/// them on the rare path made them live at an address on every path, and V8 then stored the
/// tile to its stack and loaded it back before each store (the expansion 1.14 -> 1.07 ms).
#[inline(always)]
unsafe fn store_full_tile(acc: &[v128; 2 * MR], rows: &[usize; MR], y: *mut f32, row_stride: usize, c0: usize, act: u32) -> bool {
    match act {
        ACT_NONE => each(acc, rows, y, row_stride, c0, |v| v),
        ACT_RELU | ACT_RELU6 => {
            // relu6_of's min(max(v, 0), 6), with +inf in place of 6 for relu
            let hi = splat(if act == ACT_RELU6 { 6.0 } else { f32::INFINITY });
            each(acc, rows, y, row_stride, c0, |v| f32x4_pmin(f32x4_pmax(v, splat(0.0)), hi))
        }
        ACT_HARDSWISH | ACT_SILU => {
            let spilled = *acc;
            store_full_tile_out(&spilled, rows, y, row_stride, c0, act == ACT_SILU)
        }
        _ => return false,
    }
    true
}

/// `store_full_tile` for hardswish and SiLU, out of line (one copy of their arithmetic serves
/// every caller), the tile taken from memory: a few loads beside the activation's arithmetic.
#[inline(never)]
unsafe fn store_full_tile_out(acc: &[v128; 2 * MR], rows: &[usize; MR], y: *mut f32, row_stride: usize, c0: usize, silu: bool) {
    if silu {
        each(acc, rows, y, row_stride, c0, |v| activation::apply(v, ACT_SILU));
    } else {
        each(acc, rows, y, row_stride, c0, |v| activation::apply(v, ACT_HARDSWISH));
    }
}

/// One convolution as JS writes it into an op descriptor (pointers are byte offsets).
pub use crate::abi::Conv2dArgs;

impl Conv2dArgs {
    /// Pixel tiles of MR output pixels.
    pub fn pixel_tiles(&self) -> usize {
        ((self.n * self.out_h * self.out_w) as usize).div_ceil(MR)
    }
    /// Weight blocks of NR output channels, over all groups.
    pub fn channel_blocks(&self) -> usize {
        self.groups as usize * ((self.out_c / self.groups) as usize).div_ceil(NR)
    }
    pub fn packed_bytes(&self) -> usize {
        let k = (self.in_c / self.groups) as usize;
        self.channel_blocks() * block_floats(k, (self.kernel_h * self.kernel_w) as usize) * 4
    }
    pub fn input_bytes(&self) -> usize {
        (self.n * self.in_h * self.in_w * self.in_c) as usize * 4
    }
}

/// y = act(conv(x, W) + bias (+ residual)) for pixel tiles [tiles.0, tiles.1) and weight
/// blocks [blocks.0, blocks.1) (block j is group j / blocks-per-group).
#[inline(never)]
pub unsafe fn conv2d_nhwc_f32(a: &Conv2dArgs, tiles: (usize, usize), blocks: (usize, usize)) {
    let x = a.x as *const f32;
    let y = a.y as *mut f32;
    let residual = a.residual as *const f32;
    let packed = a.packed as *const f32;
    let zeros = a.zeros as *const f32;
    let groups = a.groups as usize;
    let in_c = a.in_c as usize;
    let out_c = a.out_c as usize;
    let k = in_c / groups;
    let out_c_g = out_c / groups;
    let (kernel_h, kernel_w) = (a.kernel_h as usize, a.kernel_w as usize);
    let taps = kernel_h * kernel_w;
    let blocks_g = out_c_g.div_ceil(NR);
    let bstride = block_floats(k, taps);
    let chunk = (WEIGHT_CHUNK_FLOATS / bstride).max(1);
    let m_total = (a.n * a.out_h * a.out_w) as usize;
    let geo = Geometry {
        in_h: a.in_h as isize,
        in_w: a.in_w as isize,
        in_c,
        out_hw: (a.out_h * a.out_w) as usize,
        out_w: a.out_w as usize,
        kernel_w,
        stride_h: a.stride_h as isize,
        stride_w: a.stride_w as isize,
        pad_top: a.pad_top as isize,
        pad_left: a.pad_left as isize,
        dilation_h: a.dilation_h as isize,
        dilation_w: a.dilation_w as isize,
    };
    let pointwise = taps == 1
        && a.stride_h == 1
        && a.stride_w == 1
        && a.pad_top == 0
        && a.pad_left == 0
        && a.in_h == a.out_h
        && a.in_w == a.out_w;
    if pointwise {
        return conv1x1_nhwc_f32(a, tiles, blocks);
    }
    let table_once = taps <= MAX_TAPS;
    let row_mode = groups == 1 && a.dilation_w == 1 && kernel_w > 1 && kernel_h <= MAX_TAPS;
    let edge_ok = kernel_h * MR * kernel_w * in_c <= ROW_EDGE_FLOATS;
    let mut edge = [0f32; ROW_EDGE_FLOATS];
    let mut ind = [core::ptr::null::<f32>(); MAX_TAPS * MR];
    let mut rows = [0usize; MR];
    let (m_lo, m_hi) = (tiles.0 * MR, (tiles.1 * MR).min(m_total));

    let mut j0 = blocks.0;
    while j0 < blocks.1 {
        let g = j0 / blocks_g;
        let j1 = blocks.1.min((g + 1) * blocks_g).min(j0 + chunk);
        let x_group = x.add(g * k);
        let w_group = packed.add(g * blocks_g * bstride);
        let mut m0 = m_lo;
        while m0 < m_hi {
            let valid = MR.min(m_hi - m0);
            // Tail pixels repeat the last valid one; only valid pixels are stored.
            for p in 0..MR {
                rows[p] = m0 + p.min(valid - 1);
            }
            // (taps, floats per tap) of the filled table, or None to fill it per block.
            let table = if row_mode
                && fill_row_table(&mut ind, &mut edge, edge_ok, &geo, x, zeros, &rows, kernel_h) {
                Some((kernel_h, kernel_w * k))
            } else if table_once {
                fill_pointer_table(&mut ind, &geo, x_group, zeros, &rows, 0, taps);
                Some((taps, k))
            } else {
                None
            };
            for j in j0..j1 {
                let cb = j - g * blocks_g;
                let wb = w_group.add(cb * bstride);
                let b0 = load(wb);
                let b1 = load(wb.add(4));
                let mut acc: [v128; 2 * MR] =
                    core::array::from_fn(|i| if i % 2 == 0 { b0 } else { b1 });
                if let Some((table_taps, tap_k)) = table {
                    igemm(&mut acc, ind.as_ptr(), table_taps, tap_k, wb.add(NR));
                } else {
                    let mut t0 = 0;
                    while t0 < taps {
                        let t1 = (t0 + MAX_TAPS).min(taps);
                        fill_pointer_table(&mut ind, &geo, x_group, zeros, &rows, t0, t1);
                        igemm(&mut acc, ind.as_ptr(), t1 - t0, k, wb.add(NR + t0 * k * NR));
                        t0 = t1;
                    }
                }
                let c0 = g * out_c_g + cb * NR;
                let nc = NR.min(out_c_g - cb * NR);
                let full = valid == MR && nc == NR && residual.is_null();
                if !(full && store_full_tile(&acc, &rows, y, a.y_stride as usize, c0, a.activation)) {
                    let spilled = acc;
                    store_tile_8(&spilled, &rows, valid, y, residual, a.y_stride as usize, c0, nc, a.activation);
                }
            }
            m0 += MR;
        }
        j0 = j1;
    }
}

/// `conv2d_nhwc_f32` for 1x1 stride-1 convolutions without padding: a GEMM over NHWC rows, in
/// a function of its own without the pointer tables and row-mode scratch, where V8 keeps more
/// of the loop state in registers: MobileNetV2's 1x1s 12.8 -> 12.4-12.6 ms over the copy above
/// (its 112x112 16->96 expansion 1.07 -> 1.00; bench:profile, relaxed SIMD, Node 20).
#[inline(never)]
unsafe fn conv1x1_nhwc_f32(a: &Conv2dArgs, tiles: (usize, usize), blocks: (usize, usize)) {
    let x = a.x as *const f32;
    let y = a.y as *mut f32;
    let residual = a.residual as *const f32;
    let packed = a.packed as *const f32;
    let groups = a.groups as usize;
    let in_c = a.in_c as usize;
    let k = in_c / groups;
    let out_c_g = a.out_c as usize / groups;
    let blocks_g = out_c_g.div_ceil(NR);
    let bstride = block_floats(k, 1);
    let chunk = (WEIGHT_CHUNK_FLOATS / bstride).max(1);
    let m_total = (a.n * a.out_h * a.out_w) as usize;
    let row_stride = a.y_stride as usize;
    let (m_lo, m_hi) = (tiles.0 * MR, (tiles.1 * MR).min(m_total));
    let mut j0 = blocks.0;
    while j0 < blocks.1 {
        let g = j0 / blocks_g;
        let j1 = blocks.1.min((g + 1) * blocks_g).min(j0 + chunk);
        let w_group = packed.add(g * blocks_g * bstride);
        let mut m0 = m_lo;
        while m0 < m_hi {
            let valid = MR.min(m_hi - m0);
            // Tail pixels repeat the last valid one; only valid pixels are stored.
            let rows: [usize; MR] = core::array::from_fn(|p| m0 + p.min(valid - 1));
            let ind: [*const f32; MR] = core::array::from_fn(|p| x.add(rows[p] * in_c + g * k));
            for j in j0..j1 {
                let cb = j - g * blocks_g;
                let wb = w_group.add(cb * bstride);
                let (b0, b1) = (load(wb), load(wb.add(4)));
                let mut acc: [v128; 2 * MR] = core::array::from_fn(|i| if i % 2 == 0 { b0 } else { b1 });
                igemm(&mut acc, ind.as_ptr(), 1, k, wb.add(NR));
                let c0 = g * out_c_g + cb * NR;
                let nc = NR.min(out_c_g - cb * NR);
                let full = valid == MR && nc == NR && residual.is_null();
                if !(full && store_full_tile(&acc, &rows, y, row_stride, c0, a.activation)) {
                    let spilled = acc;
                    store_tile_8(&spilled, &rows, valid, y, residual, row_stride, c0, nc, a.activation);
                }
            }
            m0 += MR;
        }
        j0 = j1;
    }
}
