//! 3x3 stride-1 dense convolution by Winograd F(4x4, 3x3): each 4x4 output tile comes from a
//! 6x6 input tile, turning its 16 * 9 multiply-adds per channel pair into 36 (a 4x cut). JS may
//! pick F(2x2, 3x3) instead (`winograd_tile` 2: 2x2 tiles from 4x4, 16 multiply-adds for 4 * 9,
//! a 2.25x cut) for the layers whose rounding error matters most: in float32, F(4, 3) is about
//! 4x further from float64 than a direct convolution, F(2, 3) about 1.1x (op-plans.ts
//! `winogradTile`). One code path serves both, generic over the tile side M (N = M + 2).
//!
//! Two phases, each split into work items (plan.rs runs all of the first before the second):
//!   1. input transform: V[tile][xi][c] = (B^T d B)[xi] for every 6x6 input tile d, into the
//!      caller's scratch buffer (rows of `in_c` rounded up to 4 floats);
//!   2. for 4 tiles x 8 output channels at a time, 36 small GEMMs (one per position xi) with
//!      the igemm 4x8 microkernel of conv.rs, then the output transform A^T M A fused with the
//!      conv epilogue (bias, residual, activation).
//! Two ways to share the work, chosen by JS per convolution (`winograd_band`):
//! - two phases (band 0): all tiles' transformed input in one shared buffer, written by the
//!   first phase's items, then GEMM items over tile groups x weight blocks;
//! - bands of `winograd_band` tiles (large outputs, whose shared buffer would be larger than
//!   the activations): one item per band transforms its tiles into the running thread's own
//!   buffer, cache-sized, and runs every weight block over them.
//! Weights stay 3x3 in memory, per block of 8 output channels:
//!   [bias: 8][tap: 9][input channel: in_c][8 output channels]
//! and phase 2 transforms them (G g G^T) a chunk of blocks at a time into the running
//! thread's own part of the scratch buffer, [position xi: 36][in_c][8] (+ padding) per block, which then
//! serves every tile group of the item. Transformed weights would take 4x the memory
//! (36 / 9) for the whole model; the transform costs about as much as the GEMM of a few
//! tiles, once per block per item.
use crate::activation;
use crate::conv::{igemm, Conv2dArgs, MR, NR};
use crate::simd::*;

/// Output pixels per tile side of the largest tile (array sizes).
use crate::abi::WINOGRAD_TILE as TILE;
/// Transformed positions per tile of the largest tile (6 x 6; array sizes).
use crate::abi::WINOGRAD_POSITIONS as POS;

// The scratch and weight layouts, stated once in abi/spec.mjs (the planner sizes the scratch by
// the same functions), for tiles of side 4 or 2. Weight blocks are transformed a chunk at a time
// (`winograd_chunk_blocks`): as many as fit in a budget of an eighth of the transformed input,
// within WINOGRAD_MIN/MAX_CHUNK_FLOATS. Each pass reads all of the transformed input again, which
// costs little while it is cache-sized (one 76 KiB block serves ResNet's 56x56 layer) and a
// lot when it is not (VGG's 224x224 layers: 29 MB, read 8 times with one block per pass ran
// 25% slower than twice); the chunk is scratch memory per thread, hence the upper bound.
use crate::abi::{
    conv_block_floats, winograd_chunk_blocks, winograd_input_floats, winograd_positions as positions,
    winograd_row_floats as row_floats, winograd_thread_floats, winograd_tiles,
    winograd_transformed_block_floats as transformed_block_floats, winograd_transformed_row_floats as transformed_row_floats,
};

/// Floats of one packed (3x3) weight block.
#[inline(always)]
fn block_floats(in_c: usize) -> usize {
    conv_block_floats(in_c, 9)
}

