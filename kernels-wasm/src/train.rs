//! Training GEMM for @cnn/train: C (+)= A·B on packed, padded operands. The caller (packages/
//! train/src/kernels/wasm.ts) lays A out as [m][k] and B as [k][n] row-major, with m a multiple
//! of 4 and n a multiple of 8, so the 4x8 microkernel below has no edge cases.
use crate::simd::*;

/// Depth of one pass over k: a packed 256 x 8 panel of B (8 KiB) stays in L1.
const KC: usize = 256;
/// Rows of A per block: a 128 x 256 block of A (128 KiB) stays in L2 across the column panels.
const MC: usize = 128;
/// Floats of scratch `train_gemm_f32_4x8` needs for its packed panel of B.
#[no_mangle]
pub extern "C" fn train_gemm_scratch_len() -> u32 {
    (KC * 8) as u32
}

/// C[m][n] = (accumulate ? C : 0) + Σ_k A[m][k] B[k][n]. Blocked for the caches (k by KC, m by
/// MC, n by 8-column panels of B packed contiguously into `pack`, train_gemm_scratch_len()
/// floats), and each block resumes from the partial sums in C, so every element is the plain
/// sum over k in order: the result does not depend on the blocking (nor on the threads).
#[no_mangle]
pub unsafe extern "C" fn train_gemm_f32_4x8(m: u32, n: u32, k: u32, a: *const f32, b: *const f32, c: *mut f32, accumulate: u32, pack: *mut f32) {
    gemm_columns(m as usize, n as usize, k as usize, a, b, c, accumulate != 0, pack, 0, n as usize);
}

/// Columns [j0, j1) (multiples of 8) of the product above.
unsafe fn gemm_columns(m: usize, n: usize, k: usize, a: *const f32, b: *const f32, c: *mut f32, accumulate: bool, pack: *mut f32, j0: usize, j1: usize) {
    let mut k0 = 0;
    while k0 < k {
        let kc = (k - k0).min(KC);
        let resume = accumulate || k0 > 0;
        let mut i0 = 0;
        while i0 < m {
            let mc = (m - i0).min(MC);
            let mut j = j0;
            while j < j1 {
                // B[k0 .. k0 + kc][j .. j + 8] -> pack[kc][8], one cache line per step of k, when
                // enough rows reuse it; a B 8 columns wide is packed already
                let panel = b.add(k0 * n + j);
                let (pb, ldb) = if n == 8 || mc <= 8 {
                    (panel as *const f32, n)
                } else {
                    let mut src = panel;
                    for p in 0..kc {
                        store(pack.add(8 * p), load(src));
                        store(pack.add(8 * p + 4), load(src.add(4)));
                        src = src.add(n);
                    }
                    (pack as *const f32, 8)
                };
                let mut i = i0;
                while i < i0 + mc {
                    gemm_4x8_wasmsimd(kc, a.add(i * k + k0), k, pb, ldb, c.add(i * n + j), n, resume);
                    i += 4;
                }
                j += 8;
            }
            i0 += mc;
        }
        k0 += kc;
    }
}

/// The threaded binary's GEMM: `d` holds 9 u32s [m, n, k, a, b, c, accumulate, pack, items];
/// the 8-column panels of C are split into `items` near-equal column ranges, shared by the
/// threads of `control` (crate::threads; 0: all on the calling thread). Thread t packs into
/// its own scratch, pack + t·train_gemm_scratch_len() floats. Each element is computed exactly
/// as by train_gemm_f32_4x8, so results do not depend on the thread count.
#[cfg(target_feature = "atomics")]
#[no_mangle]
pub unsafe extern "C" fn train_gemm_f32_4x8_shared(d: *const u32, control: *mut crate::threads::Control) {
    let items = *d.add(8) as usize;
    if control.is_null() {
        for item in 0..items {
            run_item(d, item, 0);
        }
    } else {
        crate::threads::share(control, d, 0, items);
    }
}

