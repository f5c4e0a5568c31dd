//! The plan runner. JS writes one descriptor per op (a header, then the kernel's `*Args`
//! struct), `plan_prepare` decides once how each op splits into work items, and `plan_run`
//! executes the whole plan in one call: items in order on one thread, or shared by the
//! threads of `crate::threads` in the threaded binaries.
//!
//! An op may have a first phase (Winograd's input transform): its first `first_items` items
//! all finish before any later one starts.
//!
//! Items are independent output regions (pixel tiles x weight blocks for convolutions, rows
//! or float ranges elsewhere), and every output value is computed by the same arithmetic
//! whatever the split, so threaded results equal single-threaded ones bit for bit.
use crate::conv::{conv2d_nhwc_f32, Conv2dArgs};
use crate::dwconv::{dwconv2d_nhwc_f32, DwConv2dArgs};
use crate::elementwise::*;
use crate::linear::{linear_f32, LinearArgs};
use crate::normalization::*;
use crate::pool::*;
use crate::simd::part;
use crate::winograd::winograd_run_item;

// Descriptor size, op codes and argument structs: abi.rs, generated from packages/kernels/abi/spec.mjs.
pub use crate::abi::*;

#[repr(C)]
struct Header {
    kind: u32,
    /// work items, written by `plan_prepare`
    items: u32,
    /// convolutions: parts along the weight-block (channel) axis; items / split along pixels
    split: u32,
    /// items of a first phase that must all finish before the others start (0: none)
    first_items: u32,
}

#[inline(always)]
unsafe fn args<T>(d: *const u32) -> &'static T {
    &*(d.add(ARGS_WORD) as *const T)
}

/// Below this much work (in multiply-adds or floats touched) an op stays on one thread:
/// waking the others would cost more than it saves.
const MIN_PARALLEL_MACS: usize = 1 << 19;
const MIN_PARALLEL_FLOATS: usize = 1 << 15;

/// Parts along two axes (a, b) for about `target` items, preferring axis a.
fn grid(a_units: usize, b_units: usize, target: usize) -> (usize, usize) {
    let pa = a_units.min(target).max(1);
    let pb = b_units.min(target.div_ceil(pa)).max(1);
    (pa, pb)
}

/// (items, split, first-phase items) for one op run by `threads` threads.
#[optimize(size)]
unsafe fn split_op(d: *const u32, threads: usize, share_all: bool) -> (usize, usize, usize) {
    if (*(d as *const Header)).kind == OP_CONV2D && args::<Conv2dArgs>(d).scratch != 0 {
        return split_winograd(args::<Conv2dArgs>(d), threads, share_all);
    }
    let (items, split) = split_direct(d, threads, share_all);
    (items, split, 0)
}

/// Winograd convolutions: the input transform split along tiles, then the GEMM and output
/// transform along tile groups x weight blocks. Blocks split first: an item transforms the
/// weight blocks it uses, so splitting along tile groups would repeat those transforms.
#[optimize(size)]
fn split_winograd(a: &Conv2dArgs, threads: usize, share_all: bool) -> (usize, usize, usize) {
    let tiles = a.winograd_tiles();
    if a.winograd_band != 0 {
        // One item per band (JS made enough bands for the threads).
        return (tiles.div_ceil(a.winograd_band as usize), 1, 0);
    }
    let macs = tiles * a.winograd_positions() * (a.in_c * a.out_c) as usize;
    if threads <= 1 || (!share_all && macs < MIN_PARALLEL_MACS) {
        return (2, 1, 1);
    }
    let target = threads * 4;
    let (groups, blocks) = (a.winograd_tile_groups(), a.channel_blocks());
    let (pm, pc) = if blocks >= 2 * threads {
        let (pc, pm) = grid(blocks, groups, target);
        (pm, pc)
    } else {
        grid(groups, blocks, target)
    };
    let first = tiles.min(target);
    (first + pm * pc, pc, first)
}

