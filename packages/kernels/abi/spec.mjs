// The wasm kernel ABI, stated once: op codes, descriptor argument structs, activation codes and
// the packing constants both sides compute with. generate.mjs writes kernels-wasm/src/abi.rs
// (Rust consts and #[repr(C)] structs) and packages/kernels/src/wasm/abi.ts (TS consts and one
// descriptor writer per op) from it; src/wasm/abi.test.ts fails when they are not current.
// Field types: 'ptr' (a byte address in wasm memory, 0 for none), 'u32', 'f32'.

/** Bumped whenever an export's signature, a descriptor or a packed layout changes. */
export const ABI_VERSION = 7;

/** u32 words per descriptor: a header of ARGS_WORD words, then the op's arguments. */
export const DESC_WORDS = 32;
export const ARGS_WORD = 4;

/** Packing constants the kernels and the TS packer/planner share (name, value, Rust type, doc). */
export const CONSTANTS = [
  ['NR', 8, 'usize', 'Output channels per convolution microkernel tile and per packed weight block.'],
  ['MR', 4, 'usize', 'Output pixels per convolution microkernel tile (and tiles per Winograd GEMM tile group).'],
  ['LINEAR_ROWS', 16, 'usize', 'Output rows per packed block of a fully connected layer.'],
  ['WINOGRAD_TILE', 4, 'usize', 'Winograd F(4x4, 3x3): output pixels per tile side.'],
  ['WINOGRAD_POSITIONS', 36, 'usize', 'Winograd F(4x4, 3x3): transformed positions per tile (6 x 6).'],
  ['WINOGRAD_MIN_CHUNK_FLOATS', 32 * 1024, 'usize', 'Transformed weight blocks per pass: at least this budget of floats (winograd.rs).'],
  ['WINOGRAD_MAX_CHUNK_FLOATS', 144 * 1024, 'usize', 'Transformed weight blocks per pass: at most this budget of floats (winograd.rs).'],
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
];
