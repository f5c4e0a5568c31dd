//! Element-wise kernels: add, per-channel affine, activation, and channel concatenation.
//! Lengths need not be multiples of 4: tails are computed full width and stored partially.
use crate::activation;
use crate::simd::*;

/// y = act(a + b) over `len` floats (y may alias a or b).
#[no_mangle]
pub unsafe extern "C" fn add_f32(a: *const f32, b: *const f32, y: *mut f32, len: u32, activation: u32) {
    let len = len as usize;
    let mut i = 0;
    while i < len {
        let v = f32x4_add(load(a.add(i)), load(b.add(i)));
        store_partial(y.add(i), activation::apply(v, activation), len - i);
        i += 4;
    }
}

/// y = act(x * scale[c] + shift[c]) over `pixels` NHWC pixels of `channels` channels.
#[no_mangle]
pub unsafe extern "C" fn channel_affine_f32(
    x: *const f32,
    y: *mut f32,
    scale: *const f32,
    shift: *const f32,
    pixels: u32,
    channels: u32,
    activation: u32,
) {
    let c = channels as usize;
    for p in 0..pixels as usize {
        let (xp, yp) = (x.add(p * c), y.add(p * c));
        let mut ch = 0;
        while ch < c {
            let v = fmadd(load(shift.add(ch)), load(xp.add(ch)), load(scale.add(ch)));
            store_partial(yp.add(ch), activation::apply(v, activation), c - ch);
            ch += 4;
        }
    }
}

/// y = act(x) over `len` floats (y may alias x).
#[no_mangle]
pub unsafe extern "C" fn activation_f32(x: *const f32, y: *mut f32, len: u32, activation: u32) {
    let len = len as usize;
    let mut i = 0;
    while i < len {
        store_partial(y.add(i), activation::apply(load(x.add(i)), activation), len - i);
        i += 4;
    }
}

/// Copies each NHWC pixel's `in_c` channels into channels [offset, offset + in_c) of y.
#[no_mangle]
pub unsafe extern "C" fn copy_channels_nhwc(
    x: *const f32,
    y: *mut f32,
    pixels: u32,
    in_c: u32,
    out_c: u32,
    channel_offset: u32,
) {
    let (in_c, out_c) = (in_c as usize, out_c as usize);
    for p in 0..pixels as usize {
        let (xp, yp) = (x.add(p * in_c), y.add(p * out_c + channel_offset as usize));
        let mut ch = 0;
        while ch < in_c {
            store_partial(yp.add(ch), load(xp.add(ch)), in_c - ch);
            ch += 4;
        }
    }
}