/// (items, split) for one op run by `threads` threads. Several items per thread let fast
/// threads take over from ones the OS delays. `share_all` ignores the minimum work (tests).
#[optimize(size)]
unsafe fn split_direct(d: *const u32, threads: usize, share_all: bool) -> (usize, usize) {
    if threads <= 1 {
        return (1, 1);
    }
    let target = threads * 4;
    let (min_macs, min_floats) =
        if share_all { (0, 0) } else { (MIN_PARALLEL_MACS, MIN_PARALLEL_FLOATS) };
    let one_d = |units: usize, work: usize| {
        if work < min_floats { (1, 1) } else { (units.min(target).max(1), 1) }
    };
    match (*(d as *const Header)).kind {
        OP_CONV2D => {
            let a = args::<Conv2dArgs>(d);
            let macs = (a.n * a.out_h * a.out_w * a.out_c) as usize
                * (a.in_c / a.groups * a.kernel_h * a.kernel_w) as usize;
            if macs < min_macs {
                return (1, 1);
            }
            let (tiles, blocks) = (a.pixel_tiles(), a.channel_blocks());
            // Split the axis whose operand is larger, so each item re-reads the smaller one.
            let (pm, pc) = if a.packed_bytes() > a.input_bytes() && blocks >= 2 * threads {
                let (pc, pm) = grid(blocks, tiles, target);
                (pm, pc)
            } else {
                grid(tiles, blocks, target)
            };
            (pm * pc, pc)
        }
        OP_DWCONV2D => {
            let a = args::<DwConv2dArgs>(d);
            let macs = (a.n * a.out_h * a.out_w * a.channels * a.kernel_h * a.kernel_w) as usize;
            if macs < min_macs / 4 {
                return (1, 1);
            }
            let (pr, pc) = grid(a.rows(), a.channel_blocks(), target);
            (pr * pc, pc)
        }
        OP_LINEAR => {
            let a = args::<LinearArgs>(d);
            let macs = (a.n * a.in_f * a.out_f) as usize;
            if macs < min_macs {
                return (1, 1);
            }
            ((a.out_f as usize).div_ceil(LINEAR_ROWS).min(target), 1)
        }
        OP_MAXPOOL2D | OP_AVGPOOL2D => {
            let a = args::<Pool2dArgs>(d);
            let work = (a.n * a.out_h * a.out_w * a.channels * a.kernel_h * a.kernel_w) as usize;
            one_d((a.n * a.out_h) as usize, work)
        }
        OP_ADAPTIVE_AVGPOOL2D => {
            let a = args::<AdaptiveAvgPool2dArgs>(d);
            one_d((a.n * a.out_h) as usize, (a.n * a.in_h * a.in_w * a.channels) as usize)
        }
        OP_ADD => {
            let a = args::<AddArgs>(d);
            one_d((a.len as usize).div_ceil(1024), a.len as usize)
        }
        OP_ACTIVATION => {
            let a = args::<ActivationArgs>(d);
            one_d((a.len as usize).div_ceil(1024), a.len as usize * 4)
        }
        OP_CHANNEL_AFFINE => {
            let a = args::<ChannelAffineArgs>(d);
            one_d(a.pixels as usize, (a.pixels * a.channels) as usize * 4)
        }
        OP_COPY_CHANNELS => {
            let a = args::<CopyChannelsArgs>(d);
            one_d(a.pixels as usize, (a.pixels * a.in_c) as usize)
        }
        OP_SCALE_CHANNELS => {
            let a = args::<ScaleChannelsArgs>(d);
            one_d((a.n * a.pixels) as usize, (a.n * a.pixels * a.channels) as usize)
        }
        OP_LAYER_NORM => {
            let a = args::<LayerNormArgs>(d);
            one_d(a.pixels as usize, (a.pixels * a.channels) as usize * 4)
        }
        OP_LOCAL_RESPONSE_NORM => {
            let a = args::<LocalResponseNormArgs>(d);
            one_d(a.pixels as usize, (a.pixels * a.channels * a.size) as usize)
        }
        OP_FAKE_QUANTIZE => {
            let a = args::<FakeQuantizeArgs>(d);
            one_d((a.len as usize).div_ceil(1024), a.len as usize * 2)
        }
        _ => (1, 1),
    }
}

