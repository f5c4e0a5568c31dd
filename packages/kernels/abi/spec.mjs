// The wasm kernel ABI, stated once: op codes, descriptor argument structs, activation codes and
// the packing constants both sides compute with. generate.mjs writes kernels-wasm/src/abi.rs
// (Rust consts and #[repr(C)] structs) and packages/kernels/src/wasm/abi.ts (TS consts and one
// descriptor writer per op) from it; src/wasm/abi.test.ts fails when they are not current.
// Field types: 'ptr' (a byte address in wasm memory, 0 for none), 'u32', 'f32'.

/** Bumped whenever an export's signature, a descriptor or a packed layout changes. */
export const ABI_VERSION = 11;

/** u32 words per descriptor: a header of ARGS_WORD words, then the op's arguments. */
export const DESC_WORDS = 32;
export const ARGS_WORD = 4;

/** Packing constants the kernels and the TS packer/planner share (name, value, Rust type, doc). */
export const CONSTANTS = [
  ['NR', 8, 'usize', 'Output channels per convolution microkernel tile and per packed weight block.'],
  ['MR', 4, 'usize', 'Output pixels per convolution microkernel tile (and tiles per Winograd GEMM tile group).'],
  ['LINEAR_ROWS', 16, 'usize', 'Output rows per packed block of a fully connected layer.'],
  ['WINOGRAD_TILE', 4, 'usize', 'Winograd: output pixels per tile side of the largest tile, F(4x4, 3x3) (a layer may take F(2x2, 3x3)).'],
  ['WINOGRAD_POSITIONS', 36, 'usize', 'Winograd: transformed positions per tile of the largest tile (6 x 6).'],
  ['WINOGRAD_MIN_CHUNK_FLOATS', 32 * 1024, 'usize', 'Transformed weight blocks per pass: at least this budget of floats (`winograd_chunk_blocks`).'],
  ['WINOGRAD_MAX_CHUNK_FLOATS', 144 * 1024, 'usize', 'Transformed weight blocks per pass: at most this budget of floats (`winograd_chunk_blocks`).'],
];

/**
 * Sizes and layouts both sides compute, each stated once: [name, parameters, doc, expression].
 * The packers and kernels (Rust) lay memory out by them and the planner (TS) reserves it by
 * them, so the two cannot disagree. An expression is unsigned integer arithmetic over its
 * parameters, CONSTANTS, integers and earlier formulas: + - * and / (division rounding down),
 * min(a, b), max(a, b), clamp(x, lo, hi) (lo <= hi), ceil_div(a, b), align_up(a, b) (a rounded
 * up to a multiple of b) and if_zero(x, a, b) (a when x is 0, else b). Rust gets inline usize
 * functions, TS number functions (camelCase).
 */
