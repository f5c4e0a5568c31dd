// The lowered, backend-facing form of a network: a flat list of fused ops over NHWC tensors
// whose shapes and arena offsets are fixed at compile time. This is the whole backend contract.

/** Activations a kernel may apply in its epilogue. Codes are shared with the wasm ABI. */
export const ACTIVATIONS = [
  'none',
  'relu',
  'relu6',
  'tanh',
  'sigmoid',
  'silu',
  'hardswish',
  'hardsigmoid',
  'gelu',
] as const;
export type Activation = (typeof ACTIVATIONS)[number];
export function activationCode(a: Activation): number {
  return ACTIVATIONS.indexOf(a);
}

/**
 * A tensor living in the activation arena. Layout is always NHWC (channels-last);
 * 2-D tensors (after flatten) are [n, 1, 1, c].
 */
export interface Slot {
  readonly id: number;
  /** [n, h, w, c] */
  readonly shape: readonly [number, number, number, number];
  /** offset in float32 elements from the arena start */
  readonly offset: number;
  /** number of float32 elements */
  readonly size: number;
  /**
   * Set on a channel view: this slot is channels [offset - base.offset, + shape[3]) of `base`
   * (same n, h, w), read or written in place with a pixel stride of base.shape[3] floats. Views
   * are how a concatenation costs no copy: its producers write their channel range of the output
   * (passes/channel-views.ts). Only the op fields CHANNEL_VIEW_FIELDS names take one.
   */
  readonly base?: Slot;
  /**
   * Set on an int8 plan's quantised tensors: the slot holds uint8 values q with real value
   * scale * (q - zeroPoint), one byte per element in a byte arena of its own (same offsets,
   * counted in elements). Only the fields Q8_FIELDS names hold one (quantize/plan.ts).
   */
  readonly quant?: ActivationQuant;
}

/** Per-tensor asymmetric uint8 quantisation of an activation: real = scale * (q - zeroPoint), q in [0, 255]. */
export interface ActivationQuant {
  /** float32, > 0 */
  readonly scale: number;
  /** integer in [0, 255] */
  readonly zeroPoint: number;
}

/**
 * torch's adaptive pooling cell `o` of `outSize` along an axis of `inSize`: [floor(o·in/out),
 * ceil((o+1)·in/out)), as [start, end). Every backend and the trainer cut their cells with it.
 */
export function adaptiveCell(o: number, inSize: number, outSize: number): [number, number] {
  return [Math.floor((o * inSize) / outSize), Math.ceil(((o + 1) * inSize) / outSize)];
}

/** Floats from one pixel's channels to the next: the base's width for a channel view, else shape[3]. */
export function pixelStride(s: Slot): number {
  return s.base ? s.base.shape[3] : s.shape[3];
}

/** Floats from the slot's offset to one past its last element (a view's span crosses the base's other channels). */
export function slotSpan(s: Slot): number {
  return s.base ? (s.size / s.shape[3] - 1) * s.base.shape[3] + s.shape[3] : s.size;
}

export interface Conv2dOp {
  readonly kind: 'conv2d';
  /** the graph module it was lowered from (torchvision's state_dict prefix); int8 parameters are keyed by it */
  readonly name?: string;
  readonly input: Slot;
  readonly output: Slot;
  /** added after bias and before the activation (a fused residual connection) */
  readonly residual?: Slot;
  /** torchvision layout [outC, inC / groups, kh, kw], batch norm already folded in */
  readonly weight: Float32Array;
  /** [outC] (zeros when the layer had none) */
  readonly bias: Float32Array;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  /** [top, left]; bottom and right padding follow from the output shape */
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
  readonly activation: Activation;
}

/** y = act(x W^T + b (+ residual)), x: [n, 1, 1, inF] viewed as [n, inF]. */
export interface LinearOp {
  readonly kind: 'linear';
  readonly name?: string;
  readonly input: Slot;
  readonly output: Slot;
  readonly residual?: Slot;
  /** [outF, inF], columns already permuted to the NHWC flatten order of the input */
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly activation: Activation;
}