/// One work item of train_gemm_f32_4x8_shared, run by `thread`.
#[cfg(target_feature = "atomics")]
pub unsafe fn run_item(d: *const u32, item: usize, thread: usize) {
    let v = |i: usize| *d.add(i) as usize;
    let (m, n, k, items) = (v(0), v(1), v(2), v(8));
    let (p0, p1) = crate::simd::part(n / 8, items, item, 1);
    let pack = (v(7) as *mut f32).add(thread * KC * 8);
    gemm_columns(m, n, k, v(3) as *const f32, v(4) as *const f32, v(5) as *mut f32, v(6) != 0, pack, p0 * 8, p1 * 8);
}

/// C[4][8] = (resume ? C : 0) + A[4][kc]·B[kc][8], A rows `lda` apart, B rows `ldb` apart.
#[inline(always)]
unsafe fn gemm_4x8_wasmsimd(kc: usize, a: *const f32, lda: usize, b: *const f32, ldb: usize, c: *mut f32, ldc: usize, resume: bool) {
    let zero = f32x4_splat(0.0);
    let row = |r: usize| if resume { (load(c.add(r * ldc)), load(c.add(r * ldc + 4))) } else { (zero, zero) };
    let ((mut c0l, mut c0h), (mut c1l, mut c1h)) = (row(0), row(1));
    let ((mut c2l, mut c2h), (mut c3l, mut c3h)) = (row(2), row(3));
    let (a0, a1, a2, a3) = (a, a.add(lda), a.add(2 * lda), a.add(3 * lda));
    let mut pb = b;
    for p in 0..kc {
        let bl = load(pb);
        let bh = load(pb.add(4));
        let x0 = v128_load32_splat(a0.add(p) as *const u32);
        let x1 = v128_load32_splat(a1.add(p) as *const u32);
        let x2 = v128_load32_splat(a2.add(p) as *const u32);
        let x3 = v128_load32_splat(a3.add(p) as *const u32);
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
        store(c.add(r * ldc), *lo);
        store(c.add(r * ldc + 4), *hi);
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

/// f32x4 -> the sum of its lanes as f64 pairs added into (lo, hi).
#[inline(always)]
fn add_f64(acc: (v128, v128), v: v128) -> (v128, v128) {
    (f64x2_add(acc.0, f64x2_promote_low_f32x4(v)), f64x2_add(acc.1, f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 0, 1>(v, v))))
}

#[inline(always)]
fn sum_f64(acc: (v128, v128)) -> f64 {
    let s = f64x2_add(acc.0, acc.1);
    f64x2_extract_lane::<0>(s) + f64x2_extract_lane::<1>(s)
}

/// Batch statistics of batch norm in training mode over NCHW `x` [n, c, plane]: for each channel
/// the mean and the sum of squared deviations from it (two passes, f64 sums, as the TypeScript
/// reference). `stats` receives 2·c f64s: [mean_0, m2_0, mean_1, m2_1, ...]. `plane` is a
/// multiple of 4 or the tail is summed lane by lane.
#[no_mangle]
pub unsafe extern "C" fn train_bn_stats_f32(x: *const f32, n: u32, c: u32, plane: u32, stats: *mut f64) {
    let (n, c, plane) = (n as usize, c as usize, plane as usize);
    let m = (n * plane) as f64;
    let body = plane & !3;
    for ch in 0..c {
        let z = f64x2_splat(0.0);
        let mut acc = (z, z);
        let mut tail = 0.0f64;
        for b in 0..n {
            let p = x.add((b * c + ch) * plane);
            let mut i = 0;
            while i < body {
                acc = add_f64(acc, load(p.add(i)));
                i += 4;
            }
            while i < plane {
                tail += *p.add(i) as f64;
                i += 1;
            }
        }
        let mean = (sum_f64(acc) + tail) / m;
        // squared deviations from the f64 mean, summed in f64
        let mut acc = (z, z);
        let mut tail = 0.0f64;
        for b in 0..n {
            let p = x.add((b * c + ch) * plane);
            let mut i = 0;
            while i < body {
                let lo = f64x2_sub(f64x2_promote_low_f32x4(load(p.add(i))), f64x2_splat(mean));
                let v = load(p.add(i));
                let hi = f64x2_sub(f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 0, 1>(v, v)), f64x2_splat(mean));
                acc = (f64x2_add(acc.0, f64x2_mul(lo, lo)), f64x2_add(acc.1, f64x2_mul(hi, hi)));
                i += 4;
            }
            while i < plane {
                let d = *p.add(i) as f64 - mean;
                tail += d * d;
                i += 1;
            }
        }
        *stats.add(2 * ch) = mean;
        *stats.add(2 * ch + 1) = sum_f64(acc) + tail;
    }
}

