//! Fully connected layer, y[b] = act(W x[b] + bias (+ residual)). At batch 1 it is a
//! matrix-vector product that streams the weights from memory once (AlexNet's FC layers:
//! 234 MB), so the weights are packed for one sequential stream: per block of 16 output rows,
//! [in_f / 4][16 rows][4 inputs]. Sixteen accumulators (one per row) share each f32x4 of x,
//! and every weight load continues the last. Against torchvision's [out_f, in_f] rows read
//! side by side (16 streams): ResNet-50's fc (8 MB, cache-resident) runs 1.5x faster, and
//! AlexNet's fc6 (151 MB, from memory) 6% faster, 27.6 GB/s where a plain read loop gets 38.
//!
//! Packed layout (tails zero-filled): rows rounded up to 16, inputs up to 4.
use crate::activation;
use crate::simd::*;

/// Output rows per packed block.
use crate::abi::LINEAR_ROWS as ROWS;

/// One fully connected layer as JS writes it into an op descriptor. `bias` is read 4 floats
/// at a time (slack after it is fine).
pub use crate::abi::LinearArgs;

/// Floats of one packed block of 16 rows (the layout is stated once, in abi/spec.mjs).
use crate::abi::linear_block_floats as block_floats;

/// Packs `rows` rows of a torchvision [out_f, in_f] weight (a slice starting at a multiple of
/// 16 rows) into `dst`, the packed position of its first row (`linear_packed_floats` floats in all).
#[no_mangle]
#[optimize(size)]
pub unsafe extern "C" fn linear_pack_weights(dst: *mut f32, weight: *const f32, rows: u32, in_f: u32) {
    let (rows, in_f) = (rows as usize, in_f as usize);
    let (quads, full) = (in_f.div_ceil(4), in_f / 4);
    for blk in 0..rows.div_ceil(ROWS) {
        let d = dst.add(blk * block_floats(in_f));
        let valid = ROWS.min(rows - blk * ROWS);
        let src = weight.add(blk * ROWS * in_f);
        // In the order of the packed stream, an f32x4 per (quad, row): a sequential write from
        // 16 row streams (the scalar loop with a bounds test per float took 40 ms for AlexNet's fc6).
        for q in 0..quads {
            for j in 0..ROWS {
                let v = if j >= valid {
                    f32x4_splat(0.0)
                } else if q < full {
                    v128_load(src.add(j * in_f + 4 * q) as *const v128)
                } else {
                    let lane = |l: usize| if 4 * q + l < in_f { *src.add(j * in_f + 4 * q + l) } else { 0.0 };
                    f32x4(lane(0), lane(1), lane(2), lane(3))
                };
                store(d.add((q * ROWS + j) * 4), v);
            }
        }
    }
}

/// The four sums of a[0], a[1], a[2], a[3] (each the sum of its lanes), as one vector.
#[inline(always)]
fn sum4(a: &[v128]) -> v128 {
    let pair = |p: v128, q: v128| {
        f32x4_add(i32x4_shuffle::<0, 4, 2, 6>(p, q), i32x4_shuffle::<1, 5, 3, 7>(p, q))
    };
    let (s01, s23) = (pair(a[0], a[1]), pair(a[2], a[3]));
    f32x4_add(i32x4_shuffle::<0, 1, 4, 5>(s01, s23), i32x4_shuffle::<2, 3, 6, 7>(s01, s23))
}

/// Output rows [rows.0, rows.1) of every batch row (rows.0 a multiple of 16).
#[inline(never)]
pub unsafe fn linear_f32(a: &LinearArgs, rows: (usize, usize)) {
    let (x, y, residual) = (a.x as *const f32, a.y as *mut f32, a.residual as *const f32);
    let (weight, bias) = (a.weight as *const f32, a.bias as *const f32);
    let (n, in_f, out_f) = (a.n as usize, a.in_f as usize, a.out_f as usize);
    let full = in_f / 4;
    let tail = in_f % 4;
    // Lanes of the last partial quad that hold inputs (x's lanes past in_f may be anything).
    let tail_mask = i32x4(
        if tail > 0 { -1 } else { 0 },
        if tail > 1 { -1 } else { 0 },
        if tail > 2 { -1 } else { 0 },
        0,
    );
    let bstride = block_floats(in_f);
    for b in 0..n {
        let xr = x.add(b * in_f);
        let mut o0 = rows.0;
        while o0 < rows.1 {
            let mut w = weight.add(o0 / ROWS * bstride);
            let mut acc = [f32x4_splat(0.0); ROWS];
            for q in 0..full {
                let xv = load(xr.add(4 * q));
                for j in 0..ROWS {
                    acc[j] = fmadd(acc[j], xv, load(w.add(4 * j)));
                }
                w = w.add(4 * ROWS);
            }
            if tail > 0 {
                let xv = v128_and(load(xr.add(4 * full)), tail_mask);
                for j in 0..ROWS {
                    acc[j] = fmadd(acc[j], xv, load(w.add(4 * j)));
                }
            }
            let rows_valid = ROWS.min(rows.1 - o0);
            let mut g = 0;
            while g < rows_valid {
                let o = o0 + g;
                let mut v = f32x4_add(sum4(&acc[g..g + 4]), load(bias.add(o)));
                let off = b * out_f + o;
                if !residual.is_null() {
                    v = f32x4_add(v, load(residual.add(off)));
                }
                store_partial(y.add(off), activation::apply(v, a.activation), 4.min(rows_valid - g));
                g += 4;
            }
            o0 += ROWS;
        }
    }
}