export interface Pool2dOp {
  readonly kind: 'pool2d';
  readonly mode: 'max' | 'avg';
  readonly input: Slot;
  readonly output: Slot;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  /** [top, left]; padded cells are -inf for max pooling */
  readonly padding: readonly [number, number];
  /** avg only: whether padded cells count in the divisor (PyTorch's count_include_pad) */
  readonly countIncludePad: boolean;
  readonly activation: Activation;
}

/** PyTorch's AdaptiveAvgPool2d: cell i spans [floor(i*H/oh), ceil((i+1)*H/oh)). */
export interface AdaptiveAvgPool2dOp {
  readonly kind: 'adaptiveAvgPool2d';
  readonly input: Slot;
  readonly output: Slot;
}

export interface AddOp {
  readonly kind: 'add';
  readonly a: Slot;
  readonly b: Slot;
  readonly output: Slot;
  readonly activation: Activation;
}

/** y = act(x * scale[c] + shift[c]); a batch norm that could not be folded. */
export interface ChannelAffineOp {
  readonly kind: 'channelAffine';
  readonly input: Slot;
  readonly output: Slot;
  readonly scale: Float32Array;
  readonly shift: Float32Array;
  readonly activation: Activation;
}

export interface ActivationOp {
  readonly kind: 'activation';
  readonly input: Slot;
  readonly output: Slot;
  readonly activation: Activation;
}

/** Copies the NHWC input into channels [channelOffset, channelOffset + inC) of the output. */
export interface CopyChannelsOp {
  readonly kind: 'copyChannels';
  readonly input: Slot;
  readonly output: Slot;
  readonly channelOffset: number;
}

/** y[n, h, w, c] = act(x[n, h, w, c] * scale[n, 0, 0, c]): squeeze-and-excitation gating. */
export interface ScaleChannelsOp {
  readonly kind: 'scaleChannels';
  readonly input: Slot;
  /** [n, 1, 1, c] */
  readonly scale: Slot;
  readonly output: Slot;
}

/** LayerNorm over the channels of each pixel (ConvNeXt's LayerNorm2d), with affine weight and bias. */
export interface LayerNormOp {
  readonly kind: 'layerNorm';
  readonly input: Slot;
  readonly output: Slot;
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly eps: number;
  readonly activation: Activation;
}

/**
 * Local response normalisation across channels, as torch.nn.LocalResponseNorm:
 * y_c = x_c / (k + alpha / size * sum_{c' = c - floor(size/2)}^{c + floor((size-1)/2)} x_c'^2)^beta
 */
export interface LocalResponseNormOp {
  readonly kind: 'localResponseNorm';
  readonly input: Slot;
  readonly output: Slot;
  readonly size: number;
  readonly alpha: number;
  readonly beta: number;
  readonly k: number;
}

/** The parameters of a per-tensor affine fake quantisation (torch.fake_quantize_per_tensor_affine). */
export interface FakeQuantizeParams {
  /** quantisation step, > 0 (torch takes it as float32) */
  readonly scale: number;
  /** the integer that represents 0, quantMin <= zeroPoint <= quantMax */
  readonly zeroPoint: number;
  /** integer range of the quantised values, e.g. -128..127 (int8) or 0..255 (uint8) */
  readonly quantMin: number;
  readonly quantMax: number;
}

/**
 * What is wrong with fake quantisation parameters, or undefined when they are valid: torch's
 * rule (integers quantMin <= zeroPoint <= quantMax), plus a positive float32 scale with a finite
 * reciprocal and |quantMin|, |quantMax| <= 2^24 (exact in float32 kernels).
 */
export function fakeQuantizeProblem({ scale, zeroPoint: z, quantMin: lo, quantMax: hi }: FakeQuantizeParams): string | undefined {
  const int = (v: number) => Number.isInteger(v) && Math.abs(v) <= 2 ** 24;
  const f = Math.fround(scale);
  if (f > 0 && Math.fround(1 / f) < Infinity && f < Infinity && int(lo) && int(hi) && lo < hi && int(z) && z >= lo && z <= hi) return undefined;
  return `expected a positive float32 scale and integers quantMin <= zeroPoint <= quantMax, quantMin < quantMax, within +-2^24; got scale ${scale}, zeroPoint ${z}, quantMin ${lo}, quantMax ${hi}`;
}