/// Batch norm's normalisation: y = (x − mean[ch])·scale[ch] + shift[ch] over NCHW [n, c, plane],
/// with scale = γ·invstd and shift = β (folded by the caller into params: [mean, invstd, γ, β]
/// per channel, 4·c f32s).
#[no_mangle]
pub unsafe extern "C" fn train_bn_apply_f32(x: *const f32, n: u32, c: u32, plane: u32, params: *const f32, y: *mut f32) {
    let (n, c, plane) = (n as usize, c as usize, plane as usize);
    for b in 0..n {
        for ch in 0..c {
            let q = params.add(4 * ch);
            let (mean, invstd, gamma, beta) = (*q, *q.add(1), *q.add(2), *q.add(3));
            let off = (b * c + ch) * plane;
            let (px, py) = (x.add(off), y.add(off));
            let (vm, vi, vg, vb) = (splat(mean), splat(invstd), splat(gamma), splat(beta));
            let mut i = 0;
            while i + 4 <= plane {
                let xh = f32x4_mul(f32x4_sub(load(px.add(i)), vm), vi);
                store(py.add(i), fmadd(vb, xh, vg));
                i += 4;
            }
            while i < plane {
                let xh = (*px.add(i) - mean) * invstd;
                *py.add(i) = xh * gamma + beta;
                i += 1;
            }
        }
    }
}

/// Batch norm's backward pass over NCHW [n, c, plane], x̂ recomputed from x with params
/// [mean, invstd, γ, β] per channel. `sums` receives 2·c f64s [Σdy, Σdy·x̂] per channel (the
/// gradients of β and γ). When `dx` is not null: training mode adds
/// γ·invstd·(dy − Σdy/m − x̂·Σdy·x̂/m) into dx, eval mode (training 0) γ·invstd·dy.
#[no_mangle]
pub unsafe extern "C" fn train_bn_backward_f32(x: *const f32, dy: *const f32, n: u32, c: u32, plane: u32, params: *const f32, sums: *mut f64, dx: *mut f32, training: u32) {
    let (n, c, plane) = (n as usize, c as usize, plane as usize);
    let m = (n * plane) as f64;
    for ch in 0..c {
        let q = params.add(4 * ch);
        let (mean, invstd, gamma) = (*q, *q.add(1), *q.add(2));
        let (vm, vi) = (splat(mean), splat(invstd));
        let z = f64x2_splat(0.0);
        let (mut s, mut sx) = ((z, z), (z, z));
        let (mut ts, mut tsx) = (0.0f64, 0.0f64);
        for b in 0..n {
            let off = (b * c + ch) * plane;
            let (px, pd) = (x.add(off), dy.add(off));
            let mut i = 0;
            while i + 4 <= plane {
                let d = load(pd.add(i));
                let xh = f32x4_mul(f32x4_sub(load(px.add(i)), vm), vi);
                s = add_f64(s, d);
                sx = add_f64(sx, f32x4_mul(d, xh));
                i += 4;
            }
            while i < plane {
                let d = *pd.add(i);
                ts += d as f64;
                tsx += (d * ((*px.add(i) - mean) * invstd)) as f64;
                i += 1;
            }
        }
        let (sum_dy, sum_dy_xhat) = (sum_f64(s) + ts, sum_f64(sx) + tsx);
        *sums.add(2 * ch) = sum_dy;
        *sums.add(2 * ch + 1) = sum_dy_xhat;
        if dx.is_null() {
            continue;
        }
        let k = gamma * invstd;
        let (a, bb) = if training != 0 { ((sum_dy / m) as f32, (sum_dy_xhat / m) as f32) } else { (0.0, 0.0) };
        let (vk, va, vb) = (splat(k), splat(a), splat(bb));
        for b in 0..n {
            let off = (b * c + ch) * plane;
            let (px, pd, pdx) = (x.add(off), dy.add(off), dx.add(off));
            let mut i = 0;
            while i + 4 <= plane {
                let xh = f32x4_mul(f32x4_sub(load(px.add(i)), vm), vi);
                let g = f32x4_sub(f32x4_sub(load(pd.add(i)), va), f32x4_mul(xh, vb));
                store(pdx.add(i), fmadd(load(pdx.add(i)), vk, g));
                i += 4;
            }
            while i < plane {
                let xh = (*px.add(i) - mean) * invstd;
                *pdx.add(i) += k * (*pd.add(i) - a - xh * bb);
                i += 1;
            }
        }
    }
}

