//! Fully connected layer, y[b] = act(W x[b] + bias (+ residual)). At batch 1 it is a
//! matrix-vector product that streams the weights from memory once (AlexNet's FC layers:
//! 234 MB), so the weights are packed in blocks of 16 output rows, [in_f / 4][16 rows][4 inputs],
//! each a sequential stream. Sixteen accumulators (one per row) share each f32x4 of x.
//! A block is read as `STREAMS` streams at once, its quarters of the inputs side by side: one
//! sequential stream left a single core's memory bandwidth short on an Intel Xeon (AlexNet's
//! fc6, 151 MB: 9.3 GB/s as one stream, 14.4 as four; a C read loop gets 10.6 from one stream and
//! 12.6 from four), while each stream stays long and sequential for the prefetchers. Against
//! torchvision's [out_f, in_f] rows read side by side (16 short streams): ResNet-50's fc (8 MB)
//! ran 1.5x faster as one packed stream on an AMD EPYC, and fc6 6% faster.
//!
//! Packed layout (tails zero-filled): rows rounded up to 16, inputs up to 4.
use crate::activation;
use crate::simd::*;

/// Output rows per packed block.
use crate::abi::LINEAR_ROWS as ROWS;

/// Concurrent streams per block (AlexNet's fc6 on an Intel Xeon: 2 streams 11.1-12.7 ms, 4
/// streams 10.5-11.0, 8 the same as 4, against 15.6-16.2 for one).
const STREAMS: usize = 4;

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
            // stream s reads quads [s h, (s + 1) h); the last full quads after them, one stream
            let h = full / STREAMS;
            let mut ws: [*const f32; STREAMS] = core::array::from_fn(|s| w.add(s * h * 4 * ROWS));
            for q in 0..h {
                let xs: [v128; STREAMS] = core::array::from_fn(|s| load(xr.add(4 * (q + s * h))));
                for j in 0..ROWS {
                    let mut a = acc[j];
                    for s in 0..STREAMS {
                        a = fmadd(a, xs[s], load(ws[s].add(4 * j)));
                    }
                    acc[j] = a;
                }
                for s in 0..STREAMS {
                    ws[s] = ws[s].add(4 * ROWS);
                }
            }
            w = w.add(STREAMS * h * 4 * ROWS);
            for q in STREAMS * h..full {
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
