//! Int8 kernels (issue 15): uint8 activations, int8 per-channel weights, exact int32
//! accumulation, requantisation fused into the epilogue. Built only with the cargo feature `q8`
//! into binaries of their own (cnn_q8.wasm: simd128; cnn_q8-relaxed.wasm: + relaxed SIMD), so
//! fp32 inference apps never download them. The arithmetic is packages/kernels/INT8.md, and
//! the js reference (packages/kernels/src/js/q8.ts) is the oracle, bit for bit.
//!
//! Like the fp32 kernels these trust the caller (packages/kernels/src/wasm/q8.ts) to have
//! validated every shape, and to leave 64 readable bytes after each tensor: channel tails are
//! computed with full-width loads whose extra lanes meet zero weights.
mod dwconv;
mod elementwise;
mod igemm;
mod requant;

/// One convolution call's geometry and epilogue, written by JS as 4-byte words (q8.ts
/// `CONV_ARGS_WORDS`; the order is the one below).
#[repr(C)]
pub struct ConvArgs {
    pub x: u32,
    pub packed: u32,
    pub y: u32,
    /// 0: no residual
    pub residual: u32,
    /// a row of at least in_c + 64 bytes, every one the input's zero point (padded cells)
    pub zeros: u32,
    pub n: u32,
    pub in_h: u32,
    pub in_w: u32,
    pub in_c: u32,
    pub out_h: u32,
    pub out_w: u32,
    pub out_c: u32,
    pub kernel_h: u32,
    pub kernel_w: u32,
    pub stride_h: u32,
    pub stride_w: u32,
    pub pad_top: u32,
    pub pad_left: u32,
    pub dilation_h: u32,
    pub dilation_w: u32,
    pub groups: u32,
    pub x_zero: i32,
    pub y_zero: i32,
    pub lo: i32,
    pub hi: i32,
    pub residual_zero: i32,
    pub residual_mult: f32,
    /// 1: every output channel's |sum x multiplier| plus the residual's |(code - zero) x
    /// residual_mult| stays below 2^21 for any codes (q8.ts bounds it from the weights, bias and
    /// multipliers), so the epilogue may skip its clamp to +-2^22 before rounding and clamp to
    /// [lo, hi] in bytes (`requant::store8x2_small`)
    pub small_range: u32,
}

/// Bytes `q8_conv2d_pack` writes (dense and grouped convolution, linear layers as 1x1).
#[no_mangle]
pub extern "C" fn q8_conv2d_packed_bytes(out_c: u32, in_c_g: u32, taps: u32, groups: u32) -> u32 {
    igemm::packed_bytes(out_c as usize, in_c_g as usize, taps as usize, groups as usize) as u32
}

/// Packs torch-layout int8 weights [out_c][in_c_g][kh][kw], int32 bias and f32 multipliers (one
/// per output channel) for `q8_conv2d`; the input's zero point folds into the bias here.
#[no_mangle]
#[optimize(size)]
pub unsafe extern "C" fn q8_conv2d_pack(
    dst: *mut u8,
    weight: *const i8,
    bias: *const i32,
    mult: *const f32,
    out_c: u32,
    in_c_g: u32,
    taps: u32,
    groups: u32,
    x_zero: i32,
) {
    igemm::pack(dst, weight, bias, mult, out_c as usize, in_c_g as usize, taps as usize, groups as usize, x_zero);
}

/// Dense or grouped convolution (and linear) over packed weights. Returns how many tiles of 4
/// output pixels (per group) ran the relaxed-SIMD dot product; the rest ran the plain-SIMD one
/// (for tests and benchmarks).
#[no_mangle]
pub unsafe extern "C" fn q8_conv2d(args: *const ConvArgs) -> u32 {
    igemm::conv2d(&*args)
}

/// Writes each output pixel's window of `args`' convolution as one row of
/// kernel_h * kernel_w * in_c bytes at args.y (`igemm::im2col`): q8.ts runs stems with few input
/// channels as a 1x1 convolution over those rows.
#[no_mangle]
pub unsafe extern "C" fn q8_im2col(args: *const ConvArgs) {
    igemm::im2col(&*args)
}

/// See `igemm::probe_fused_dot`: 1 when this engine's first tier computes relaxed SIMD's fused
/// dot-add right (JS calls it once, right after instantiation, then `q8_set_fused_dot`).
#[no_mangle]
pub unsafe extern "C" fn q8_probe_fused_dot() -> u32 {
    igemm::probe_fused_dot()
}

/// Whether `q8_conv2d` takes the fused dot-add (relaxed binary only; returns whether it is on).
#[no_mangle]
pub unsafe extern "C" fn q8_set_fused_dot(on: u32) -> u32 {
    igemm::set_fused_dot(on != 0) as u32
}

/// Output pixels per tile of `q8_conv2d` as the dot form now set makes it (4, or 6 with the fused
/// dot-add): the unit of the relaxed-tile count it returns.
#[no_mangle]
pub unsafe extern "C" fn q8_tile_pixels() -> u32 {
    igemm::tile_pixels() as u32
}

/// Bytes `q8_dwconv2d_pack` writes for `channels` channels of `taps` taps.
#[no_mangle]
pub extern "C" fn q8_dwconv2d_packed_bytes(channels: u32, taps: u32) -> u32 {
    dwconv::packed_bytes(channels as usize, taps as usize) as u32
}

/// Packs depthwise weights [channels][1][kh][kw], bias and multipliers for `q8_dwconv2d`.
#[no_mangle]
#[optimize(size)]
pub unsafe extern "C" fn q8_dwconv2d_pack(
    dst: *mut u8,
    weight: *const i8,
    bias: *const i32,
    mult: *const f32,
    channels: u32,
    taps: u32,
    x_zero: i32,
) {
    dwconv::pack(dst, weight, bias, mult, channels as usize, taps as usize, x_zero);
}

/// Depthwise convolution (groups = in_c = out_c) over packed weights. Returns how many pairs of
/// (output row, group of 8 channels) ran the relaxed-SIMD 3x3 form (`dwconv::rows_3x3`); the
/// rest ran the general one (for tests and benchmarks).
#[no_mangle]
pub unsafe extern "C" fn q8_dwconv2d(args: *const ConvArgs) -> u32 {
    dwconv::dwconv2d(&*args)
}