/// One AdamW step over `len` parameters in float32 arithmetic, one rounding per operation, as
/// torch.optim.AdamW and the TypeScript optimiser (Math.fround after each operation) compute it,
/// so both give the same bits: w ·= decay; m = m·β₁ + g·(1 − β₁); v = v·β₂ + (1 − β₂)·g·g;
/// w −= step·m / (√v / bc2_sqrt + eps). `h` holds 6 f64s [decay, β₁, β₂, step, bc2_sqrt, eps],
/// each rounded to f32 here.
#[no_mangle]
pub unsafe extern "C" fn train_adamw_f32(w: *mut f32, g: *const f32, m: *mut f32, v: *mut f32, len: u32, h: *const f64) {
    let f = |i: usize| *h.add(i) as f32;
    let (decay, b1, b2, step, bc2_sqrt, eps) = (f(0), f(1), f(2), f(3), f(4), f(5));
    let (c1, c2) = ((1.0 - *h.add(1)) as f32, (1.0 - *h.add(2)) as f32);
    let (vdecay, vb1, vb2, vc1, vc2) = (splat(decay), splat(b1), splat(b2), splat(c1), splat(c2));
    let (vstep, vbc2, veps) = (splat(step), splat(bc2_sqrt), splat(eps));
    let len = len as usize;
    let mut i = 0;
    // multiplies and adds kept apart: a fused multiply-add would round once where the others round twice
    while i + 4 <= len {
        let gi = load(g.add(i));
        let wi = f32x4_mul(load(w.add(i)), vdecay);
        let mi = f32x4_add(f32x4_mul(load(m.add(i)), vb1), f32x4_mul(gi, vc1));
        let vi = f32x4_add(f32x4_mul(load(v.add(i)), vb2), f32x4_mul(f32x4_mul(vc2, gi), gi));
        store(m.add(i), mi);
        store(v.add(i), vi);
        let denom = f32x4_add(f32x4_div(f32x4_sqrt(vi), vbc2), veps);
        store(w.add(i), f32x4_sub(wi, f32x4_div(f32x4_mul(vstep, mi), denom)));
        i += 4;
    }
    while i < len {
        let gi = *g.add(i);
        let wi = *w.add(i) * decay;
        let mi = *m.add(i) * b1 + gi * c1;
        let vi = *v.add(i) * b2 + c2 * gi * gi;
        *m.add(i) = mi;
        *v.add(i) = vi;
        let root = f32x4_extract_lane::<0>(f32x4_sqrt(splat(vi)));
        *w.add(i) = wi - step * mi / (root / bc2_sqrt + eps);
        i += 1;
    }
}

