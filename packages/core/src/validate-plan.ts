// Checks a plan against the backend contract before a backend touches it, so no kernel ever
// sees inconsistent shapes; errors name the op, the field, what was expected and what came.
// Every backend calls this once in compile(); backend-specific limits are checked there too.
import { ACTIVATIONS, Q8_ACTIVATIONS, acceptsChannelView, fakeQuantizeProblem, holdsQuantised, opSlotEntries, OP_SLOTS, INT8_OP_SLOTS, type ExecutionPlan, type PlanOp, type Q8Weights, type Slot } from './plan.js';
import { ShapeError } from './errors.js';
import { markPlanChecked } from './plan-check.js';

function fail(where: string, message: string): never {
  throw new ShapeError(`${where}: ${message}`);
}

const isCount = (v: number, min: number) => Number.isInteger(v) && v >= min;

function checkSlot(where: string, name: string, s: Slot, arenaSize: number): void {
  if (!s || !Array.isArray(s.shape) || s.shape.length !== 4 || !s.shape.every((d) => isCount(d, 1))) {
    fail(where, `${name} shape must be four positive integers [n, h, w, c], got ${JSON.stringify(s?.shape)}`);
  }
  const size = s.shape[0] * s.shape[1] * s.shape[2] * s.shape[3];
  if (s.size !== size) fail(where, `${name} size ${s.size} does not match its shape [${s.shape.join(', ')}] (${size})`);
  if (!isCount(s.offset, 0) || s.offset + s.size > arenaSize) {
    fail(where, `${name} [${s.offset}, ${s.offset + s.size}) lies outside the arena of ${arenaSize} floats`);
  }
  if (s.base !== undefined) checkView(where, name, s, arenaSize);
}

/** A channel view lies inside its base: same n, h, w, and its channels within the base's. */
function checkView(where: string, name: string, s: Slot, arenaSize: number): void {
  const base = s.base!;
  if (base.base !== undefined) fail(where, `${name} is a channel view of a view (slot ${base.id}); views must name a plain base`);
  checkSlot(where, `${name}'s base`, base, arenaSize);
  const [n, h, w, c] = s.shape;
  const channelOffset = s.offset - base.offset;
  if (base.shape[0] !== n || base.shape[1] !== h || base.shape[2] !== w || !isCount(channelOffset, 0) || channelOffset + c > base.shape[3]) {
    fail(where, `${name} [${s.shape.join(', ')}] at channel ${channelOffset} does not lie inside its base [${base.shape.join(', ')}]`);
  }
}

function checkPair(where: string, name: string, v: readonly number[], min: number): void {
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => isCount(x, min))) {
    fail(where, `${name} must be two integers >= ${min}, got ${JSON.stringify(v)}`);
  }
}

function checkLength(where: string, name: string, got: ArrayLike<number> | undefined, expected: number, how: string): void {
  if (!(got instanceof Float32Array)) fail(where, `${name} must be a Float32Array`);
  if (got.length !== expected) fail(where, `${name} has ${got.length} floats, expected ${expected} (${how})`);
}

function sameSize(where: string, a: Slot, b: Slot, names: string): void {
  if (a.size !== b.size) fail(where, `${names} sizes differ (${a.size} vs ${b.size})`);
}

/** A quantised slot's scale and zero point: a positive finite float32 scale, an integer zero point in [0, 255]. */
function checkQuant(where: string, name: string, s: Slot, quantised: boolean): void {
  if (!quantised) {
    if (s.quant !== undefined) fail(where, `${name} is quantised (uint8), but this field holds float32 (see Q8_FIELDS)`);
    return;
  }
  const q = s.quant;
  if (q === undefined) fail(where, `${name} must be quantised (uint8 with scale and zeroPoint), got a float32 slot`);
  const scale = Math.fround(q.scale);
  if (!(scale > 0 && scale < Infinity && Math.fround(1 / scale) < Infinity)) fail(where, `${name} scale must be a positive finite float32, got ${q.scale}`);
  if (!Number.isInteger(q.zeroPoint) || q.zeroPoint < 0 || q.zeroPoint > 255) fail(where, `${name} zeroPoint must be an integer in [0, 255], got ${q.zeroPoint}`);
}

