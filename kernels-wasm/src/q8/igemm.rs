//! Dense and grouped int8 convolution (1x1, k x k, linear as 1x1) as an indirect GEMM: a tile
//! of 4 or 6 output pixels walks, per kernel tap, one input row pointer per pixel (a padded tap
//! points at a row of zero-point bytes), so there is no im2col copy.
//!
//! Packed weights, per group and per block of 8 output channels (tails zero-filled):
//!   [header: bias' 8 x i32, multiplier 8 x f32][tap][quad of 4 input channels][channel 0-7][4 x i8]
//! where bias' = bias - x_zero * sum(weights), so the microkernels multiply raw uint8 codes.
//! One layout serves both instruction sets:
//! - `igemm_Mx8c4_wasmrelaxedsimd_dot`: relaxed SIMD's 4-way dot (16 multiplies), fused with its
//!   add (6 pixels) or split in three (4 pixels), for inputs whose codes (and zero point) are all
//!   <= 127: the i7 operand;
//! - `igemm_2x8c4_wasmsimd_dot16x2`: i32x4.dot_i16x8_s on codes widened to i16, 8 per instruction.
use super::requant::{self, Epilogue, HEADER_BYTES};
use super::ConvArgs;
use core::arch::wasm32::*;

const NR: usize = 8;
/// Pixels per tile with the split dot (and the plain-SIMD binary): 4 x 2 sums, 2 weight vectors,
/// a splat, the split form's vector of ones and its product fit V8's 15 vector registers on x64.
const MR: usize = 4;
/// Pixels per tile with the fused dot-add. Where it is one instruction (vpdpbusd with AVX-VNNI)
/// each sum waits 5 cycles on its own dot, and 8 sums in flight held the 3x3s to 1.6 dots a cycle;
/// 6 x 2 sums, 2 weight vectors and one splat are 15 vectors. That fits only when each pixel's
/// splat meets both its dots before the next splat is loaded: build.sh has LLVM schedule in source
/// order (`-pre-RA-sched=source`), where its default hoisted all the splats above the second
/// weight vector's dots and spilled. 7 pixels spill (README, Int8).
const MR_FUSED: usize = 6;
/// Room for the widest tile's sums. Both widths are even: the plain-SIMD fallback runs a tile's
/// pixels in pairs.
const ACC: usize = 2 * MR_FUSED;
const _: () = assert!(MR % 2 == 0 && MR_FUSED % 2 == 0);
/// Pointer-table capacity in taps (11 x 11 = 121 fits; q8.ts refuses larger kernels).
pub const MAX_TAPS: usize = 128;
/// Weight bytes visited per pass over the pixels, sized to stay in L2.
const WEIGHT_CHUNK_BYTES: usize = 64 * 1024;

#[inline(always)]
fn block_bytes(in_c_g: usize, taps: usize) -> usize {
    HEADER_BYTES + taps * in_c_g.div_ceil(4) * 4 * NR
}

pub fn packed_bytes(out_c: usize, in_c_g: usize, taps: usize, groups: usize) -> usize {
    groups * (out_c / groups).div_ceil(NR) * block_bytes(in_c_g, taps)
}

#[optimize(size)]
pub unsafe fn pack(dst: *mut u8, weight: *const i8, bias: *const i32, mult: *const f32, out_c: usize, in_c_g: usize, taps: usize, groups: usize, x_zero: i32) {
    let out_c_g = out_c / groups;
    let quads = in_c_g.div_ceil(4);
    let mut d = dst;
    for g in 0..groups {
        for cb in 0..out_c_g.div_ceil(NR) {
            let header_bias = d as *mut i32;
            let header_mult = d.add(32) as *mut f32;
            for j in 0..NR {
                let c = cb * NR + j;
                let (b, m) = if c < out_c_g {
                    let oc = g * out_c_g + c;
                    let mut sum = 0i32;
                    for i in 0..in_c_g * taps {
                        sum += *weight.add(oc * in_c_g * taps + i) as i32;
                    }
                    (*bias.add(oc) - x_zero * sum, *mult.add(oc))
                } else {
                    (0, 0.0)
                };
                header_bias.add(j).write_unaligned(b);
                header_mult.add(j).write_unaligned(m);
            }
            d = d.add(HEADER_BYTES);
            for t in 0..taps {
                for q in 0..quads {
                    for j in 0..NR {
                        let c = cb * NR + j;
                        for i in 0..4 {
                            let ic = q * 4 + i;
                            *d.add(j * 4 + i) = if c < out_c_g && ic < in_c_g {
                                *weight.add(((g * out_c_g + c) * in_c_g + ic) * taps + t) as u8
                            } else {
                                0
                            };
                        }
                    }
                    d = d.add(4 * NR);
                }
            }
        }
    }
}