/// Packs torchvision-layout weights [out_c, in_c, 3, 3] and bias [out_c] into `dst`.
#[no_mangle]
#[optimize(size)] // cold: once per model (wasm size budget)
pub unsafe extern "C" fn conv2d_winograd_pack_weights(
    dst: *mut f32,
    weight: *const f32,
    bias: *const f32,
    out_c: u32,
    in_c: u32,
) {
    let (out_c, in_c) = (out_c as usize, in_c as usize);
    let bstride = block_floats(in_c);
    for cb in 0..out_c.div_ceil(NR) {
        let d = dst.add(cb * bstride);
        for j in 0..NR {
            let c = cb * NR + j;
            *d.add(j) = if c < out_c { *bias.add(c) } else { 0.0 };
            for i in 0..in_c {
                for tap in 0..9 {
                    *d.add(NR + (tap * in_c + i) * NR + j) =
                        if c < out_c { *weight.add((c * in_c + i) * 9 + tap) } else { 0.0 };
                }
            }
        }
    }
}

/// G (6x3) of F(4, 3), interpolation points 0, 1, -1, 1/2, -2 and infinity, applied to one
/// column of three vectors. Why these points and not the usual 0, +-1, +-2: a float32 Winograd
/// convolution's error grows with the magnitudes in its transforms, and replacing 2 by 1/2 halves
/// the largest entries of B^T (5 to 2.5). Measured against float64 convolutions, this set's error
/// is 0.6x the usual set's (tools/fit/winograd_points.py); with the blocked channel sum below it
/// brings most models' logits within 2x of torchvision float32's own error (benchmarks/accuracy.mjs),
/// but not VGG-16 (3.2x) or ResNet-18 (2.7x): on real activations of their layers, F(4, 3) in
/// float32 is up to 4-5x further from float64 than torch's direct convolution however exactly
/// its transforms are computed (tools/fit/winograd_layers.py), and the layers nearest the image
/// (VGG's 224 and 112 px, ResNet's 56 px) set the logits' error: those take F(2, 3).
/// F(2, 3) (M = 2): the points 0, 1, -1 and infinity, G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
#[inline(always)]
fn kernel_transform_3<const M: usize>(a: v128, b: v128, c: v128) -> [v128; 6] {
    let ac = f32x4_add(a, c);
    if M == 2 {
        let half = splat(0.5);
        let zero = splat(0.0);
        return [a, f32x4_mul(f32x4_add(ac, b), half), f32x4_mul(f32x4_sub(ac, b), half), c, zero, zero];
    }
    let third = splat(1.0 / 3.0);
    let r3 = fmadd(fmadd(f32x4_mul(a, splat(-16.0 / 15.0)), b, splat(-8.0 / 15.0)), c, splat(-4.0 / 15.0));
    let r4 = fmadd(fmadd(f32x4_mul(a, splat(1.0 / 15.0)), b, splat(-2.0 / 15.0)), c, splat(4.0 / 15.0));
    [a, f32x4_mul(f32x4_add(ac, b), third), f32x4_mul(f32x4_sub(b, ac), third), r3, r4, c]
}

/// Transforms packed blocks [j0, j1) (their 3x3 taps) into `dst`, [N * N][in_c][8] per block.
#[inline(always)]
unsafe fn transform_weight_blocks<const M: usize>(packed: *const f32, in_c: usize, (j0, j1): (usize, usize), dst: *mut f32) {
    let n = M + 2;
    let bstride = block_floats(in_c);
    let tstride = transformed_block_floats(in_c, M);
    let row = transformed_row_floats(in_c);
    for j in j0..j1 {
        let taps = packed.add(j * bstride + NR);
        let out = dst.add((j - j0) * tstride);
        for i in 0..in_c {
            for h in 0..2 {
                let g: [v128; 9] = core::array::from_fn(|t| load(taps.add((t * in_c + i) * NR + 4 * h)));
                // t = G g (6x3), by columns; then u = t G^T (6x6), by rows.
                let cols: [[v128; 6]; 3] = core::array::from_fn(|q| kernel_transform_3::<M>(g[q], g[3 + q], g[6 + q]));
                for r in 0..n {
                    let u = kernel_transform_3::<M>(cols[0][r], cols[1][r], cols[2][r]);
                    for q in 0..n {
                        store(out.add((r * n + q) * row + i * NR + 4 * h), u[q]);
                    }
                }
            }
        }
    }
}