/** Int8 weights: int8 values in the float op's layout, a positive float32 scale and an int32 bias per output channel. */
function checkQ8Weights(where: string, op: Q8Weights, outC: number, perChannel: number, how: string): void {
  if (!(op.weight instanceof Int8Array)) fail(where, 'weight must be an Int8Array');
  if (op.weight.length !== outC * perChannel) fail(where, `weight has ${op.weight.length} values, expected ${outC * perChannel} (${how})`);
  if (!(op.bias instanceof Int32Array) || op.bias.length !== outC) fail(where, `bias must be an Int32Array of outC ${outC} values`);
  checkLength(where, 'weightScale', op.weightScale, outC, `outC ${outC}`);
  const bad = op.weightScale.findIndex((s) => !(s > 0 && s < Infinity));
  if (bad >= 0) fail(where, `weightScale[${bad}] must be positive and finite, got ${op.weightScale[bad]}`);
}

function checkConvGeometry(where: string, op: { input: Slot; output: Slot; kernel: readonly number[]; stride: readonly number[]; padding: readonly number[]; dilation: readonly number[]; groups: number }): void {
  const [n, , , inC] = op.input.shape;
  const [on, , , outC] = op.output.shape;
  if (on !== n) fail(where, `output batch ${on} differs from input batch ${n}`);
  checkPair(where, 'kernel', op.kernel, 1);
  checkPair(where, 'stride', op.stride, 1);
  checkPair(where, 'dilation', op.dilation, 1);
  checkPair(where, 'padding', op.padding, 0);
  if (!isCount(op.groups, 1) || inC % op.groups !== 0 || outC % op.groups !== 0) {
    fail(where, `groups ${op.groups} must divide inC ${inC} and outC ${outC}`);
  }
}

function checkQ8Activation(where: string, activation: string): void {
  if (!(Q8_ACTIVATIONS as readonly string[]).includes(activation)) {
    fail(where, `activation '${activation}' is not an int8 clamp (expected one of ${Q8_ACTIVATIONS.join(', ')}; others are a q8lookup op)`);
  }
}

type Check<K extends PlanOp['kind']> = (where: string, op: Extract<PlanOp, { kind: K }>) => void;

/** Pooling keeps the batch and the channels. */
function keepsBatchAndChannels(where: string, op: { input: Slot; output: Slot }): void {
  if (op.output.shape[0] !== op.input.shape[0] || op.output.shape[3] !== op.input.shape[3]) {
    fail(where, `output [${op.output.shape.join(', ')}] must keep the batch and channels of input [${op.input.shape.join(', ')}]`);
  }
}

/** Per-channel parameters of an op that keeps its input's size. */
function perChannel(where: string, op: { input: Slot; output: Slot }, names: readonly string[], arrays: readonly Float32Array[]): void {
  sameSize(where, op.input, op.output, 'input and output');
  const c = op.input.shape[3];
  names.forEach((name, i) => checkLength(where, name, arrays[i], c, `channels ${c}`));
}

