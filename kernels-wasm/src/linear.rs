//! Fully connected layer, y[b] = act(W x[b] + bias (+ residual)) with W in torchvision's
//! [out_f, in_f] layout (used as is: JS copies it in, no packing). Four output rows share
//! each f32x4 load of x; the dot products run over in_f with two accumulators per row.
use crate::activation;
use crate::simd::*;

/// One fully connected layer as JS writes it into an op descriptor. `bias` is read 4 floats
/// at a time (slack after it is fine).
#[repr(C)]
pub struct LinearArgs {
    pub x: u32,
    pub y: u32,
    /// 0: none
    pub residual: u32,
    pub weight: u32,
    pub bias: u32,
    pub n: u32,
    pub in_f: u32,
    pub out_f: u32,
    pub activation: u32,
}

/// Output rows [rows.0, rows.1) of every batch row (rows.0 a multiple of 4).
#[inline(never)]
pub unsafe fn linear_f32(a: &LinearArgs, rows: (usize, usize)) {
    let (x, y, residual) = (a.x as *const f32, a.y as *mut f32, a.residual as *const f32);
    let (weight, bias) = (a.weight as *const f32, a.bias as *const f32);
    let (n, in_f, out_f) = (a.n as usize, a.in_f as usize, a.out_f as usize);
    let in_f8 = in_f & !7;
    for b in 0..n {
        let xr = x.add(b * in_f);
        let mut o0 = rows.0;
        while o0 < rows.1 {
            let rows_valid = 4.min(rows.1 - o0);
            // Tail rows repeat the last valid one and are not stored.
            let w: [*const f32; 4] =
                core::array::from_fn(|j| weight.add((o0 + j.min(rows_valid - 1)) * in_f));
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
            store_partial(y.add(off), activation::apply(v, a.activation), rows_valid);
            o0 += 4;
        }
    }
}
