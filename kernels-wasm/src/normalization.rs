//! Per-pixel normalisations over the channel axis: LayerNorm (ConvNeXt's LayerNorm2d) and
//! local response normalisation (torch.nn.LocalResponseNorm), plus squeeze-and-excitation
//! channel gating.
use crate::activation;
use crate::simd::*;

pub use crate::abi::ScaleChannelsArgs;

/// y[b, p, c] = x[b, p, c] * scale[b, c] for pixels [range.0, range.1) of all n * pixels.
#[inline(never)]
pub unsafe fn scale_channels_f32(a: &ScaleChannelsArgs, range: (usize, usize)) {
    let (x, scale, y) = (a.x as *const f32, a.scale as *const f32, a.y as *mut f32);
    let (pixels, c) = (a.pixels as usize, a.channels as usize);
    for q in range.0..range.1 {
        let s = scale.add(q / pixels * c);
        let off = q * c;
        let mut ch = 0;
        while ch < c {
            let v = f32x4_mul(load(x.add(off + ch)), load(s.add(ch)));
            store_partial(y.add(off + ch), v, c - ch);
            ch += 4;
        }
    }
}

/// y = act((x - mean) / sqrt(var + eps) * gamma + beta) over the channels of each pixel
/// (biased variance, two passes for accuracy).
pub use crate::abi::LayerNormArgs;

/// Pixels [range.0, range.1).
#[inline(never)]
pub unsafe fn layer_norm_f32(a: &LayerNormArgs, range: (usize, usize)) {
    let (x, y) = (a.x as *const f32, a.y as *mut f32);
    let (gamma, beta, eps, activation) = (a.gamma as *const f32, a.beta as *const f32, a.eps, a.activation);
    let c = a.channels as usize;
    let c4 = c & !3;
    let inv_c = 1.0 / c as f32;
    for p in range.0..range.1 {
        let (xp, yp) = (x.add(p * c), y.add(p * c));
        let mut acc = f32x4_splat(0.0);
        let mut ch = 0;
        while ch < c4 {
            acc = f32x4_add(acc, load(xp.add(ch)));
            ch += 4;
        }
        let mut sum = hsum(acc);
        for t in c4..c {
            sum += *xp.add(t);
        }
        let mean = f32x4_splat(sum * inv_c);
        let mut acc = f32x4_splat(0.0);
        let mut ch = 0;
        while ch < c4 {
            let d = f32x4_sub(load(xp.add(ch)), mean);
            acc = fmadd(acc, d, d);
            ch += 4;
        }
        let mut var = hsum(acc);
        for t in c4..c {
            let d = *xp.add(t) - f32x4_extract_lane::<0>(mean);
            var += d * d;
        }
        let inv = f32x4_div(splat(1.0), f32x4_sqrt(f32x4_splat(var * inv_c + eps)));
        let mut ch = 0;
        while ch < c {
            let v = f32x4_mul(f32x4_sub(load(xp.add(ch)), mean), inv);
            let v = fmadd(load(beta.add(ch)), v, load(gamma.add(ch)));
            store_partial(yp.add(ch), activation::apply(v, activation), c - ch);
            ch += 4;
        }
    }
}

/// y_c = x_c / (k + alpha / size * sum of x_j^2 over j in [c - size/2, c + (size-1)/2])^beta.
pub use crate::abi::LocalResponseNormArgs;

/// Pixels [range.0, range.1).
#[inline(never)]
pub unsafe fn local_response_norm_f32(a: &LocalResponseNormArgs, range: (usize, usize)) {
    let (x, y) = (a.x as *const f32, a.y as *mut f32);
    let (size, alpha, beta, k) = (a.size, a.alpha, a.beta, a.k);
    let c = a.channels as isize;
    let before = (size / 2) as isize;
    let after = ((size.max(1) - 1) / 2) as isize;
    let scale = alpha / size as f32;
    for p in range.0..range.1 {
        let (xp, yp) = (x.add(p * c as usize), y.add(p * c as usize));
        let mut ch = 0;
        while ch < c {
            let mut sums = [0f32; 4];
            for (lane, s) in sums.iter_mut().enumerate() {
                let cc = ch + lane as isize;
                for j in (cc - before).max(0)..=(cc + after).min(c - 1) {
                    let v = *xp.add(j as usize);
                    *s += v * v;
                }
            }
            let base = fmadd(splat(k), splat(scale), f32x4(sums[0], sums[1], sums[2], sums[3]));
            // x / base^beta as x * e^(-beta ln base): base >= k > 0, and for base >= 1 (AlexNet's
            // k = 2) the exponent is non-positive, exp's direct case.
            let inv = activation::exp(f32x4_mul(splat(-beta), activation::ln(base)));
            let v = f32x4_mul(load(xp.add(ch as usize)), inv);
            store_partial(yp.add(ch as usize), v, (c - ch) as usize);
            ch += 4;
        }
    }
}