/// Runs work item `item` of the op at `d`. Every kernel entry is `#[inline(never)]`: one
/// function holding all of them inlined measured 20% slower in V8 (conv layers, simd128)
/// unless wasm-opt reworked it, which it cannot do for the relaxed-SIMD binaries.
/// `thread` (0 for the calling thread) picks the thread's own part of a scratch buffer.
pub unsafe fn run_item(d: *const u32, item: usize, thread: usize) {
    let h = &*(d as *const Header);
    let items = h.items as usize;
    match h.kind {
        OP_CONV2D if args::<Conv2dArgs>(d).scratch != 0 => {
            let (first, split) = (h.first_items as usize, h.split as usize);
            winograd_run_item(args::<Conv2dArgs>(d), item, items, first, split, thread);
        }
        OP_CONV2D => {
            let a = args::<Conv2dArgs>(d);
            let pc = h.split as usize;
            let pm = items / pc;
            let (im, ic) = (item / pc, item % pc);
            conv2d_nhwc_f32(a, part(a.pixel_tiles(), pm, im, 1), part(a.channel_blocks(), pc, ic, 1));
        }
        OP_DWCONV2D => {
            let a = args::<DwConv2dArgs>(d);
            let pc = h.split as usize;
            let pr = items / pc;
            let (ir, ic) = (item / pc, item % pc);
            dwconv2d_nhwc_f32(a, part(a.rows(), pr, ir, 1), part(a.channel_blocks(), pc, ic, 1));
        }
        OP_LINEAR => {
            let a = args::<LinearArgs>(d);
            linear_f32(a, part(a.out_f as usize, items, item, LINEAR_ROWS));
        }
        OP_MAXPOOL2D => {
            let a = args::<Pool2dArgs>(d);
            maxpool2d_nhwc(a, part((a.n * a.out_h) as usize, items, item, 1));
        }
        OP_AVGPOOL2D => {
            let a = args::<Pool2dArgs>(d);
            avgpool2d_nhwc(a, part((a.n * a.out_h) as usize, items, item, 1));
        }
        OP_ADAPTIVE_AVGPOOL2D => {
            let a = args::<AdaptiveAvgPool2dArgs>(d);
            adaptive_avgpool2d_nhwc(a, part((a.n * a.out_h) as usize, items, item, 1));
        }
        OP_ADD => {
            let a = args::<AddArgs>(d);
            add_f32(a, part(a.len as usize, items, item, 4));
        }
        OP_ACTIVATION => {
            let a = args::<ActivationArgs>(d);
            activation_f32(a, part(a.len as usize, items, item, 4));
        }
        OP_CHANNEL_AFFINE => {
            let a = args::<ChannelAffineArgs>(d);
            channel_affine_f32(a, part(a.pixels as usize, items, item, 1));
        }
        OP_COPY_CHANNELS => {
            let a = args::<CopyChannelsArgs>(d);
            copy_channels_nhwc(a, part(a.pixels as usize, items, item, 1));
        }
        OP_SCALE_CHANNELS => {
            let a = args::<ScaleChannelsArgs>(d);
            scale_channels_f32(a, part((a.n * a.pixels) as usize, items, item, 1));
        }
        OP_LAYER_NORM => {
            let a = args::<LayerNormArgs>(d);
            layer_norm_f32(a, part(a.pixels as usize, items, item, 1));
        }
        OP_LOCAL_RESPONSE_NORM => {
            let a = args::<LocalResponseNormArgs>(d);
            local_response_norm_f32(a, part(a.pixels as usize, items, item, 1));
        }
        OP_FAKE_QUANTIZE => {
            let a = args::<FakeQuantizeArgs>(d);
            fake_quantize_f32(a, part(a.len as usize, items, item, 4));
        }
        _ => {}
    }
}

/// Decides each op's work items for `threads` threads (1: every op is one item); `flags`
/// bit 0 shares even ops too small to be worth it (tests). Returns the number of the first
/// descriptor with an unknown kind, or `count` when all are known.
#[no_mangle]
#[optimize(size)]
pub unsafe extern "C" fn plan_prepare(descs: *mut u32, count: u32, threads: u32, flags: u32) -> u32 {
    for i in 0..count as usize {
        let d = descs.add(i * DESC_WORDS);
        let h = &mut *(d as *mut Header);
        if h.kind == 0 || h.kind > OP_MAX {
            return i as u32;
        }
        let (items, split, first) = split_op(d, threads as usize, flags & 1 != 0);
        h.items = items as u32;
        h.split = split as u32;
        h.first_items = first as u32;
    }
    count
}

/// Runs descriptors [first, first + count). `control` is the thread pool's control block
/// (threaded binaries; 0 runs everything on the calling thread).
#[no_mangle]
pub unsafe extern "C" fn plan_run(descs: *const u32, first: u32, count: u32, control: u32) {
    let _ = control;
    for i in first as usize..(first + count) as usize {
        let d = descs.add(i * DESC_WORDS);
        let items = (*(d as *const Header)).items as usize;
        #[cfg(target_feature = "atomics")]
        if control != 0 && items > 1 {
            let control = control as *mut crate::threads::Control;
            let first = (*(d as *const Header)).first_items as usize;
            if first > 0 {
                crate::threads::share(control, d, 0, first);
            }
            crate::threads::share(control, d, first, items);
            continue;
        }
        for item in 0..items {
            run_item(d, item, 0);
        }
    }
}
