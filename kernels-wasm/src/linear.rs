//! Fully connected layer, y[b] = act(W x[b] + bias (+ residual)) with W in torchvision's
//! [out_f, in_f] layout (used as is: JS copies it in, no packing). Sixteen output rows share
//! each f32x4 load of x, one accumulator each: the layer streams its weights from memory
//! (AlexNet's FC layers, 234 MB), and 16 concurrent row streams measured 7% faster than 4 rows
//! x 2 accumulators (8 rows: no gain; 4 x 4 and 8 x 2: slower).
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
    linear_rows::<ROWS, UNROLL>(a, rows)
}

/// Rows in flight and f32x4 accumulators per row (see the module comment).
const ROWS: usize = 16;
const UNROLL: usize = 1;

/// `R` output rows at a time (a multiple of 4), `U` f32x4 accumulators per row.
#[inline(always)]
unsafe fn linear_rows<const R: usize, const U: usize>(a: &LinearArgs, rows: (usize, usize)) {
    let (x, y, residual) = (a.x as *const f32, a.y as *mut f32, a.residual as *const f32);
    let (weight, bias) = (a.weight as *const f32, a.bias as *const f32);
    let (n, in_f, out_f) = (a.n as usize, a.in_f as usize, a.out_f as usize);
    let step = 4 * U;
    let in_fs = in_f - in_f % step;
    for b in 0..n {
        let xr = x.add(b * in_f);
        let mut o0 = rows.0;
        while o0 < rows.1 {
            let rows_valid = R.min(rows.1 - o0);
            // Tail rows repeat the last valid one and are not stored.
            let w: [*const f32; R] =
                core::array::from_fn(|j| weight.add((o0 + j.min(rows_valid - 1)) * in_f));
            let mut acc = [[f32x4_splat(0.0); U]; R];
            let mut i = 0;
            while i < in_fs {
                let xv: [v128; U] = core::array::from_fn(|u| load(xr.add(i + 4 * u)));
                for j in 0..R {
                    for u in 0..U {
                        acc[j][u] = fmadd(acc[j][u], xv[u], load(w[j].add(i + 4 * u)));
                    }
                }
                i += step;
            }
            let mut sums = [0f32; R];
            for j in 0..R {
                let mut v = acc[j][0];
                for u in 1..U {
                    v = f32x4_add(v, acc[j][u]);
                }
                let mut s = hsum(v);
                for t in in_fs..in_f {
                    s += *xr.add(t) * *w[j].add(t);
                }
                sums[j] = s;
            }
            let mut g = 0;
            while g < R && g < rows_valid {
                let o = o0 + g;
                let mut v = f32x4(sums[g], sums[g + 1], sums[g + 2], sums[g + 3]);
                v = f32x4_add(v, load(bias.add(o)));
                let off = b * out_f + o;
                if !residual.is_null() {
                    v = f32x4_add(v, load(residual.add(off)));
                }
                store_partial(y.add(off), activation::apply(v, a.activation), 4.min(rows_valid - g));
                g += 4;
            }
            o0 += R;
        }
    }
}