/// acc + the dot products of w's and x's groups of 4 bytes (x: the i7 operand). Not the fused
/// i32x4.relaxed_dot_i8x16_i7x16_add_s: Node 20's V8 (11.3) Liftoff tier drops its accumulator
/// (returns twice the dot product) when the operands come straight from loads, which the
/// child run of q8.test.ts with --liftoff caught. The i16 dot, a pairwise widening add (as a
/// dot product with ones: LLVM re-fuses extadd_pairwise + add into the fused instruction) and an
/// i32 add are what V8 emits for the fused instruction on x64 anyway (pmaddubsw, pmaddwd, paddd).
#[cfg(target_feature = "relaxed-simd")]
#[inline(always)]
pub(super) fn dot_i7_add(w: v128, x: v128, acc: v128) -> v128 {
    i32x4_add(acc, i32x4_dot_i16x8(i16x8_relaxed_dot_i8x16_i7x16(w, x), i16x8_splat(1)))
}

/// The same as one instruction, i32x4.relaxed_dot_i8x16_i7x16_add_s: V8 with AVX-VNNI emits
/// vpdpbusd for it (Chromium 156 on an Intel Xeon: ResNet-50's 1x1 and 3x3 layers 1.5-1.6x the
/// split form). Used only where `q8_probe_fused_dot` found the engine's first tier right.
#[cfg(target_feature = "relaxed-simd")]
#[inline(always)]
pub(super) fn dot_i7_add_fused(w: v128, x: v128, acc: v128) -> v128 {
    i32x4_relaxed_dot_i8x16_i7x16_add(w, x, acc)
}

/// Whether `conv2d` takes the fused dot-add (`q8_set_fused_dot`).
#[cfg(target_feature = "relaxed-simd")]
pub(super) static mut FUSED_DOT: bool = false;

/// Turns the fused dot-add on or off; returns whether it is on (always 0 in a binary without
/// relaxed SIMD).
pub unsafe fn set_fused_dot(on: bool) -> bool {
    #[cfg(target_feature = "relaxed-simd")]
    {
        FUSED_DOT = on;
        return on;
    }
    #[cfg(not(target_feature = "relaxed-simd"))]
    {
        let _ = on;
        false
    }
}

/// 1 when the fused dot-add, on operands loaded from memory (as the kernel loads them), equals
/// the exact sum: what V8 11.3's Liftoff tier gets wrong (it returns twice the dot product and
/// drops the accumulator). Called once, right after instantiation, so it runs in the engine's
/// first tier. 0 in a binary without relaxed SIMD.
pub unsafe fn probe_fused_dot() -> u32 {
    #[cfg(target_feature = "relaxed-simd")]
    {
        // The microkernel itself on a small problem (4 pixels, 2 quads, 8 channels), against
        // the split form: what the kernels run, as they run it (a fixed small input, so the
        // operands come from loads as in conv2d).
        static W: [i8; 64] = [
            -128, 127, -1, 5, 90, -77, 3, -64, 11, -2, 127, -128, 0, 33, -9, 100, 7, -7, 64, -64, 1, 2, 3, 4, -100, 100, -50, 50,
            127, -127, 0, -1, 13, -13, 26, -26, 39, -39, 52, -52, 65, -65, 78, -78, 91, -91, 104, -104, 117, -117, 127, -128, 1,
            -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6,
        ];
        static X: [u8; 8 * MR_FUSED] = [
            127, 1, 64, 0, 5, 127, 99, 12, 3, 127, 126, 2, 50, 0, 127, 7, 8, 9, 10, 11, 120, 121, 122, 123, 0, 0, 1, 1, 127, 127,
            126, 126, 17, 0, 127, 3, 99, 100, 101, 102, 60, 61, 0, 1, 2, 127, 126, 9,
        ];
        let (w, x) = (core::hint::black_box(W.as_ptr() as *const u8), core::hint::black_box(X.as_ptr()));
        let ind: [*const u8; MR_FUSED] = core::array::from_fn(|p| x.add(8 * p));
        let start = [i32x4_splat(core::hint::black_box(1000)); ACC];
        let (mut fused, mut split) = (start, start);
        igemm_Mx8c4_wasmrelaxedsimd_dot::<MR_FUSED>(&mut fused, ind.as_ptr(), 1, 2, w, dot_i7_add_fused);
        igemm_Mx8c4_wasmrelaxedsimd_dot::<MR_FUSED>(&mut split, ind.as_ptr(), 1, 2, w, dot_i7_add);
        let mut ok = true;
        for i in 0..2 * MR_FUSED {
            ok &= u32x4_all_true(i32x4_eq(fused[i], split[i]));
        }
        return ok as u32;
    }
    #[cfg(not(target_feature = "relaxed-simd"))]
    0
}

