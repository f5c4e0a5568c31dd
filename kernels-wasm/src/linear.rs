//! Fully connected layer, y[b] = act(W x[b] + bias (+ residual)) with W in torchvision's
//! [out_f, in_f] layout (used as is: JS copies it in, no packing). Four output rows share
//! each f32x4 load of x; the dot products run over in_f with two accumulators per row.
use crate::activation;
use crate::simd::*;

/// `residual` 0 means none. `bias` is read 4 floats at a time (slack after it is fine).
#[no_mangle]
pub unsafe extern "C" fn linear_f32(
    x: *const f32,
    y: *mut f32,
    residual: *const f32,
    weight: *const f32,
    bias: *const f32,
    n: u32,
    in_f: u32,
    out_f: u32,
    activation: u32,
) {
    let (n, in_f, out_f) = (n as usize, in_f as usize, out_f as usize);
    let in_f8 = in_f & !7;
    for b in 0..n {
        let xr = x.add(b * in_f);
        let mut o0 = 0;
        while o0 < out_f {
            let rows = 4.min(out_f - o0);
            // Tail rows repeat the last valid one and are not stored.
            let w: [*const f32; 4] =
                core::array::from_fn(|j| weight.add((o0 + j.min(rows - 1)) * in_f));
            let mut acc = [f32x4_splat(0.0); 8];
            let mut i = 0;
            while i < in_f8 {
                let x0 = load(xr.add(i));
                let x1 = load(xr.add(i + 4));
                for j in 0..4 {
                    acc[2 * j] = fmadd(acc[2 * j], x0, load(w[j].add(i)));
                    acc[2 * j + 1] = fmadd(acc[2 * j + 1], x1, load(w[j].add(i + 4)));
                }
                i += 8;
            }
            let mut sums = [0f32; 4];
            for j in 0..4 {
                let mut s = hsum(f32x4_add(acc[2 * j], acc[2 * j + 1]));
                for t in in_f8..in_f {
                    s += *xr.add(t) * *w[j].add(t);
                }
                sums[j] = s;
            }
            let mut v = f32x4(sums[0], sums[1], sums[2], sums[3]);
            v = f32x4_add(v, load(bias.add(o0)));
            let off = b * out_f + o0;
            if !residual.is_null() {
                v = f32x4_add(v, load(residual.add(off)));
            }
            store_partial(y.add(off), activation::apply(v, activation), rows);
            o0 += 4;
        }
    }
}