/// B^T applied to one column of N vectors (points as in `kernel_transform_3`); F(2, 3):
/// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
#[inline(always)]
fn input_transform_6<const M: usize>(d: [v128; 6]) -> [v128; 6] {
    if M == 2 {
        let zero = splat(0.0);
        let sub = f32x4_sub;
        return [sub(d[0], d[2]), f32x4_add(d[1], d[2]), sub(d[2], d[1]), sub(d[1], d[3]), zero, zero];
    }
    let (half, two, three_halves, five_halves) = (splat(0.5), splat(2.0), splat(1.5), splat(2.5));
    let d31 = f32x4_sub(d[3], d[1]);
    let d42 = f32x4_sub(d[4], d[2]);
    [
        fmadd(fmadd(f32x4_add(d[0], d[4]), d[2], splat(-2.0)), d31, three_halves),
        fmadd(fmadd(f32x4_sub(d[4], d[1]), d[2], half), d[3], five_halves),
        fmadd(fmadd(f32x4_add(d[4], d[1]), d[2], splat(-2.5)), d[3], half),
        fmadd(d42, d31, two),
        fmadd(d42, d31, splat(-0.5)),
        fmadd(fmadd(f32x4_add(d[1], d[5]), d[3], splat(-2.0)), d42, three_halves),
    ]
}

/// A^T applied to one column of N vectors (points as in `kernel_transform_3`); F(2, 3):
/// A^T = [1 1 1 0; 0 1 -1 -1].
#[inline(always)]
fn output_transform_6<const M: usize>(m: [v128; 6]) -> [v128; 4] {
    if M == 2 {
        let zero = splat(0.0);
        let m12 = f32x4_sub(m[1], m[2]);
        return [f32x4_add(f32x4_add(m[0], m[1]), m[2]), f32x4_sub(m12, m[3]), zero, zero];
    }
    let (p12, m12) = (f32x4_add(m[1], m[2]), f32x4_sub(m[1], m[2]));
    [
        f32x4_add(f32x4_add(m[0], p12), f32x4_add(m[3], m[4])),
        fmadd(fmadd(m12, m[3], splat(0.5)), m[4], splat(-2.0)),
        fmadd(fmadd(p12, m[3], splat(0.25)), m[4], splat(4.0)),
        f32x4_add(fmadd(fmadd(m12, m[3], splat(0.125)), m[4], splat(-8.0)), m[5]),
    ]
}

/// Input channels summed into one partial accumulator before it is added to the total. In the
/// Winograd domain the products are larger than the outputs they cancel down to, so a long
/// sequential sum over the input channels loses more than a direct convolution's does; partial
/// sums of 32 cut that rounding error about 2x (benchmarks/accuracy.mjs) for about 3% more adds.
/// Smaller blocks cut it further but cost time: 7% on these layers with blocks of 16, 16% with
/// blocks of 8 summed by 64 (README.md, Correctness).
const REDUCTION_BLOCK: usize = 32;

/// sum over the `in_c` channels of ind[p][i] * w[i][0..8], in blocks of REDUCTION_BLOCK channels.
#[inline(always)]
unsafe fn blocked_reduction(ind: &mut [*const f32; MR], in_c: usize, w: *const f32) -> [v128; 2 * MR] {
    let mut total = [splat(0.0); 2 * MR];
    let mut k0 = 0;
    while k0 < in_c {
        let k = REDUCTION_BLOCK.min(in_c - k0);
        let mut part = [splat(0.0); 2 * MR];
        igemm(&mut part, ind.as_ptr(), 1, k, w.add(k0 * NR));
        for (t, q) in total.iter_mut().zip(part) {
            *t = f32x4_add(*t, q);
        }
        for p in ind.iter_mut() {
            *p = p.add(k);
        }
        k0 += k;
    }
    total
}

struct TileGrid {
    tiles_h: usize,
    tiles_w: usize,
}