/// acc[2p], acc[2p+1] (channels 0-3, 4-7 of pixel p) += sum over taps and quads; M pixels.
/// `dot` is `dot_i7_add` or `dot_i7_add_fused`.
#[cfg(target_feature = "relaxed-simd")]
#[inline(always)]
#[allow(non_snake_case)]
unsafe fn igemm_Mx8c4_wasmrelaxedsimd_dot<const M: usize>(acc: &mut [v128; ACC], ind: *const *const u8, taps: usize, quads: usize, mut w: *const u8, dot: impl Fn(v128, v128, v128) -> v128) {
    let mut c = *acc;
    for t in 0..taps {
        let a: [*const u8; M] = core::array::from_fn(|p| *ind.add(t * M + p));
        for q in 0..quads {
            let w0 = v128_load(w as *const v128);
            let w1 = v128_load(w.add(16) as *const v128);
            w = w.add(4 * NR);
            // pixel by pixel: one splat live at a time (the order LLVM keeps with source scheduling)
            for p in 0..M {
                let x = v128_load32_splat(a[p].add(4 * q) as *const u32);
                c[2 * p] = dot(w0, x, c[2 * p]);
                c[2 * p + 1] = dot(w1, x, c[2 * p + 1]);
            }
        }
    }
    *acc = c;
}

/// The plain-SIMD microkernel for pixels `p0` and `p0 + 1` of a tile of M (even): each product
/// vector holds two channels' partial sums (input channels 0-1 and 2-3 of the quad), folded at
/// the end and added to acc.
#[inline(always)]
unsafe fn igemm_2x8c4_wasmsimd_dot16x2<const M: usize>(acc: &mut [v128; ACC], ind: *const *const u8, p0: usize, taps: usize, quads: usize, mut w: *const u8) {
    let mut c = [i32x4_splat(0); 8];
    for t in 0..taps {
        let a0 = *ind.add(t * M + p0);
        let a1 = *ind.add(t * M + p0 + 1);
        for q in 0..quads {
            let wa = v128_load(w as *const v128);
            let wb = v128_load(w.add(16) as *const v128);
            w = w.add(4 * NR);
            let w01 = i16x8_extend_low_i8x16(wa);
            let w23 = i16x8_extend_high_i8x16(wa);
            let w45 = i16x8_extend_low_i8x16(wb);
            let w67 = i16x8_extend_high_i8x16(wb);
            // the quad's 4 codes twice, as i16: [x0 x1 x2 x3 x0 x1 x2 x3]
            let x0 = u16x8_extend_low_u8x16(v128_load32_splat(a0.add(4 * q) as *const u32));
            let x1 = u16x8_extend_low_u8x16(v128_load32_splat(a1.add(4 * q) as *const u32));
            c[0] = i32x4_add(c[0], i32x4_dot_i16x8(w01, x0));
            c[1] = i32x4_add(c[1], i32x4_dot_i16x8(w23, x0));
            c[2] = i32x4_add(c[2], i32x4_dot_i16x8(w45, x0));
            c[3] = i32x4_add(c[3], i32x4_dot_i16x8(w67, x0));
            c[4] = i32x4_add(c[4], i32x4_dot_i16x8(w01, x1));
            c[5] = i32x4_add(c[5], i32x4_dot_i16x8(w23, x1));
            c[6] = i32x4_add(c[6], i32x4_dot_i16x8(w45, x1));
            c[7] = i32x4_add(c[7], i32x4_dot_i16x8(w67, x1));
        }
    }
    let fold = |a: v128, b: v128| i32x4_add(i32x4_shuffle::<0, 2, 4, 6>(a, b), i32x4_shuffle::<1, 3, 5, 7>(a, b));
    acc[2 * p0] = i32x4_add(acc[2 * p0], fold(c[0], c[1]));
    acc[2 * p0 + 1] = i32x4_add(acc[2 * p0 + 1], fold(c[2], c[3]));
    acc[2 * p0 + 2] = i32x4_add(acc[2 * p0 + 2], fold(c[4], c[5]));
    acc[2 * p0 + 3] = i32x4_add(acc[2 * p0 + 3], fold(c[6], c[7]));
}