/**
 * The float32 step and its reciprocal every backend computes with, as torch does
 * (fake_quantize_tensor_cachemask_kernel: `inv_scale = 1.0f / scale`, then x * inv_scale).
 */
export function fakeQuantizeScales(p: FakeQuantizeParams): { scale: number; invScale: number } {
  const scale = Math.fround(p.scale);
  return { scale, invScale: Math.fround(1 / scale) };
}

/**
 * Per-tensor affine fake quantisation, as torch.fake_quantize_per_tensor_affine:
 * y = (clamp(round(x * invScale) + zeroPoint, quantMin, quantMax) - zeroPoint) * scale in float32,
 * rounding half to even (`fakeQuantizeScales`). NaN stays NaN; +-Infinity clamps to the range's ends.
 */
export interface FakeQuantizeOp extends FakeQuantizeParams {
  readonly kind: 'fakeQuantize';
  readonly input: Slot;
  readonly output: Slot;
}

/** q = clamp(round_half_even(x / s) + z, 0, 255): a float tensor enters the int8 part of a plan. */
export interface QuantizeOp {
  readonly kind: 'quantize';
  readonly input: Slot;
  /** quantised */
  readonly output: Slot;
}

/** x = s * (q - z): an int8 tensor leaves for a float op or a plan output. */
export interface DequantizeOp {
  readonly kind: 'dequantize';
  /** quantised */
  readonly input: Slot;
  readonly output: Slot;
}

/** The op kinds of int8 plans (quantize/plan.ts); a backend without int8 kernels has none of them. */
export type Int8OpKind = 'quantize' | 'dequantize' | 'q8conv2d' | 'q8linear' | 'q8pool2d' | 'q8adaptiveAvgPool2d' | 'q8lookup' | 'q8add';
/** The op kinds of float plans, which every backend runs. */
export type FloatOpKind = Exclude<PlanOp['kind'], Int8OpKind>;

/** The activations an int8 kernel applies as a clamp of its quantised output. */
export const Q8_ACTIVATIONS = ['none', 'relu', 'relu6'] as const satisfies readonly Activation[];
export type Q8Activation = (typeof Q8_ACTIVATIONS)[number];

/** Int8 weights of a convolution or linear layer, per output channel and symmetric (zero point 0). */
export interface Q8Weights {
  /** same layout as the float op's weight */
  readonly weight: Int8Array;
  /** [outC] float32 > 0: real weight = weightScale[c] * weight[c, ...] */
  readonly weightScale: Float32Array;
  /** [outC]: round_half_even(b / (inputScale * weightScale[c])) */
  readonly bias: Int32Array;
}

/**
 * An int8 convolution (input, output and residual quantised): int32 accumulation, bias, residual
 * and activation in the requantising epilogue (the semantics: q8-spec in the kernels' docs).
 */
export interface Q8Conv2dOp extends Q8Weights {
  readonly kind: 'q8conv2d';
  /** the graph module it came from; its parameters are stored under this name */
  readonly name: string;
  readonly input: Slot;
  readonly output: Slot;
  readonly residual?: Slot;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
  readonly activation: Q8Activation;
}

export interface Q8LinearOp extends Q8Weights {
  readonly kind: 'q8linear';
  readonly name: string;
  readonly input: Slot;
  readonly output: Slot;
  readonly residual?: Slot;
  readonly activation: Q8Activation;
}

/** Pooling of a quantised tensor; output and input share scale and zero point. Avg rounds its mean half to even. */
export interface Q8Pool2dOp {
  readonly kind: 'q8pool2d';
  readonly mode: 'max' | 'avg';
  readonly input: Slot;
  readonly output: Slot;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly countIncludePad: boolean;
}