/// GEMM rows back to NCHW: out[(b·channels + c0 + o)·p + i] = c[o·ldc + b·p + i] + bias[o]
/// (bias may be null) for o < count, b < n, i < p.
#[no_mangle]
pub unsafe extern "C" fn train_rows_to_nchw_f32(c: *const f32, ldc: u32, n: u32, count: u32, p: u32, c0: u32, channels: u32, bias: *const f32, out: *mut f32) {
    let (ldc, n, count, p, c0, channels) = (ldc as usize, n as usize, count as usize, p as usize, c0 as usize, channels as usize);
    for o in 0..count {
        let add = if bias.is_null() { 0.0 } else { *bias.add(o) };
        let vadd = splat(add);
        for b in 0..n {
            let (src, dst) = (c.add(o * ldc + b * p), out.add((b * channels + c0 + o) * p));
            let mut i = 0;
            while i + 4 <= p {
                store(dst.add(i), f32x4_add(load(src.add(i)), vadd));
                i += 4;
            }
            while i < p {
                *dst.add(i) = *src.add(i) + add;
                i += 1;
            }
        }
    }
}

/// NCHW to GEMM rows, the inverse: out[o·ld + b·p + i] = x[(b·channels + c0 + o)·p + i] for
/// o < count, with columns n·p .. ld of each row zeroed.
#[no_mangle]
pub unsafe extern "C" fn train_nchw_to_rows_f32(x: *const f32, n: u32, channels: u32, p: u32, c0: u32, count: u32, out: *mut f32, ld: u32) {
    let (n, channels, p, c0, count, ld) = (n as usize, channels as usize, p as usize, c0 as usize, count as usize, ld as usize);
    for o in 0..count {
        let row = out.add(o * ld);
        for b in 0..n {
            let (src, dst) = (x.add((b * channels + c0 + o) * p), row.add(b * p));
            let mut i = 0;
            while i + 4 <= p {
                store(dst.add(i), load(src.add(i)));
                i += 4;
            }
            while i < p {
                *dst.add(i) = *src.add(i);
                i += 1;
            }
        }
        for i in n * p..ld {
            *row.add(i) = 0.0;
        }
    }
}

/// dst[c·ld_dst + r] (+)= src[r·ld_src + c] for r < rows, c < cols: weight operands and weight
/// gradients between [out][K] and [K][out] layouts, in 8 x 8 tiles so both sides stay in cache.
#[no_mangle]
pub unsafe extern "C" fn train_transpose_f32(src: *const f32, rows: u32, cols: u32, ld_src: u32, dst: *mut f32, ld_dst: u32, accumulate: u32) {
    let (rows, cols, ld_src, ld_dst) = (rows as usize, cols as usize, ld_src as usize, ld_dst as usize);
    let mut r0 = 0;
    while r0 < rows {
        let r1 = (r0 + 8).min(rows);
        let mut c0 = 0;
        while c0 < cols {
            let c1 = (c0 + 8).min(cols);
            for c in c0..c1 {
                for r in r0..r1 {
                    let v = *src.add(r * ld_src + c);
                    let d = dst.add(c * ld_dst + r);
                    *d = if accumulate != 0 { *d + v } else { v };
                }
            }
            c0 = c1;
        }
        r0 = r1;
    }
}

/// A pooling window's input bounds and divisor, PyTorch's rules (as the TypeScript reference's
/// forEachWindow): `g` holds 10 u32s [in_h, in_w, out_h, out_w, kh, kw, sh, sw, ph, pw].
#[inline(always)]
unsafe fn window(g: *const u32, oy: usize, ox: usize, count_include_pad: bool) -> (usize, usize, usize, usize, f64) {
    let v = |i: usize| *g.add(i) as isize;
    let (in_h, in_w, kh, kw, sh, sw, ph, pw) = (v(0), v(1), v(4), v(5), v(6), v(7), v(8), v(9));
    let (y0, x0) = (oy as isize * sh - ph, ox as isize * sw - pw);
    let (y1, x1) = ((y0 + kh).min(in_h + ph), (x0 + kw).min(in_w + pw));
    let padded = ((y1 - y0) * (x1 - x0)) as f64;
    let (y0, x0, y1, x1) = (y0.max(0), x0.max(0), y1.min(in_h), x1.min(in_w));
    let divisor = if count_include_pad { padded } else { ((y1 - y0) * (x1 - x0)) as f64 };
    (y0 as usize, y1.max(y0) as usize, x0 as usize, x1.max(x0) as usize, divisor)
}

