// The int8 pass: a float plan (lowerForInt8) becomes an int8 plan. Convolutions and linear
// layers always run in int8 (bias, residual and clamp in their epilogue); pooling and
// tabulated activations run in int8 when their input already is; every other op stays float
// and says so by its kind. A quantize op brings the input (and any float result an int8 op
// reads) to uint8, a dequantize op brings int8 results to float ops and to the plan outputs.
// Quantised tensors are named for their parameters: a layer's output by the layer ('conv1'),
// the plan input 'quant', a float value quantised for an int8 reader 'quant.<slot id>', a
// pooled tensor shares its input's, a table's output is '<input's name>.<function>', an add that
// was not fused '<its later operand's name>.add'.
import { Q8_ACTIVATIONS, type ActivationQuant, type Conv2dOp, type ExecutionPlan, type FloatOpKind, type LinearOp, type PlanOp, type Q8Activation, type Q8Weights, type Slot } from '../plan.js';
import { ShapeError, WeightsError } from '../errors.js';
import { ARENA_ALIGN } from '../passes/arena.js';
import { validatePlan } from '../validate-plan.js';
import type { ResidualAdds } from './lower.js';
import { activationQuant, lookupTable, quantizeWeights, tabulates, type ActivationQuantOptions, type ActivationRange } from './numbers.js';

/** A layer's int8 parameters as stored: the weight in torchvision's layout and shape. */
export interface QuantizedLayer extends Q8Weights {
  readonly shape: readonly number[];
}

/** Everything an int8 plan needs beyond the architecture: what a W.int8.safetensors file holds. */
export interface QuantizedModel {
  readonly layers: ReadonlyMap<string, QuantizedLayer>;
  readonly activations: ReadonlyMap<string, ActivationQuant>;
  /** how the float plan placed residual adds when these were made (lowerForInt8); default 'fused' */
  readonly residualAdds?: ResidualAdds;
}

/** Where the walk gets its parameters: a calibrated range to derive them from, or a loaded model. */
interface ParameterSource {
  activation(name: string, slot: Slot): ActivationQuant;
  /** `columnsFrom`: a linear layer's flattened [c, h, w] input (h * w > 1), whose columns the float plan permuted */
  layer(op: Conv2dOp | LinearOp & { name: string }, input: ActivationQuant, columnsFrom?: readonly [number, number, number]): Q8Weights;
}

/** The int8 plan of `plan` with the parameters of `model` (a file's, or calibrateModel's). */
export function quantizePlan(plan: ExecutionPlan, model: QuantizedModel): ExecutionPlan {
  return walk(plan, {
    activation(name) {
      const q = model.activations.get(name);
      if (!q) throw new WeightsError(`the int8 parameters have no '${name}.scale' and '${name}.zero_point' (this model's plan quantises that tensor)`, { code: 'mismatch' });
      return q;
    },
    layer(op, _input, columnsFrom) {
      const l = model.layers.get(op.name!);
      if (!l) throw new WeightsError(`the int8 parameters have no layer '${op.name}' (expected '${op.name}.weight', '.weight_scale' and '.bias')`, { code: 'mismatch' });
      const outC = op.bias.length;
      if (l.weight.length !== op.weight.length || l.bias.length !== outC || l.weightScale.length !== outC) {
        throw new WeightsError(`int8 layer '${op.name}' has weight ${l.weight.length} values and ${l.bias.length} biases; this plan needs ${op.weight.length} and ${outC}`, { code: 'mismatch' });
      }
      const weight = columnsFrom ? permuteColumns(l.weight, outC, columnsFrom, true) : l.weight;
      return { weight, weightScale: l.weightScale, bias: l.bias };
    },
  }).plan;
}

export interface CalibrateOptions extends ActivationQuantOptions {
  /** how the plan being calibrated placed its residual adds (recorded with the parameters); default 'fused' */
  readonly residualAdds?: ResidualAdds;
}

/**
 * Derives the int8 parameters from a float plan and the range each slot took over the
 * calibration data (by slot id, as lowerForInt8 with observeAll reports them), and returns
 * them with the int8 plan.
 */
export function calibrateModel(plan: ExecutionPlan, ranges: ReadonlyMap<number, ActivationRange>, options: CalibrateOptions = {}): { model: QuantizedModel; plan: ExecutionPlan } {
  const layers = new Map<string, QuantizedLayer>();
  const activations = new Map<string, ActivationQuant>();
  const result = walk(plan, {
    activation(name, slot) {
      const known = activations.get(name);
      if (known) return known;
      const range = ranges.get(slot.id);
      if (!range) throw new ShapeError(`no calibration range for slot ${slot.id} ('${name}')`);
      const q = activationQuant(range, options);
      activations.set(name, q);
      return q;
    },
    layer(op, input, columnsFrom) {
      const q = quantizeWeights(op.name!, op.weight, op.bias, input.scale);
      const outC = op.bias.length;
      const torchWeight = columnsFrom ? permuteColumns(q.weight, outC, columnsFrom, false) : q.weight;
      const shape = op.kind === 'conv2d' ? [outC, op.input.shape[3] / op.groups, ...op.kernel] : [outC, op.weight.length / outC];
      layers.set(op.name!, { ...q, weight: torchWeight, shape });
      return q;
    },
  });
  return { model: { layers, activations, residualAdds: options.residualAdds ?? 'fused' }, plan: result.plan };
}

