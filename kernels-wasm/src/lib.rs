//! f32 SIMD kernels for the @cnn wasm backend, exported with a raw C ABI.
//!
//! JavaScript owns the memory layout: every pointer argument is a byte offset into this
//! module's linear memory, and every tensor is NHWC float32. Kernels never allocate, and
//! they assume the caller validated shapes and left at least 64 bytes of readable slack
//! after the last tensor (channel tails are computed with full-width loads whose extra
//! lanes are discarded, never stored).
#![no_std]

mod activation;
mod conv;
mod dwconv;
mod elementwise;
mod linear;
mod normalization;
mod pool;
mod simd;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// ABI version, bumped whenever an export's signature or a packed layout changes.
#[no_mangle]
pub extern "C" fn cnn_kernels_abi_version() -> u32 {
    1
}