/** AdaptiveAvgPool2d of a quantised tensor (same quantisation out as in), mean rounded half to even. */
export interface Q8AdaptiveAvgPool2dOp {
  readonly kind: 'q8adaptiveAvgPool2d';
  readonly input: Slot;
  readonly output: Slot;
}

/** y = clamp(a + b) of two quantised tensors with their own parameters (a residual add that was not fused). */
export interface Q8AddOp {
  readonly kind: 'q8add';
  readonly a: Slot;
  readonly b: Slot;
  readonly output: Slot;
  readonly activation: Q8Activation;
}

/** y = table[x]: any elementwise function of one quantised tensor (tanh, sigmoid, hardswish...), 256 entries. */
export interface Q8LookupOp {
  readonly kind: 'q8lookup';
  readonly input: Slot;
  readonly output: Slot;
  /** the function it tabulates (for summaries and errors) */
  readonly activation: Activation;
  readonly table: Uint8Array;
}

export type PlanOp =
  | QuantizeOp
  | DequantizeOp
  | Q8Conv2dOp
  | Q8LinearOp
  | Q8Pool2dOp
  | Q8AdaptiveAvgPool2dOp
  | Q8LookupOp
  | Q8AddOp
  | ScaleChannelsOp
  | LayerNormOp
  | LocalResponseNormOp
  | Conv2dOp
  | LinearOp
  | Pool2dOp
  | AdaptiveAvgPool2dOp
  | AddOp
  | ChannelAffineOp
  | ActivationOp
  | CopyChannelsOp
  | FakeQuantizeOp;

/**
 * The arena slots each op kind reads or writes, by field name: the one place that says so
 * (validation, liveness, scratch placement and the compile passes all read it). `output` is
 * the only slot an op writes; `residual` is optional.
 */
export const OP_SLOTS = {
  conv2d: ['input', 'output', 'residual'],
  linear: ['input', 'output', 'residual'],
  pool2d: ['input', 'output'],
  adaptiveAvgPool2d: ['input', 'output'],
  add: ['a', 'b', 'output'],
  channelAffine: ['input', 'output'],
  activation: ['input', 'output'],
  copyChannels: ['input', 'output'],
  scaleChannels: ['input', 'output', 'scale'],
  layerNorm: ['input', 'output'],
  localResponseNorm: ['input', 'output'],
  fakeQuantize: ['input', 'output'],
} as const satisfies { readonly [K in FloatOpKind]: readonly (keyof Extract<PlanOp, { kind: K }>)[] };

/**
 * OP_SLOTS of the int8 op kinds, kept apart so that apps that never quantise do not bundle them;
 * validatePlan reads both (opSlotEntries with ALL_OP_SLOTS).
 */
export const INT8_OP_SLOTS = {
  quantize: ['input', 'output'],
  dequantize: ['input', 'output'],
  q8conv2d: ['input', 'output', 'residual'],
  q8linear: ['input', 'output', 'residual'],
  q8pool2d: ['input', 'output'],
  q8adaptiveAvgPool2d: ['input', 'output'],
  q8lookup: ['input', 'output'],
  q8add: ['a', 'b', 'output'],
} as const satisfies { readonly [K in Int8OpKind]: readonly (keyof Extract<PlanOp, { kind: K }>)[] };
type AllOpSlots = typeof OP_SLOTS & typeof INT8_OP_SLOTS;
export type SlotField<K extends PlanOp['kind'] = PlanOp['kind']> = AllOpSlots[K][number];

/**
 * The slot fields that hold quantised uint8 tensors (Slot.quant set), by op kind; every other
 * slot field of every op holds float32. validatePlan checks each slot against this table.
 */
export const Q8_FIELDS: { readonly [K in PlanOp['kind']]?: readonly SlotField<K>[] } = {
  quantize: ['output'],
  dequantize: ['input'],
  q8conv2d: ['input', 'output', 'residual'],
  q8linear: ['input', 'output', 'residual'],
  q8pool2d: ['input', 'output'],
  q8adaptiveAvgPool2d: ['input', 'output'],
  q8lookup: ['input', 'output'],
  q8add: ['a', 'b', 'output'],
};