/// Whether every byte of x[0..len) and the zero point are <= 127: relaxed SIMD's i7 operand.
#[cfg(target_feature = "relaxed-simd")]
unsafe fn fits_i7(x: *const u8, len: usize, x_zero: i32) -> bool {
    let mut any = i32x4_splat(0);
    let mut i = 0;
    while i + 16 <= len {
        any = v128_or(any, v128_load(x.add(i) as *const v128));
        i += 16;
    }
    let mut tail = 0u8;
    while i < len {
        tail |= *x.add(i);
        i += 1;
    }
    x_zero <= 127 && tail < 128 && u8x16_bitmask(any) == 0
}

/// Input pixels an int8 convolution can mark one by one (a byte each): 224 x 224 at batch 1.
#[cfg(target_feature = "relaxed-simd")]
const HOT_PIXELS: usize = 1 << 16;
/// HOT[pixel] != 0: some channel of that input pixel holds a code above 127.
#[cfg(target_feature = "relaxed-simd")]
static mut HOT: [u8; HOT_PIXELS] = [0; HOT_PIXELS];

/// Marks, in HOT, the input pixels holding a code above 127 (the pixel's own channels only).
#[cfg(target_feature = "relaxed-simd")]
unsafe fn mark_hot(x: *const u8, pixels: usize, channels: usize) -> *const u8 {
    let hot = core::ptr::addr_of_mut!(HOT) as *mut u8;
    for p in 0..pixels {
        *hot.add(p) = !fits_i7(x.add(p * channels), channels, 0) as u8;
    }
    hot
}

/// Output pixels per tile of `conv2d` as the dot form now set makes it (the unit of its count of
/// relaxed tiles).
pub unsafe fn tile_pixels() -> usize {
    #[cfg(target_feature = "relaxed-simd")]
    if FUSED_DOT {
        return MR_FUSED;
    }
    MR
}

pub unsafe fn conv2d(a: &ConvArgs) -> u32 {
    #[cfg(target_feature = "relaxed-simd")]
    if FUSED_DOT {
        return conv2d_tiles::<MR_FUSED, true>(a);
    }
    conv2d_tiles::<MR, false>(a)
}

