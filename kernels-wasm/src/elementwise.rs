//! Element-wise kernels: add, per-channel affine, activation, channel concatenation and fake
//! quantisation.
//! Lengths need not be multiples of 4: tails are computed full width and stored partially.
//! Each takes the range of floats or pixels it should cover, so threads can share one op.
use crate::activation;
use crate::simd::*;

pub use crate::abi::AddArgs;

/// y = act(a + b) over floats [range.0, range.1) (y may alias a or b; range.0 % 4 == 0).
#[inline(never)]
pub unsafe fn add_f32(args: &AddArgs, range: (usize, usize)) {
    let (a, b, y) = (args.a as *const f32, args.b as *const f32, args.y as *mut f32);
    let mut i = range.0;
    while i < range.1 {
        let v = f32x4_add(load(a.add(i)), load(b.add(i)));
        store_partial(y.add(i), activation::apply(v, args.activation), range.1 - i);
        i += 4;
    }
}

pub use crate::abi::ChannelAffineArgs;

/// y = act(x * scale[c] + shift[c]) over NHWC pixels [range.0, range.1).
#[inline(never)]
pub unsafe fn channel_affine_f32(a: &ChannelAffineArgs, range: (usize, usize)) {
    let (x, y) = (a.x as *const f32, a.y as *mut f32);
    let (scale, shift) = (a.scale as *const f32, a.shift as *const f32);
    let c = a.channels as usize;
    for p in range.0..range.1 {
        let (xp, yp) = (x.add(p * a.x_stride as usize), y.add(p * c));
        let mut ch = 0;
        while ch < c {
            let v = fmadd(load(shift.add(ch)), load(xp.add(ch)), load(scale.add(ch)));
            store_partial(yp.add(ch), activation::apply(v, a.activation), c - ch);
            ch += 4;
        }
    }
}

pub use crate::abi::ActivationArgs;

/// y = act(x) over floats [range.0, range.1) (y may alias x; range.0 % 4 == 0).
#[inline(never)]
pub unsafe fn activation_f32(a: &ActivationArgs, range: (usize, usize)) {
    let (x, y) = (a.x as *const f32, a.y as *mut f32);
    let mut i = range.0;
    while i < range.1 {
        store_partial(y.add(i), activation::apply(load(x.add(i)), a.activation), range.1 - i);
        i += 4;
    }
}

pub use crate::abi::CopyChannelsArgs;

/// Copies pixels [range.0, range.1)'s `in_c` channels into channels [offset, offset + in_c) of y.
#[inline(never)]
pub unsafe fn copy_channels_nhwc(a: &CopyChannelsArgs, range: (usize, usize)) {
    let (x, y) = (a.x as *const f32, a.y as *mut f32);
    let (in_c, out_c) = (a.in_c as usize, a.out_c as usize);
    for p in range.0..range.1 {
        let (xp, yp) = (x.add(p * a.x_stride as usize), y.add(p * out_c + a.channel_offset as usize));
        let mut ch = 0;
        while ch < in_c {
            store_partial(yp.add(ch), load(xp.add(ch)), in_c - ch);
            ch += 4;
        }
    }
}

pub use crate::abi::FakeQuantizeArgs;

/// y = (clamp(nearest(x * inv_scale) + zero_point, quant_min, quant_max) - zero_point) * scale
/// over floats [range.0, range.1), torch.fake_quantize_per_tensor_affine's float32 arithmetic
/// (`nearest` rounds half to even, as torch's nearbyint). NaN stays NaN (min/max propagate it).
#[inline(never)]
pub unsafe fn fake_quantize_f32(a: &FakeQuantizeArgs, range: (usize, usize)) {
    let (x, y) = (a.x as *const f32, a.y as *mut f32);
    let (inv, scale, zero) = (splat(a.inv_scale), splat(a.scale), splat(a.zero_point));
    let (lo, hi) = (splat(a.quant_min), splat(a.quant_max));
    let mut i = range.0;
    while i < range.1 {
        let q = f32x4_add(f32x4_nearest(f32x4_mul(load(x.add(i)), inv)), zero);
        let v = f32x4_mul(f32x4_sub(f32x4_min(f32x4_max(q, lo), hi), zero), scale);
        store_partial(y.add(i), v, range.1 - i);
        i += 4;
    }
}