/**
 * The int8 plan under construction: each value of the float plan gets a float and/or a quantised
 * version (conversions are added where a reader needs the other), new slots after the arena.
 */
class Int8Builder {
  readonly ops: PlanOp[] = [];
  private nextId: number;
  arenaEnd: number;
  /** flatten aliases: a slot no op writes reads the floats of the last one written at its offset */
  private readonly canonical: Map<number, Slot>;
  private readonly lastAt: Map<number, Slot>;
  /** per canonical slot id: its float and quantised versions, and the name of the latter's parameters */
  private readonly floats: Map<number, Slot>;
  private readonly quants = new Map<number, Slot>();
  private readonly names = new Map<number, string>();
  /** per canonical slot id: when it was written (-1: the plan input) */
  private readonly writtenAt: Map<number, number>;

  constructor(
    private readonly plan: ExecutionPlan,
    readonly source: ParameterSource,
  ) {
    this.nextId = Math.max(plan.input.id, ...plan.ops.flatMap((op) => opSlots(op).map((s) => s.id))) + 1;
    this.arenaEnd = align(plan.arenaSize);
    this.canonical = new Map([[plan.input.id, plan.input]]);
    this.lastAt = new Map([[plan.input.offset, plan.input]]);
    this.floats = new Map([[plan.input.id, plan.input]]);
    this.writtenAt = new Map([[plan.input.id, -1]]);
  }

  /** The slot whose elements `s` reads (itself, or what a flatten alias views). */
  canon(s: Slot): Slot {
    const known = this.canonical.get(s.id);
    if (known) return known;
    const src = this.lastAt.get(s.offset);
    if (!src || src.size !== s.size) throw new ShapeError(`slot ${s.id} is read before any op writes it`);
    this.canonical.set(s.id, src);
    return src;
  }

  isQuantised(s: Slot): boolean {
    return this.quants.has(this.canon(s).id);
  }

  /** The name of a quantised value's parameters. */
  nameOf(s: Slot): string {
    return this.names.get(this.canon(s).id)!;
  }

  /** Whether `a` was written after `b`. */
  later(a: Slot, b: Slot): boolean {
    return this.writtenAt.get(this.canon(a).id)! > this.writtenAt.get(this.canon(b).id)!;
  }

  /** `s` in uint8, quantised here first if it was float ('quant' for the plan input, else 'quant.<slot id>'). */
  quantised(s: Slot): Slot {
    const c = this.canon(s);
    let q = this.quants.get(c.id);
    if (!q) {
      const name = c === this.plan.input ? 'quant' : `quant.${c.id}`;
      q = this.fresh(c, this.source.activation(name, c));
      this.ops.push({ kind: 'quantize', input: this.floats.get(c.id)!, output: q });
      this.quants.set(c.id, q);
      this.names.set(c.id, name);
    }
    return this.asVersion(s, q);
  }

  /** `s` in float, dequantized here first if it was int8. */
  float(s: Slot): Slot {
    const c = this.canon(s);
    let f = this.floats.get(c.id);
    if (!f) {
      f = this.fresh(c);
      this.ops.push({ kind: 'dequantize', input: this.quants.get(c.id)!, output: f });
      this.floats.set(c.id, f);
    }
    return this.asVersion(s, f);
  }

  /** Records an op's output: float without `quant`, else quantised under `name`. */
  produce(out: Slot, quant?: ActivationQuant, name?: string): Slot {
    this.writtenAt.set(out.id, this.writtenAt.size);
    this.lastAt.set(out.offset, out);
    this.canonical.set(out.id, out);
    if (!quant) {
      this.floats.set(out.id, out);
      return out;
    }
    const q = { ...out, quant };
    this.quants.set(out.id, q);
    this.names.set(out.id, name!);
    return q;
  }

  /** A quantised output with its own parameters, named `name`. */
  produceNamed(out: Slot, name: string): Slot {
    return this.produce(out, this.source.activation(name, out), name);
  }

  private fresh(like: Slot, quant?: ActivationQuant): Slot {
    const slot: Slot = { id: this.nextId++, shape: like.shape, offset: this.arenaEnd, size: like.size, ...(quant ? { quant } : {}) };
    this.arenaEnd = align(this.arenaEnd + like.size);
    return slot;
  }

  /** `s` (maybe an alias) as a slot of the version's offset and quantisation, with its own shape. */
  private asVersion(s: Slot, version: Slot): Slot {
    const c = this.canon(s);
    if (s.id === c.id) return version;
    if (version.offset === c.offset) return version.quant ? { ...s, quant: version.quant } : s;
    return { ...version, id: this.nextId++, shape: s.shape };
  }
}

const isClamp = (a: string) => (Q8_ACTIVATIONS as readonly string[]).includes(a);

/** A float op's int8 form, pushed onto the builder; false where it stays float. */
type Rule<K extends FloatOpKind> = (b: Int8Builder, op: Extract<PlanOp, { kind: K }>) => boolean;

