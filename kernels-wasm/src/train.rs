//! Training GEMM for @cnn/train: C (+)= A·B on packed, padded operands. The caller (packages/
//! train/src/kernels/wasm.ts) lays A out as [m][k] and B as [k][n] row-major, with m a multiple
//! of 4 and n a multiple of 8, so the 4x8 microkernel below has no edge cases.
use crate::simd::*;

/// C[m][n] = (accumulate ? C : 0) + Σ_k A[m][k] B[k][n]. Sums run over k in order for every
/// element, so a result does not depend on the tiling.
#[no_mangle]
pub unsafe extern "C" fn train_gemm_f32_4x8(m: u32, n: u32, k: u32, a: *const f32, b: *const f32, c: *mut f32, accumulate: u32) {
    let (m, n, k) = (m as usize, n as usize, k as usize);
    // column panels outside, so a k x 8 panel of B stays in L1 across every row block
    let mut j = 0;
    while j < n {
        let mut i = 0;
        while i < m {
            gemm_4x8_wasmsimd(k, a.add(i * k), b.add(j), n, c.add(i * n + j), n, accumulate != 0);
            i += 4;
        }
        j += 8;
    }
}

#[inline(always)]
unsafe fn gemm_4x8_wasmsimd(k: usize, a: *const f32, b: *const f32, ldb: usize, c: *mut f32, ldc: usize, accumulate: bool) {
    let zero = f32x4_splat(0.0);
    let (mut c0l, mut c0h, mut c1l, mut c1h) = (zero, zero, zero, zero);
    let (mut c2l, mut c2h, mut c3l, mut c3h) = (zero, zero, zero, zero);
    let (a0, a1, a2, a3) = (a, a.add(k), a.add(2 * k), a.add(3 * k));
    let mut pb = b;
    for p in 0..k {
        let bl = load(pb);
        let bh = load(pb.add(4));
        let x0 = splat(*a0.add(p));
        let x1 = splat(*a1.add(p));
        let x2 = splat(*a2.add(p));
        let x3 = splat(*a3.add(p));
        c0l = fmadd(c0l, x0, bl);
        c0h = fmadd(c0h, x0, bh);
        c1l = fmadd(c1l, x1, bl);
        c1h = fmadd(c1h, x1, bh);
        c2l = fmadd(c2l, x2, bl);
        c2h = fmadd(c2h, x2, bh);
        c3l = fmadd(c3l, x3, bl);
        c3h = fmadd(c3h, x3, bh);
        pb = pb.add(ldb);
    }
    let rows = [(c0l, c0h), (c1l, c1h), (c2l, c2h), (c3l, c3h)];
    for (r, (lo, hi)) in rows.iter().enumerate() {
        let pc = c.add(r * ldc);
        if accumulate {
            store(pc, f32x4_add(load(pc), *lo));
            store(pc.add(4), f32x4_add(load(pc.add(4)), *hi));
        } else {
            store(pc, *lo);
            store(pc.add(4), *hi);
        }
    }
}

/// y = tanh(x) over `len` floats (a multiple of 4; the caller pads), with the inference
/// epilogue's vector tanh, for the forward pass of tanh layers.
#[no_mangle]
pub unsafe extern "C" fn train_tanh_f32(x: *const f32, y: *mut f32, len: u32) {
    let mut i = 0;
    while i < len as usize {
        store(y.add(i), crate::activation::tanh(load(x.add(i))));
        i += 4;
    }
}

/// im2col for one group of a convolution and its adjoint, in one loop so the binary carries it
/// once. `g` holds 16 u32s [n, in_c, in_h, in_w, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw, c0,
/// icg] (c0: the group's first input channel, icg: its channel count).
/// adjoint 0: col[(ic·kh + ky)·kw + kx][b·P + p] = x[b, c0 + ic, oy·sh − ph + ky·dh, ox·sw − pw + kx·dw]
/// (0 outside), rows of `ld` floats, which the caller pads with zeros past n·P;
/// adjoint 1: x[...] += col[...], in the order the TypeScript col2im adds.
#[no_mangle]
#[optimize(size)]
pub unsafe extern "C" fn train_im2col_f32(x: *mut f32, g: *const u32, col: *mut f32, ld: u32, adjoint: u32) {
    let v = |i: usize| *g.add(i) as usize;
    let (n, in_c, in_h, in_w, out_h, out_w) = (v(0), v(1), v(2), v(3), v(4), v(5));
    let (kh, kw, sh, sw, ph, pw, dh, dw, c0, icg) = (v(6), v(7), v(8), v(9), v(10) as isize, v(11) as isize, v(12), v(13), v(14), v(15));
    let (ld, p) = (ld as usize, out_h * out_w);
    let mut row = col;
    for ic in 0..icg {
        for ky in 0..kh {
            for kx in 0..kw {
                // output columns [lo, hi) read input column ox·sw + shift inside [0, in_w)
                let shift = (kx * dw) as isize - pw;
                let mut lo = 0;
                while lo < out_w && ((lo * sw) as isize) + shift < 0 {
                    lo += 1;
                }
                let mut hi = out_w;
                while hi > lo && ((hi - 1) * sw) as isize + shift >= in_w as isize {
                    hi -= 1;
                }
                for b in 0..n {
                    let plane = x.add((b * in_c + c0 + ic) * in_h * in_w);
                    for oy in 0..out_h {
                        let out = row.add(b * p + oy * out_w);
                        let iy = (oy * sh + ky * dh) as isize - ph;
                        let inside = iy >= 0 && iy < in_h as isize;
                        let src = plane.offset(iy * in_w as isize + shift);
                        if adjoint == 0 {
                            // zero the padding columns only (the whole row when it lies in the padding)
                            let (zero_lo, zero_hi) = if inside { (lo, hi) } else { (out_w, out_w) };
                            for ox in (0..zero_lo).chain(zero_hi..out_w) {
                                *out.add(ox) = 0.0;
                            }
                        }
                        if !inside {
                            continue;
                        }
                        let mut ox = lo;
                        // unit stride: four columns per vector (unaligned loads and stores)
                        if sw == 1 {
                            while ox + 4 <= hi {
                                if adjoint != 0 {
                                    store(src.add(ox), f32x4_add(load(src.add(ox)), load(out.add(ox))));
                                } else {
                                    store(out.add(ox), load(src.add(ox)));
                                }
                                ox += 4;
                            }
                        }
                        while ox < hi {
                            if adjoint != 0 {
                                *src.add(ox * sw) += *out.add(ox);
                            } else {
                                *out.add(ox) = *src.add(ox * sw);
                            }
                            ox += 1;
                        }
                    }
                }
                row = row.add(ld);
            }
        }
    }
}

/// out[b·P + p][o] = dy[b, c0 + o, p] for o < count (rows of `ld` floats, the caller zeroes the
/// rest): one group of the output gradient transposed into the weight gradient's GEMM operand.
#[no_mangle]
#[optimize(size)]
pub unsafe extern "C" fn train_transpose_group_f32(dy: *const f32, n: u32, channels: u32, p: u32, c0: u32, count: u32, out: *mut f32, ld: u32) {
    let (channels, p, count, ld) = (channels as usize, p as usize, count as usize, ld as usize);
    for b in 0..n as usize {
        for o in 0..count {
            let src = dy.add((b * channels + c0 as usize + o) * p);
            let dst = out.add(b * p * ld + o);
            for i in 0..p {
                *dst.add(i * ld) = *src.add(i);
            }
        }
    }
}