/// `conv2d` by tiles of M output pixels; FUSED: relaxed SIMD's dot-add as one instruction.
unsafe fn conv2d_tiles<const M: usize, const FUSED: bool>(a: &ConvArgs) -> u32 {
    let x = a.x as usize as *const u8;
    let in_pixels = (a.n * a.in_h * a.in_w) as usize;
    // Relaxed SIMD's dot takes codes up to 127 (reduce_range calibration makes them so); a
    // tensor beyond its calibrated range has a few above. Then each tile of output pixels
    // whose window meets such a pixel runs the plain-SIMD form (the same exact sums), the
    // others the relaxed one. `hot` is null when every code fits.
    #[cfg(target_feature = "relaxed-simd")]
    let (relaxed, hot) = if a.x_zero > 127 {
        (false, core::ptr::null())
    } else if fits_i7(x, in_pixels * a.in_c as usize, a.x_zero) {
        (true, core::ptr::null())
    } else if in_pixels <= HOT_PIXELS {
        (true, mark_hot(x, in_pixels, a.in_c as usize))
    } else {
        (false, core::ptr::null())
    };
    #[cfg(not(target_feature = "relaxed-simd"))]
    let (relaxed, hot): (bool, *const u8) = {
        let _ = in_pixels;
        (false, core::ptr::null())
    };
    let mut relaxed_tiles = 0u32;
    let groups = a.groups as usize;
    let in_c = a.in_c as usize;
    let in_c_g = in_c / groups;
    let out_c = a.out_c as usize;
    let out_c_g = out_c / groups;
    let taps = (a.kernel_h * a.kernel_w) as usize;
    let quads = in_c_g.div_ceil(4);
    let blocks = out_c_g.div_ceil(NR);
    let bb = block_bytes(in_c_g, taps);
    let chunk = (WEIGHT_CHUNK_BYTES / bb).max(1);
    let out_hw = (a.out_h * a.out_w) as usize;
    let pixels = a.n as usize * out_hw;
    let zeros = a.zeros as usize as *const u8;
    let y = a.y as usize as *mut u8;
    let residual = a.residual as usize as *const u8;
    let e = Epilogue::new(a.y_zero, a.lo, a.hi, a.residual_zero, a.residual_mult);
    let small = a.small_range != 0;
    let mut ind = [zeros; MAX_TAPS * MR_FUSED];
    // each tap's cell relative to the window's top-left one (no division per tap and pixel)
    let (in_h, in_w) = (a.in_h as isize, a.in_w as isize);
    let (kw, dh, dw) = (a.kernel_w as usize, a.dilation_h as isize, a.dilation_w as isize);
    let mut tap_dy = [0isize; MAX_TAPS];
    let mut tap_dx = [0isize; MAX_TAPS];
    for t in 0..taps {
        tap_dy[t] = (t / kw) as isize * dh;
        tap_dx[t] = (t % kw) as isize * dw;
    }
    let reach_h = (a.kernel_h as isize - 1) * dh;
    let reach_w = (kw as isize - 1) * dw;
    // a 1x1 at stride 1 without padding: no division per pixel
    let pointwise = taps == 1 && a.stride_h == 1 && a.stride_w == 1 && a.in_h == a.out_h && a.in_w == a.out_w;
    for g in 0..groups {
        let packed_g = (a.packed as usize as *const u8).add(g * blocks * bb);
        let mut cb0 = 0;
        while cb0 < blocks {
            let cb1 = (cb0 + chunk).min(blocks);
            let mut m0 = 0;
            while m0 < pixels {
                let valid = (pixels - m0).min(M);
                let mut tile_hot = 0u8;
                if pointwise {
                    // output pixel m reads input pixel m
                    for p in 0..M {
                        let m = m0 + p.min(valid - 1);
                        ind[p] = x.add(m * in_c + g * in_c_g);
                        if !hot.is_null() {
                            tile_hot |= *hot.add(m);
                        }
                    }
                } else {
                    for p in 0..M {
                        let m = m0 + p.min(valid - 1); // tail pixels repeat the last one, never stored
                        let b = m / out_hw;
                        let oy = ((m % out_hw) / a.out_w as usize) as isize;
                        let ox = ((m % out_hw) % a.out_w as usize) as isize;
                        let image_pixel = b * (a.in_h * a.in_w) as usize;
                        let image = x.add(image_pixel * in_c + g * in_c_g);
                        let iy0 = oy * a.stride_h as isize - a.pad_top as isize;
                        let ix0 = ox * a.stride_w as isize - a.pad_left as isize;
                        let inside = iy0 >= 0 && ix0 >= 0 && iy0 + reach_h < in_h && ix0 + reach_w < in_w;
                        for t in 0..taps {
                            let (iy, ix) = (iy0 + tap_dy[t], ix0 + tap_dx[t]);
                            ind[t * M + p] = if inside || (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w) {
                                let at = (iy * in_w + ix) as usize;
                                if !hot.is_null() {
                                    tile_hot |= *hot.add(image_pixel + at);
                                }
                                image.add(at * in_c)
                            } else {
                                zeros
                            };
                        }
                    }
                }
                let tile_relaxed = relaxed && tile_hot == 0;
                if cb0 == 0 {
                    relaxed_tiles += tile_relaxed as u32;
                }
                for cb in cb0..cb1 {
                    let block = packed_g.add(cb * bb);
                    let w = block.add(HEADER_BYTES);
                    let [bias_lo, bias_hi, mult_lo, mult_hi] = requant::header(block);
                    // the sums start from the bias
                    let mut acc: [v128; ACC] = core::array::from_fn(|i| if i % 2 == 0 { bias_lo } else { bias_hi });
                    #[cfg(target_feature = "relaxed-simd")]
                    if tile_relaxed {
                        if FUSED {
                            igemm_Mx8c4_wasmrelaxedsimd_dot::<M>(&mut acc, ind.as_ptr(), taps, quads, w, dot_i7_add_fused);
                        } else {
                            igemm_Mx8c4_wasmrelaxedsimd_dot::<M>(&mut acc, ind.as_ptr(), taps, quads, w, dot_i7_add);
                        }
                    }
                    if !tile_relaxed {
                        for p0 in (0..valid).step_by(2) {
                            igemm_2x8c4_wasmsimd_dot16x2::<M>(&mut acc, ind.as_ptr(), p0, taps, quads, w);
                        }
                    }
                    let c0 = g * out_c_g + cb * NR;
                    let nc = (out_c_g - cb * NR).min(NR);
                    if small && nc == NR {
                        // pixels in pairs (a last odd one stored twice to the same place)
                        for p in (0..valid).step_by(2) {
                            let q = (p + 1).min(valid - 1);
                            let [a0, a1, a2, a3] = [acc[2 * p], acc[2 * p + 1], acc[2 * q], acc[2 * q + 1]];
                            let (o0, o1) = ((m0 + p) * out_c + c0, (m0 + q) * out_c + c0);
                            let (r0, r1) = if residual.is_null() { (residual, residual) } else { (residual.add(o0), residual.add(o1)) };
                            requant::store8x2_small([a0, a1, a2, a3], mult_lo, mult_hi, &e, r0, r1, y.add(o0), y.add(o1));
                        }
                        continue;
                    }
                    for p in 0..valid {
                        let off = (m0 + p) * out_c + c0;
                        let r = if residual.is_null() { residual } else { residual.add(off) };
                        requant::store8(acc[2 * p], acc[2 * p + 1], mult_lo, mult_hi, &e, r, y.add(off), nc);
                    }
                }
                m0 += M;
            }
            cb0 = cb1;
        }
    }
    relaxed_tiles
}