/// Max pooling over `planes` NCHW planes; argmax receives each output's winning flat input index
/// (the first maximum, a NaN wins; -1 for an empty window), as the TypeScript reference.
#[no_mangle]
pub unsafe extern "C" fn train_max_pool_f32(x: *const f32, planes: u32, g: *const u32, y: *mut f32, argmax: *mut i32) {
    let v = |i: usize| *g.add(i) as usize;
    let (in_h, in_w, out_h, out_w) = (v(0), v(1), v(2), v(3));
    let mut out = 0;
    for plane in 0..planes as usize {
        let base = plane * in_h * in_w;
        for oy in 0..out_h {
            for ox in 0..out_w {
                let (y0, y1, x0, x1, _) = window(g, oy, ox, false);
                let (mut best, mut at) = (f32::NEG_INFINITY, -1i32);
                for iy in y0..y1 {
                    for ix in x0..x1 {
                        let i = base + iy * in_w + ix;
                        let value = *x.add(i);
                        if at < 0 || value > best || value.is_nan() {
                            best = value;
                            at = i as i32;
                        }
                    }
                }
                *y.add(out) = best;
                *argmax.add(out) = at;
                out += 1;
            }
        }
    }
}

/// Average pooling over `planes` NCHW planes (adjoint 0: y = window sum / divisor) and its
/// adjoint (1: x += y / divisor over each window, x being the input gradient and y the output
/// gradient), in f64 like the TypeScript reference, so both give the same bits.
#[no_mangle]
pub unsafe extern "C" fn train_avg_pool_f32(x: *mut f32, planes: u32, g: *const u32, y: *mut f32, count_include_pad: u32, adjoint: u32) {
    let v = |i: usize| *g.add(i) as usize;
    let (in_h, in_w, out_h, out_w) = (v(0), v(1), v(2), v(3));
    let mut out = 0;
    for plane in 0..planes as usize {
        let base = x.add(plane * in_h * in_w);
        for oy in 0..out_h {
            for ox in 0..out_w {
                let (y0, y1, x0, x1, divisor) = window(g, oy, ox, count_include_pad != 0);
                if adjoint != 0 {
                    let share = *y.add(out) as f64 / divisor;
                    for iy in y0..y1 {
                        for ix in x0..x1 {
                            let p = base.add(iy * in_w + ix);
                            *p = (*p as f64 + share) as f32;
                        }
                    }
                } else {
                    let mut s = 0.0f64;
                    for iy in y0..y1 {
                        for ix in x0..x1 {
                            s += *base.add(iy * in_w + ix) as f64;
                        }
                    }
                    *y.add(out) = (s / divisor) as f32;
                }
                out += 1;
            }
        }
    }
}

/// Activation gradients, dx += dy·f'(x) over `len` floats (a multiple of 4; the caller pads):
/// `code` 1 ReLU (x > 0), 3 tanh (1 − y², y = tanh x), the inference ABI's activation codes.
#[no_mangle]
pub unsafe extern "C" fn train_activation_backward_f32(code: u32, x: *const f32, y: *const f32, dy: *const f32, dx: *mut f32, len: u32) {
    let mut i = 0;
    while i < len as usize {
        let d = load(dy.add(i));
        let g = if code == crate::abi::ACT_TANH {
            let t = load(y.add(i));
            f32x4_mul(d, f32x4_sub(splat(1.0), f32x4_mul(t, t)))
        } else {
            v128_and(d, f32x4_gt(load(x.add(i)), splat(0.0)))
        };
        store(dx.add(i), f32x4_add(load(dx.add(i)), g));
        i += 4;
    }
}

/// y = x > 0 ? x : 0 over `len` floats (a multiple of 4), as the reference (NaN and −0 give +0).
#[no_mangle]
pub unsafe extern "C" fn train_relu_f32(x: *const f32, y: *mut f32, len: u32) {
    let mut i = 0;
    while i < len as usize {
        let v = load(x.add(i));
        store(y.add(i), v128_and(v, f32x4_gt(v, splat(0.0))));
        i += 4;
    }
}