export const FORMULAS = [
  ['conv_block_floats', ['in_c_g', 'taps'],
    'Floats of one packed convolution weight block of NR output channels: [bias: NR][tap][in_c_g][NR] (conv.rs; Winograd keeps it, 9 taps).',
    'NR + taps * in_c_g * NR'],
  ['conv_packed_floats', ['out_c', 'in_c_g', 'taps', 'groups'],
    'Floats `conv2d_pack_weights` (and, 9 taps, `conv2d_winograd_pack_weights`) writes: blocks of NR output channels, restarting at each group.',
    'groups * ceil_div(out_c / groups, NR) * conv_block_floats(in_c_g, taps)'],
  ['dwconv_packed_floats', ['channels', 'taps'],
    'Floats `dwconv2d_pack_weights` writes: per block of NR channels, [bias: NR][tap][NR].',
    'ceil_div(channels, NR) * (NR + taps * NR)'],
  ['linear_block_floats', ['in_f'],
    'Floats of one packed block of LINEAR_ROWS rows of a fully connected layer: [in_f / 4][LINEAR_ROWS][4], inputs rounded up to 4.',
    'align_up(in_f, 4) * LINEAR_ROWS'],
  ['linear_packed_floats', ['out_f', 'in_f'],
    'Floats `linear_pack_weights` writes for an [out_f, in_f] weight.',
    'ceil_div(out_f, LINEAR_ROWS) * linear_block_floats(in_f)'],
  ['winograd_tiles', ['n', 'out_h', 'out_w', 'tile'],
    'Winograd output tiles of side `tile` (4 or 2) over the batch.',
    'n * ceil_div(out_h, tile) * ceil_div(out_w, tile)'],
  ['winograd_positions', ['tile'],
    'Transformed positions per tile of side `tile`: (tile + 2)^2.',
    '(tile + 2) * (tile + 2)'],
  ['winograd_row_floats', ['in_c'],
    'Floats of one transformed-input row (one tile, one position): in_c rounded up to 4.',
    'align_up(in_c, 4)'],
  ['winograd_tile_floats', ['in_c', 'tile'],
    'Floats of one tile of transformed input ([position][row]).',
    'winograd_positions(tile) * winograd_row_floats(in_c)'],
  ['winograd_input_floats', ['tiles', 'band', 'in_c', 'tile'],
    'Floats of one transformed-input buffer: all `tiles` (band 0, shared) or one band of `band` tiles (per thread).',
    'if_zero(band, tiles, band) * winograd_tile_floats(in_c, tile)'],
  ['winograd_transformed_row_floats', ['in_c'],
    "Floats from one position's transformed weights to the next: in_c x NR plus one cache line, so that the 36 rows the transform writes at once never share a cache set.",
    'in_c * NR + 16'],
  ['winograd_transformed_block_floats', ['in_c', 'tile'],
    'Floats of one transformed weight block ([position][in_c][NR] + padding).',
    'winograd_positions(tile) * winograd_transformed_row_floats(in_c)'],
  ['winograd_chunk_blocks', ['in_c', 'out_c', 'input_floats', 'tile'],
    'Transformed weight blocks per pass over a transformed input of `input_floats`: as many as fit in an eighth of it, within the chunk bounds, at least one and at most all.',
    'clamp(clamp(input_floats / 8, WINOGRAD_MIN_CHUNK_FLOATS, WINOGRAD_MAX_CHUNK_FLOATS) / winograd_transformed_block_floats(in_c, tile), 1, max(ceil_div(out_c, NR), 1))'],
  ['winograd_thread_floats', ['tiles', 'band', 'in_c', 'out_c', 'tile'],
    "Floats of Winograd scratch each thread owns (thread t's part starts t times this far in, after the shared input when band is 0): its band's transformed input (bands only), then its chunk of transformed weights.",
    'if_zero(band, 0, winograd_input_floats(tiles, band, in_c, tile)) + winograd_chunk_blocks(in_c, out_c, winograd_input_floats(tiles, band, in_c, tile), tile) * winograd_transformed_block_floats(in_c, tile)'],
];

/** Epilogue activations, in code order: must equal @cnn/core's ACTIVATIONS (checked in abi.test.ts). */
export const ACTIVATIONS = ['none', 'relu', 'relu6', 'tanh', 'sigmoid', 'silu', 'hardswish', 'hardsigmoid', 'gelu'];

const geometry = (channels) => [
  ['n', 'u32'], ['in_h', 'u32'], ['in_w', 'u32'], [channels, 'u32'], ['out_h', 'u32'], ['out_w', 'u32'],
];
const window = [
  ['kernel_h', 'u32'], ['kernel_w', 'u32'], ['stride_h', 'u32'], ['stride_w', 'u32'], ['pad_top', 'u32'], ['pad_left', 'u32'],
];