impl Conv2dArgs {
    fn tile_grid(&self) -> TileGrid {
        let m = self.winograd_tile as usize;
        TileGrid {
            tiles_h: (self.out_h as usize).div_ceil(m),
            tiles_w: (self.out_w as usize).div_ceil(m),
        }
    }
    /// Winograd tiles over the batch.
    pub fn winograd_tiles(&self) -> usize {
        winograd_tiles(self.n as usize, self.out_h as usize, self.out_w as usize, self.winograd_tile as usize)
    }
    /// Transformed positions per tile.
    pub fn winograd_positions(&self) -> usize {
        positions(self.winograd_tile as usize)
    }
    /// Groups of MR tiles, the pixel axis of the GEMM phase.
    pub fn winograd_tile_groups(&self) -> usize {
        self.winograd_tiles().div_ceil(MR)
    }
    /// Floats of one transformed-input buffer: all tiles, or one band.
    fn winograd_input_floats(&self) -> usize {
        winograd_input_floats(self.winograd_tiles(), self.winograd_band as usize, self.in_c as usize, self.winograd_tile as usize)
    }
    /// Floats of scratch each thread owns (`conv2d_winograd_thread_scratch_len`).
    fn winograd_thread_floats(&self) -> usize {
        let (tiles, band, tile) = (self.winograd_tiles(), self.winograd_band as usize, self.winograd_tile as usize);
        winograd_thread_floats(tiles, band, self.in_c as usize, self.out_c as usize, tile)
    }
}

/// Runs work item `item` of a Winograd convolution on thread `thread`: `first` items of
/// input transform then (items - first) GEMM items split `split` ways along weight blocks, or
/// with bands, one band per item.
#[inline(never)]
pub unsafe fn winograd_run_item(a: &Conv2dArgs, item: usize, items: usize, first: usize, split: usize, thread: usize) {
    let input_transform = if a.winograd_tile == 2 { input_transform_2 } else { input_transform_4 };
    let gemm_output = winograd_gemm_output;
    let scratch = a.scratch as *mut f32;
    let own = a.winograd_thread_floats();
    let band = a.winograd_band as usize;
    if band != 0 {
        let region = scratch.add(thread * own);
        let tiles = (item * band, ((item + 1) * band).min(a.winograd_tiles()));
        input_transform(a, tiles, region, tiles.0);
        let groups = (tiles.0 / MR, tiles.1.div_ceil(MR));
        let transformed = region.add(a.winograd_input_floats());
        gemm_output(a, groups, (0, a.channel_blocks()), region, tiles.0, transformed);
    } else if item < first {
        input_transform(a, part(a.winograd_tiles(), first, item, 1), scratch, 0);
    } else {
        let pm = (items - first) / split;
        let (im, ic) = ((item - first) / split, (item - first) % split);
        let transformed = scratch.add(a.winograd_input_floats() + thread * own);
        gemm_output(
            a,
            part(a.winograd_tile_groups(), pm, im, 1),
            part(a.channel_blocks(), split, ic, 1),
            scratch,
            0,
            transformed,
        );
    }
}

/// One function per phase and tile side, each optimised for speed (as V8 compiles best, build.sh):
/// with F(2, 3)'s transforms optimised for size, its layers ran 1.4-1.6x slower (56x56 64->64,
/// 128->32), most of it in the input transform.
#[inline(never)]
unsafe fn input_transform_4(a: &Conv2dArgs, tiles: (usize, usize), v: *mut f32, first: usize) {
    winograd_input_transform::<4>(a, tiles, v, first)
}
#[inline(never)]
unsafe fn input_transform_2(a: &Conv2dArgs, tiles: (usize, usize), v: *mut f32, first: usize) {
    winograd_input_transform::<2>(a, tiles, v, first)
}
#[inline(never)]
unsafe fn transform_weight_blocks_4(packed: *const f32, in_c: usize, blocks: (usize, usize), dst: *mut f32) {
    transform_weight_blocks::<4>(packed, in_c, blocks, dst)
}
#[inline(never)]
unsafe fn transform_weight_blocks_2(packed: *const f32, in_c: usize, blocks: (usize, usize), dst: *mut f32) {
    transform_weight_blocks::<2>(packed, in_c, blocks, dst)
}