function layer(b: Int8Builder, op: Conv2dOp | LinearOp): boolean {
  if (op.name === undefined || !isClamp(op.activation)) return false;
  const input = b.quantised(op.input);
  const residual = op.residual ? { residual: b.quantised(op.residual) } : {};
  // a linear layer reading a flatten of an [h, w, c] value: its columns are in h·w·c order
  const [, h, w, c] = b.canon(op.input).shape;
  const columnsFrom = op.kind === 'linear' && h * w > 1 ? ([c, h, w] as const) : undefined;
  const weights = b.source.layer(op as Conv2dOp & { name: string }, input.quant!, columnsFrom);
  const common = { name: op.name, input, output: b.produceNamed(op.output, op.name), ...residual, ...weights, activation: op.activation as Q8Activation };
  if (op.kind === 'linear') b.ops.push({ kind: 'q8linear', ...common });
  else b.ops.push({ kind: 'q8conv2d', ...common, kernel: op.kernel, stride: op.stride, padding: op.padding, dilation: op.dilation, groups: op.groups });
  return true;
}

const RULES: { readonly [K in FloatOpKind]?: Rule<K> } = {
  conv2d: layer,
  linear: layer,
  // pooling and tables run in int8 when their input already is (no conversion for them alone)
  pool2d: (b, op) => {
    if (op.activation !== 'none' || !b.isQuantised(op.input)) return false;
    const input = b.quantised(op.input);
    const { mode, kernel, stride, padding, countIncludePad } = op;
    b.ops.push({ kind: 'q8pool2d', mode, input, output: b.produce(op.output, input.quant, b.nameOf(op.input)), kernel, stride, padding, countIncludePad });
    return true;
  },
  adaptiveAvgPool2d: (b, op) => {
    if (!b.isQuantised(op.input)) return false;
    const input = b.quantised(op.input);
    b.ops.push({ kind: 'q8adaptiveAvgPool2d', input, output: b.produce(op.output, input.quant, b.nameOf(op.input)) });
    return true;
  },
  activation: (b, op) => {
    if (!tabulates(op.activation) || !b.isQuantised(op.input)) return false;
    const input = b.quantised(op.input);
    const output = b.produceNamed(op.output, `${b.nameOf(op.input)}.${op.activation}`);
    b.ops.push({ kind: 'q8lookup', input, output, activation: op.activation, table: lookupTable(op.activation, input.quant!, output.quant!) });
    return true;
  },
  // an add left unfused: named after its later-written operand's layer, which it would have fused into
  add: (b, op) => {
    if (!isClamp(op.activation) || !(b.isQuantised(op.a) || b.isQuantised(op.b))) return false;
    const [x, y] = [b.quantised(op.a), b.quantised(op.b)];
    const name = `${b.nameOf(b.later(op.a, op.b) ? op.a : op.b)}.add`;
    b.ops.push({ kind: 'q8add', a: x, b: y, output: b.produceNamed(op.output, name), activation: op.activation as Q8Activation });
    return true;
  },
};

function walk(plan: ExecutionPlan, source: ParameterSource): { plan: ExecutionPlan } {
  const b = new Int8Builder(plan, source);
  for (const op of plan.ops) {
    const rule = RULES[op.kind as FloatOpKind] as Rule<FloatOpKind> | undefined;
    if (rule?.(b, op as Extract<PlanOp, { kind: FloatOpKind }>)) continue;
    // a float op: its reads in float, its result float
    const rewritten: Record<string, unknown> = { ...op };
    for (const [field, slot] of Object.entries(op)) if (field !== 'output' && isSlot(slot)) rewritten[field] = b.float(slot);
    rewritten.output = b.produce(op.output);
    b.ops.push(rewritten as unknown as PlanOp);
  }
  const outputs = plan.outputs.map((s) => b.float(s));
  // checked here, once: the int8 pass is new, and backends take only checked plans
  return { plan: validatePlan({ batch: plan.batch, input: plan.input, outputs, ops: b.ops, arenaSize: b.arenaEnd }) };
}

const align = (n: number) => Math.ceil(n / ARENA_ALIGN) * ARENA_ALIGN;

function isSlot(v: unknown): v is Slot {
  return typeof v === 'object' && v !== null && 'offset' in v && 'shape' in v && 'size' in v && 'id' in v;
}

function opSlots(op: PlanOp): Slot[] {
  return Object.values(op).filter(isSlot);
}

/** Moves weight columns between torch.flatten's c·h·w order and our h·w·c order (`toChannelsLast`) or back. */
export function permuteColumns(w: Int8Array, rows: number, [c, h, wd]: readonly [number, number, number], toChannelsLast: boolean): Int8Array {
  const [hw, inF] = [h * wd, c * h * wd];
  const out = new Int8Array(w.length);
  for (let row = 0; row < rows * inF; row += inF) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < hw; p++) {
        const [chw, hwc] = [row + ch * hw + p, row + p * c + ch];
        if (toChannelsLast) out[hwc] = w[chw];
        else out[chw] = w[hwc];
      }
    }
  }
  return out;
}