/** Descriptor argument structs: [field, type, doc?] in memory order. */
export const STRUCTS = {
  Conv2dArgs: [
    ['x', 'ptr'], ['y', 'ptr'], ['residual', 'ptr', '0: none'], ['packed', 'ptr'],
    ['zeros', 'ptr', 'kernel_w * in_c zero floats when groups == 1, else in_c / groups (see `fill_row_table`)'],
    ...geometry('in_c'), ['out_c', 'u32'], ...window, ['dilation_h', 'u32'], ['dilation_w', 'u32'],
    ['groups', 'u32'], ['activation', 'u32'],
    ['scratch', 'ptr', '0: direct convolution. Else the Winograd scratch buffer (winograd.rs), and `packed` holds Winograd-packed weights.'],
    ['winograd_band', 'u32', 'Winograd: tiles per band, or 0 for the two-phase split (winograd.rs).'],
    ['winograd_tile', 'u32', 'Winograd: output pixels per tile side, 4 for F(4x4, 3x3) or 2 for the more accurate F(2x2, 3x3) (winograd.rs).'],
    ['y_stride', 'u32', 'floats between output pixels: out_c, or more when y is a channel view (then also the residual\'s, which core leaves out)'],
  ],
  DwConv2dArgs: [
    ['x', 'ptr'], ['y', 'ptr'], ['residual', 'ptr', '0: none'], ['packed', 'ptr'],
    ...geometry('channels'), ...window, ['dilation_h', 'u32'], ['dilation_w', 'u32'], ['activation', 'u32'],
  ],
  LinearArgs: [
    ['x', 'ptr'], ['y', 'ptr'], ['residual', 'ptr', '0: none'], ['weight', 'ptr'], ['bias', 'ptr'],
    ['n', 'u32'], ['in_f', 'u32'], ['out_f', 'u32'], ['activation', 'u32'],
  ],
  Pool2dArgs: [
    ['x', 'ptr'], ['y', 'ptr'], ...geometry('channels'), ...window,
    ['count_include_pad', 'u32', "average pooling only: PyTorch's count_include_pad"], ['activation', 'u32'],
    ['y_stride', 'u32', 'floats between output pixels: channels, or more when y is a channel view'],
  ],
  AdaptiveAvgPool2dArgs: [['x', 'ptr'], ['y', 'ptr'], ...geometry('channels')],
  AddArgs: [['a', 'ptr'], ['b', 'ptr'], ['y', 'ptr'], ['len', 'u32'], ['activation', 'u32']],
  ChannelAffineArgs: [
    ['x', 'ptr'], ['y', 'ptr'], ['scale', 'ptr'], ['shift', 'ptr'], ['pixels', 'u32'], ['channels', 'u32'], ['activation', 'u32'],
    ['x_stride', 'u32', 'floats between input pixels: channels, or more when x is a channel view'],
  ],
  ActivationArgs: [['x', 'ptr'], ['y', 'ptr'], ['len', 'u32'], ['activation', 'u32']],
  CopyChannelsArgs: [
    ['x', 'ptr'], ['y', 'ptr'], ['pixels', 'u32'], ['in_c', 'u32'], ['out_c', 'u32', 'floats between output pixels (the output\'s pixel stride)'],
    ['channel_offset', 'u32'], ['x_stride', 'u32', 'floats between input pixels: in_c, or more when x is a channel view'],
  ],
  ScaleChannelsArgs: [['x', 'ptr'], ['scale', 'ptr'], ['y', 'ptr'], ['n', 'u32'], ['pixels', 'u32'], ['channels', 'u32']],
  LayerNormArgs: [
    ['x', 'ptr'], ['y', 'ptr'], ['gamma', 'ptr'], ['beta', 'ptr'], ['pixels', 'u32'], ['channels', 'u32'], ['eps', 'f32'], ['activation', 'u32'],
  ],
  LocalResponseNormArgs: [
    ['x', 'ptr'], ['y', 'ptr'], ['pixels', 'u32'], ['channels', 'u32'], ['size', 'u32'], ['alpha', 'f32'], ['beta', 'f32'], ['k', 'f32'],
  ],
  FakeQuantizeArgs: [
    ['x', 'ptr'], ['y', 'ptr'], ['len', 'u32'],
    ['inv_scale', 'f32', "the float32 1 / scale (@cnn/core's fakeQuantizeScales)"], ['scale', 'f32'],
    ['zero_point', 'f32'], ['quant_min', 'f32'], ['quant_max', 'f32'],
  ],
};

/** Op codes: [name, code, struct]. The Rust constant is OP_<NAME IN CAPITALS>. */
export const OPS = [
  ['conv2d', 1, 'Conv2dArgs'],
  ['dwconv2d', 2, 'DwConv2dArgs'],
  ['linear', 3, 'LinearArgs'],
  ['maxpool2d', 4, 'Pool2dArgs'],
  ['avgpool2d', 5, 'Pool2dArgs'],
  ['adaptive_avgpool2d', 6, 'AdaptiveAvgPool2dArgs'],
  ['add', 7, 'AddArgs'],
  ['channel_affine', 8, 'ChannelAffineArgs'],
  ['activation', 9, 'ActivationArgs'],
  ['copy_channels', 10, 'CopyChannelsArgs'],
  ['scale_channels', 11, 'ScaleChannelsArgs'],
  ['layer_norm', 12, 'LayerNormArgs'],
  ['local_response_norm', 13, 'LocalResponseNormArgs'],
  ['fake_quantize', 14, 'FakeQuantizeArgs'],
];