/// Transforms the input tiles [tiles.0, tiles.1) into `v`, whose first row is tile `first`.
#[inline(always)]
unsafe fn winograd_input_transform<const M: usize>(a: &Conv2dArgs, tiles: (usize, usize), v: *mut f32, first: usize) {
    let (n, pos) = (M + 2, positions(M));
    let x = a.x as *const f32;
    let in_c = a.in_c as usize;
    let rf = row_floats(in_c);
    let (in_h, in_w) = (a.in_h as isize, a.in_w as isize);
    let grid = a.tile_grid();
    let per_image = grid.tiles_h * grid.tiles_w;
    for t in tiles.0..tiles.1 {
        let b = t / per_image;
        let r = t - b * per_image;
        let iy0 = ((r / grid.tiles_w) * M) as isize - a.pad_top as isize;
        let ix0 = ((r % grid.tiles_w) * M) as isize - a.pad_left as isize;
        let image = x.add(b * (in_h * in_w) as usize * in_c);
        // Offsets of the tile's N x N input pixels, or -1 outside the image (zero padding).
        let mut off = [-1isize; POS];
        for i in 0..n {
            let iy = iy0 + i as isize;
            for j in 0..n {
                let ix = ix0 + j as isize;
                if iy >= 0 && iy < in_h && ix >= 0 && ix < in_w {
                    off[i * n + j] = (iy * in_w + ix) * in_c as isize;
                }
            }
        }
        let out = v.add((t - first) * pos * rf);
        let mut c = 0;
        while c < in_c {
            let mut rows = [[splat(0.0); 6]; 6];
            for j in 0..n {
                let col: [v128; 6] = core::array::from_fn(|i| {
                    let o = if i < n { off[i * n + j] } else { -1 };
                    if o >= 0 { load(image.offset(o).add(c)) } else { splat(0.0) }
                });
                let tc = input_transform_6::<M>(col);
                for i in 0..n {
                    rows[i][j] = tc[i];
                }
            }
            for i in 0..n {
                let vr = input_transform_6::<M>(rows[i]);
                for j in 0..n {
                    store(out.add((i * n + j) * rf + c), vr[j]);
                }
            }
            c += 4;
        }
    }
}

/// y = act(winograd conv + bias (+ residual)) for tile groups [groups.0, groups.1) and weight
/// blocks [blocks.0, blocks.1), from transformed input `v` (whose first row is tile `first`),
/// transforming weight chunks into `transformed` (the running thread's own).
/// One function for both tile sides (`a.winograd_tile`); the output transforms are their own
/// functions (`output_tile_4`, `output_tile_2`).
#[inline(never)]
unsafe fn winograd_gemm_output(
    a: &Conv2dArgs,
    groups: (usize, usize),
    blocks: (usize, usize),
    v: *const f32,
    first: usize,
    transformed: *mut f32,
) {
    let side = a.winograd_tile as usize;
    let pos = positions(side);
    let packed = a.packed as *const f32;
    let in_c = a.in_c as usize;
    let out_h = a.out_h as usize;
    let rf = row_floats(in_c);
    let bstride = block_floats(in_c);
    let tstride = transformed_block_floats(in_c, side);
    let chunk = winograd_chunk_blocks(in_c, a.out_c as usize, a.winograd_input_floats(), side);
    let grid = a.tile_grid();
    let per_image = grid.tiles_h * grid.tiles_w;
    let total = a.winograd_tiles();
    let mut m = [[splat(0.0); 2 * MR]; POS];
    let mut ind = [core::ptr::null::<f32>(); MR];
    let mut tile = [0usize; MR];

    let mut j0 = blocks.0;
    while j0 < blocks.1 {
        let j1 = blocks.1.min(j0 + chunk);
        if side == 2 {
            transform_weight_blocks_2(packed, in_c, (j0, j1), transformed)
        } else {
            transform_weight_blocks_4(packed, in_c, (j0, j1), transformed)
        }
        for tg in groups.0..groups.1 {
            let t0 = tg * MR;
            let valid = MR.min(total - t0);
            for p in 0..MR {
                tile[p] = t0 + p.min(valid - 1);
            }
            for j in j0..j1 {
                let wt = transformed.add((j - j0) * tstride);
                for xi in 0..pos {
                    for p in 0..MR {
                        ind[p] = v.add(((tile[p] - first) * pos + xi) * rf);
                    }
                    m[xi] = blocked_reduction(&mut ind, in_c, wt.add(xi * transformed_row_floats(in_c)));
                }
                let c0 = j * NR;
                let wb = packed.add(j * bstride);
                let bias = [load(wb), load(wb.add(4))];
                for p in 0..valid {
                    let t = tile[p];
                    let b = t / per_image;
                    let r = t - b * per_image;
                    let at = (b * out_h + (r / grid.tiles_w) * side, (r % grid.tiles_w) * side);
                    if side == 2 {
                        output_tile_2(a, &m, p, bias, at, c0)
                    } else {
                        output_tile_4(a, &m, p, bias, at, c0)
                    }
                }
            }
        }
        j0 = j1;
    }
}