/** Whether `field` of an op of this kind holds a quantised tensor (see Q8_FIELDS). */
export function holdsQuantised(kind: PlanOp['kind'], field: string): boolean {
  return (Q8_FIELDS[kind] as readonly string[] | undefined)?.includes(field) ?? false;
}

/**
 * The op fields that may be a channel view (Slot.base), on every backend: producers that store
 * into a channel range of a wider output, and consumers that read one in place. A conv2d writes
 * a view only when dense (groups 1) and without a fused residual, which would be read densely.
 */
export const CHANNEL_VIEW_FIELDS: { readonly [K in PlanOp['kind']]?: readonly SlotField<K>[] } = {
  conv2d: ['output'],
  pool2d: ['output'],
  channelAffine: ['input'],
  copyChannels: ['input', 'output'],
};

/** Whether `field` of `op` may be a channel view (see CHANNEL_VIEW_FIELDS). */
export function acceptsChannelView(op: { readonly kind: PlanOp['kind']; readonly groups?: number; readonly residual?: unknown }, field: string): boolean {
  if (op.kind === 'conv2d' && (op.groups !== 1 || op.residual !== undefined)) return false;
  return (CHANNEL_VIEW_FIELDS[op.kind] as readonly string[] | undefined)?.includes(field) ?? false;
}

/**
 * The slots an op reads or writes, by field name, in OP_SLOTS order (an absent residual left out);
 * `table` INT8_OP_SLOTS too where int8 ops may come (validatePlan).
 */
export function opSlotEntries(op: PlanOp, table: { readonly [kind: string]: readonly string[] | undefined } = OP_SLOTS): [SlotField, Slot][] {
  const entries: [SlotField, Slot][] = [];
  // an int8 op with the float table: none (the backend then refuses the op by name)
  for (const field of (table[op.kind] ?? []) as readonly SlotField[]) {
    const slot = (op as unknown as Record<string, Slot>)[field];
    if (slot !== undefined || field !== 'residual') entries.push([field, slot]);
  }
  return entries;
}

export interface ExecutionPlan {
  readonly batch: number;
  readonly input: Slot;
  /** requested outputs, in order */
  readonly outputs: readonly Slot[];
  readonly ops: readonly PlanOp[];
  /** float32 elements the arena must hold for the slots */
  readonly arenaSize: number;
  /**
   * The op-local scratch the backend asked for (Backend.scratchFloats), placed by compilePlan
   * in arena floats that no slot live at that op occupies. Absent until then.
   */
  readonly scratch?: ScratchPlacement;
}

/** Where each op's scratch lies in the arena, and the arena size that holds it. */
export interface ScratchPlacement {
  /** per op: floats of scratch (0: none) */
  readonly floats: readonly number[];
  /** per op: offset in floats from the arena start, -1 where the op has none */
  readonly offsets: readonly number[];
  /** floats the arena must hold with the scratch: plan.arenaSize, or more where some found no room inside */
  readonly arenaSize: number;
}

/**
 * A backend turns a plan into an executable once (packing weights, allocating buffers,
 * building pipelines) and then runs it many times. Everything is asynchronous so that a
 * GPU backend fits the same shape.
 */
export interface Backend {
  readonly name: string;
  /**
   * Optional: the floats of scratch each op needs while it runs (0: none), given the arena
   * floats free at each op (`free[i]`: what fits without growing the arena). compilePlan
   * places them and hands compile() a plan with `scratch` set.
   */
  scratchFloats?(plan: ExecutionPlan, free: readonly number[]): Promise<readonly number[]>;
  compile(plan: ExecutionPlan): Promise<Executable>;
}

export interface Executable {
  /**
   * input in NHWC order, length plan.input.size; returns one NHWC array per plan output. run()
   * reads `input` before it returns its promise: the caller may refill the buffer at once (the
   * model runner reuses one for every call).
   */
  run(input: Float32Array): Promise<Float32Array[]>;
  /** bytes held for packed weights */
  readonly weightBytes: number;
  /** bytes held for the activation arena */
  readonly arenaBytes: number;
  dispose(): void;
}