const CHECKS: { readonly [K in PlanOp['kind']]: Check<K> } = {
  conv2d: (where, op) => {
    checkConvGeometry(where, op);
    const [inC, outC] = [op.input.shape[3], op.output.shape[3]];
    const inCg = inC / op.groups;
    checkLength(where, 'weight', op.weight, outC * inCg * op.kernel[0] * op.kernel[1], `[outC ${outC}, inC/groups ${inCg}, ${op.kernel.join(', ')}]`);
    checkLength(where, 'bias', op.bias, outC, `outC ${outC}`);
  },
  linear: (where, op) => {
    const n = op.input.shape[0];
    if (op.output.shape[0] !== n) fail(where, `output batch ${op.output.shape[0]} differs from input batch ${n}`);
    const inF = op.input.size / n;
    const outF = op.output.size / n;
    checkLength(where, 'weight', op.weight, outF * inF, `[outF ${outF}, inF ${inF}]`);
    checkLength(where, 'bias', op.bias, outF, `outF ${outF}`);
  },
  pool2d: (where, op) => {
    checkPair(where, 'kernel', op.kernel, 1);
    checkPair(where, 'stride', op.stride, 1);
    checkPair(where, 'padding', op.padding, 0);
    if (op.mode !== 'max' && op.mode !== 'avg') fail(where, `mode must be 'max' or 'avg', got '${op.mode}'`);
    keepsBatchAndChannels(where, op);
  },
  adaptiveAvgPool2d: keepsBatchAndChannels,
  add: (where, op) => {
    sameSize(where, op.a, op.output, 'a and output');
    sameSize(where, op.b, op.output, 'b and output');
  },
  channelAffine: (where, op) => perChannel(where, op, ['scale', 'shift'], [op.scale, op.shift]),
  activation: (where, op) => sameSize(where, op.input, op.output, 'input and output'),
  copyChannels: (where, op) => {
    const inC = op.input.shape[3];
    const outC = op.output.shape[3];
    if (op.input.size / inC !== op.output.size / outC) fail(where, `input has ${op.input.size / inC} pixels, output ${op.output.size / outC}`);
    if (!isCount(op.channelOffset, 0) || op.channelOffset + inC > outC) {
      fail(where, `channels [${op.channelOffset}, ${op.channelOffset + inC}) do not fit output channels ${outC}`);
    }
  },
  scaleChannels: (where, op) => {
    sameSize(where, op.input, op.output, 'input and output');
    if (op.scale.size !== op.input.shape[0] * op.input.shape[3]) {
      fail(where, `scale [${op.scale.shape.join(', ')}] must be [${op.input.shape[0]}, 1, 1, ${op.input.shape[3]}]`);
    }
  },
  layerNorm: (where, op) => {
    perChannel(where, op, ['weight', 'bias'], [op.weight, op.bias]);
    if (!(op.eps >= 0)) fail(where, `eps must be >= 0, got ${op.eps}`);
  },
  localResponseNorm: (where, op) => {
    sameSize(where, op.input, op.output, 'input and output');
    if (!isCount(op.size, 1)) fail(where, `size must be a positive integer, got ${op.size}`);
    if (![op.alpha, op.beta, op.k].every(Number.isFinite)) fail(where, 'alpha, beta and k must be finite');
  },
  fakeQuantize: (where, op) => {
    sameSize(where, op.input, op.output, 'input and output');
    const problem = fakeQuantizeProblem(op);
    if (problem) fail(where, problem);
  },
  quantize: (where, op) => sameSize(where, op.input, op.output, 'input and output'),
  dequantize: (where, op) => sameSize(where, op.input, op.output, 'input and output'),
  q8conv2d: (where, op) => {
    checkConvGeometry(where, op);
    checkQ8Activation(where, op.activation);
    const [inC, outC] = [op.input.shape[3], op.output.shape[3]];
    const inCg = inC / op.groups;
    checkQ8Weights(where, op, outC, inCg * op.kernel[0] * op.kernel[1], `[outC ${outC}, inC/groups ${inCg}, ${op.kernel.join(', ')}]`);
  },
  q8linear: (where, op) => {
    const n = op.input.shape[0];
    if (op.output.shape[0] !== n) fail(where, `output batch ${op.output.shape[0]} differs from input batch ${n}`);
    checkQ8Activation(where, op.activation);
    const [inF, outF] = [op.input.size / n, op.output.size / n];
    checkQ8Weights(where, op, outF, inF, `[outF ${outF}, inF ${inF}]`);
  },
  q8pool2d: (where, op) => {
    CHECKS.pool2d(where, { ...op, kind: 'pool2d', activation: 'none' });
    sameQuant(where, op.input, op.output);
  },
  q8adaptiveAvgPool2d: (where, op) => {
    keepsBatchAndChannels(where, op);
    sameQuant(where, op.input, op.output);
  },
  q8add: (where, op) => {
    sameSize(where, op.a, op.output, 'a and output');
    sameSize(where, op.b, op.output, 'b and output');
    checkQ8Activation(where, op.activation);
  },
  q8lookup: (where, op) => {
    sameSize(where, op.input, op.output, 'input and output');
    if (!(op.table instanceof Uint8Array) || op.table.length !== 256) fail(where, 'table must be a Uint8Array of 256 entries');
  },
};