/// F(4, 3)'s output transform, out of line and optimised for size: inlined in the GEMM loop it
/// made narrow F(4, 3) layers (16-32 channels, short GEMMs) 5-10% faster, but cost 440 bytes of
/// the 25 kB gzip budget, which F(2, 3)'s input transform needs more (optimised for speed, its
/// layers take 1.5-1.6x their F(4, 3) time instead of 1.8-2.2x).
#[inline(never)]
#[optimize(size)]
unsafe fn output_tile_4(a: &Conv2dArgs, m: &[[v128; 2 * MR]; POS], p: usize, bias: [v128; 2], at: (usize, usize), c0: usize) {
    winograd_output_tile::<4>(a, m, p, bias, at, c0)
}
/// F(2, 3)'s output transform, out of line.
#[inline(never)]
unsafe fn output_tile_2(a: &Conv2dArgs, m: &[[v128; 2 * MR]; POS], p: usize, bias: [v128; 2], at: (usize, usize), c0: usize) {
    winograd_output_tile::<2>(a, m, p, bias, at, c0)
}

/// Output transform of tile `p` of the group whose Winograd-domain sums are `m`, plus `bias`,
/// stored at output pixel `at` (row over the batch, column), channels [c0, c0 + 8), with the
/// residual and the activation.
#[inline(always)]
unsafe fn winograd_output_tile<const M: usize>(
    a: &Conv2dArgs,
    m: &[[v128; 2 * MR]; POS],
    p: usize,
    bias: [v128; 2],
    (oy, ox): (usize, usize),
    c0: usize,
) {
    let n = M + 2;
    let mut out = [[splat(0.0); 2]; TILE * TILE];
    for h in 0..2 {
        // s = A^T M (M x N), then out = s A (M x M)
        let mut s = [[splat(0.0); 6]; TILE];
        for j in 0..n {
            let col = core::array::from_fn(|i| if i < n { m[i * n + j][2 * p + h] } else { splat(0.0) });
            let sc = output_transform_6::<M>(col);
            for i in 0..M {
                s[i][j] = sc[i];
            }
        }
        for i in 0..M {
            let o = output_transform_6::<M>(s[i]);
            for j in 0..M {
                out[i * TILE + j][h] = f32x4_add(o[j], bias[h]);
            }
        }
    }
    store_tile(a, &out, M, (oy, ox), c0);
}

/// Stores one output tile of side `m` (`out` laid out [TILE][TILE][2]) whose top-left pixel is
/// row `oy` (over the batch) and column `ox`, channels [c0, c0 + 8), with the residual and the
/// activation. One function for both tile sides, out of line and optimised for size: each
/// inlined copy of the activations costs about 0.8 kB of the 25 kB gzip budget, and at -O3 LLVM
/// copies the pixel loop once per activation, for a per-pixel branch that predicts well.
#[inline(never)]
#[optimize(size)]
unsafe fn store_tile(a: &Conv2dArgs, out: &[[v128; 2]; TILE * TILE], m: usize, (oy, ox): (usize, usize), c0: usize) {
    let y = a.y as *mut f32;
    let residual = a.residual as *const f32;
    let (out_h, out_w) = (a.out_h as usize, a.out_w as usize);
    let nc = NR.min(a.out_c as usize - c0);
    let rows = (out_h - oy % out_h).min(m);
    let cols = (out_w - ox).min(m);
    for i in 0..rows {
        for j in 0..cols {
            let off = ((oy + i) * out_w + ox + j) * a.y_stride as usize + c0;
            // One call site of the activation (each inlines all of them), for both halves.
            let mut v = out[i * TILE + j];
            for (h, x) in v.iter_mut().enumerate() {
                if !residual.is_null() {
                    *x = f32x4_add(*x, load(residual.add(off + 4 * h)));
                }
                *x = activation::apply(*x, a.activation);
            }
            store8_partial(y.add(off), v[0], v[1], nc);
        }
    }
}