/// Copies `len` bytes with v128 moves. Up to 16 bytes take one move of 16, which reads and
/// writes past `len`: `im2col` writes its rows in order, so the next copy overwrites the excess,
/// and the caller leaves 64 bytes after every tensor and the rows' buffer. Beyond 16, the last
/// move overlaps the one before.
#[inline(always)]
unsafe fn copy_bytes(dst: *mut u8, src: *const u8, len: usize) {
    if len <= 16 {
        v128_store(dst as *mut v128, v128_load(src as *const v128));
        return;
    }
    let mut i = 0;
    while i + 16 <= len {
        v128_store(dst.add(i) as *mut v128, v128_load(src.add(i) as *const v128));
        i += 16;
    }
    if i < len {
        v128_store(dst.add(len - 16) as *mut v128, v128_load(src.add(len - 16) as *const v128));
    }
}

/// Lays out, for every output pixel of `a`'s convolution, its window as one row of
/// kernel_h * kernel_w * in_c bytes at a.y (tap by tap, channels within; padded taps hold the
/// zero point), so that a 1x1 convolution over those rows computes the layer. For stems with
/// few input channels (3 at 7x7: 147 bytes, 37 quads of 4), where the per-tap form wastes a
/// quarter of each quad and a pointer per tap.
pub unsafe fn im2col(a: &ConvArgs) {
    let x = a.x as usize as *const u8;
    let zeros = a.zeros as usize as *const u8;
    let c = a.in_c as usize;
    let (kh, kw) = (a.kernel_h as usize, a.kernel_w as usize);
    let (in_h, in_w) = (a.in_h as isize, a.in_w as isize);
    let row = kw * c;
    let mut d = a.y as usize as *mut u8;
    for b in 0..a.n as usize {
        let image = x.add(b * (a.in_h * a.in_w) as usize * c);
        for oy in 0..a.out_h as isize {
            for ox in 0..a.out_w as isize {
                let ix0 = ox * a.stride_w as isize - a.pad_left as isize;
                let contiguous = a.dilation_w == 1 && ix0 >= 0 && ix0 + kw as isize <= in_w;
                for ky in 0..kh as isize {
                    let iy = oy * a.stride_h as isize - a.pad_top as isize + ky * a.dilation_h as isize;
                    let inside = iy >= 0 && iy < in_h;
                    if inside && contiguous {
                        copy_bytes(d, image.add((iy * in_w + ix0) as usize * c), row);
                    } else {
                        for kx in 0..kw as isize {
                            let ix = ix0 + kx * a.dilation_w as isize;
                            let src = if inside && ix >= 0 && ix < in_w { image.add((iy * in_w + ix) as usize * c) } else { zeros };
                            copy_bytes(d.add(kx as usize * c), src, c);
                        }
                    }
                    d = d.add(row);
                }
            }
        }
    }
}