/** Pooling a quantised tensor keeps its quantisation. */
function sameQuant(where: string, a: Slot, b: Slot): void {
  if (a.quant && b.quant && (Math.fround(a.quant.scale) !== Math.fround(b.quant.scale) || a.quant.zeroPoint !== b.quant.zeroPoint)) {
    fail(where, `output quantisation (scale ${b.quant.scale}, zeroPoint ${b.quant.zeroPoint}) must equal the input's (scale ${a.quant.scale}, zeroPoint ${a.quant.zeroPoint})`);
  }
}

function validateOp(op: PlanOp, i: number, arenaSize: number): void {
  const where = `plan.ops[${i}] (${op.kind})`;
  const check = Object.hasOwn(CHECKS, op.kind) ? (CHECKS[op.kind] as Check<PlanOp['kind']>) : undefined;
  if (!check) fail(where, `unsupported op kind '${(op as { kind: string }).kind}'`);
  for (const [name, slot] of opSlotEntries(op, Object.hasOwn(OP_SLOTS, op.kind) ? OP_SLOTS : INT8_OP_SLOTS)) {
    checkSlot(where, name, slot, arenaSize);
    checkQuant(where, name, slot, holdsQuantised(op.kind, name));
    if (slot.base !== undefined && !acceptsChannelView(op, name)) {
      fail(where, `${name} is a channel view (a strided slice of slot ${slot.base.id}), which this op does not take (see CHANNEL_VIEW_FIELDS)`);
    }
  }
  if ('activation' in op && !ACTIVATIONS.includes(op.activation)) {
    fail(where, `unknown activation '${op.activation}' (expected one of ${ACTIVATIONS.join(', ')})`);
  }
  if ((op.kind === 'conv2d' || op.kind === 'linear' || op.kind === 'q8conv2d' || op.kind === 'q8linear') && op.residual) sameSize(where, op.residual, op.output, 'residual and output');
  check(where, op);
}

/** Throws a ShapeError naming the first inconsistency in `plan`; a plan that passes is frozen, returned, and backends accept it (plan-check.ts). */
export function validatePlan<P extends ExecutionPlan>(plan: P): P {
  if (!isCount(plan.arenaSize, 0)) fail('plan', `arenaSize must be a non-negative integer, got ${plan.arenaSize}`);
  checkSlot('plan.input', 'input', plan.input, plan.arenaSize);
  if (plan.input.base !== undefined) fail('plan.input', 'the input must be a dense slot, not a channel view');
  if (plan.input.quant !== undefined) fail('plan.input', 'the input must be float32 (a quantize op brings it to int8)');
  if (plan.outputs.length === 0) fail('plan.outputs', 'at least one output is required');
  plan.outputs.forEach((s, i) => {
    checkSlot(`plan.outputs[${i}]`, 'output', s, plan.arenaSize);
    if (s.base !== undefined) fail(`plan.outputs[${i}]`, 'an output must be a dense slot, not a channel view');
    if (s.quant !== undefined) fail(`plan.outputs[${i}]`, 'an output must be float32 (a dequantize op brings int8 back)');
  });
  plan.ops.forEach((op, i) => validateOp(op, i, plan.arenaSize));
  if (plan.scratch !== undefined) validateScratch(plan);
  return markPlanChecked(plan);
}

function validateScratch(plan: ExecutionPlan): void {
  const { floats, offsets, arenaSize } = plan.scratch!;
  const n = plan.ops.length;
  if (!Array.isArray(floats) || !Array.isArray(offsets) || floats.length !== n || offsets.length !== n) {
    fail('plan.scratch', `floats and offsets must have one entry per op (${n})`);
  }
  if (!isCount(arenaSize, plan.arenaSize)) fail('plan.scratch', `arenaSize must be an integer >= plan.arenaSize ${plan.arenaSize}, got ${arenaSize}`);
  floats.forEach((f, i) => {
    const at = offsets[i];
    const inside = f === 0 ? at === -1 : isCount(f, 1) && isCount(at, 0) && at + f <= arenaSize;
    if (!inside) fail(`plan.scratch (op ${i})`, `${f} floats at ${at} do not lie in the arena of ${arenaSize} floats`);
  });
}
