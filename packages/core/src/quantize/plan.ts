// The int8 pass: a float plan (lowerForInt8) becomes an int8 plan. Convolutions and linear
// layers always run in int8 (bias, residual and clamp in their epilogue); pooling and
// tabulated activations run in int8 when their input already is; every other op stays float
// and says so by its kind. A quantize op brings the input (and any float result an int8 op
// reads) to uint8, a dequantize op brings int8 results to float ops and to the plan outputs.
// Quantised tensors are named for their parameters: a layer's output by the layer ('conv1'),
// the plan input 'quant', a float value quantised for an int8 reader 'quant.<slot id>', a
// pooled tensor shares its input's, a table's output is '<input's name>.<function>', an add that
// was not fused '<its later operand's name>.add'.
import { Q8_ACTIVATIONS, type ActivationQuant, type Conv2dOp, type ExecutionPlan, type LinearOp, type PlanOp, type Q8Activation, type Q8Weights, type Slot } from '../plan.js';
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

function walk(plan: ExecutionPlan, source: ParameterSource): { plan: ExecutionPlan } {
  let nextId = Math.max(plan.input.id, ...plan.ops.flatMap((op) => opSlots(op).map((s) => s.id))) + 1;
  let arenaEnd = align(plan.arenaSize);
  const fresh = (like: Slot, quant?: ActivationQuant): Slot => {
    const slot: Slot = { id: nextId++, shape: like.shape, offset: arenaEnd, size: like.size, ...(quant ? { quant } : {}) };
    arenaEnd = align(arenaEnd + like.size);
    return slot;
  };
  // flatten aliases: a slot no op writes reads the floats of the last one written at its offset
  const canonical = new Map<number, Slot>([[plan.input.id, plan.input]]);
  const lastAt = new Map<number, Slot>([[plan.input.offset, plan.input]]);
  const canon = (s: Slot): Slot => {
    const known = canonical.get(s.id);
    if (known) return known;
    const src = lastAt.get(s.offset);
    if (!src || src.size !== s.size) throw new ShapeError(`slot ${s.id} is read before any op writes it`);
    canonical.set(s.id, src);
    return src;
  };
  // per canonical slot id: its float and quantised versions, and the name of the latter's parameters
  const floats = new Map<number, Slot>([[plan.input.id, plan.input]]);
  const quants = new Map<number, Slot>();
  const names = new Map<number, string>();
  /** per canonical slot id: the index of the op that wrote it (-1: the plan input) */
  const writtenAt = new Map<number, number>([[plan.input.id, -1]]);
  const ops: PlanOp[] = [];
  /** `s` (maybe an alias) as a slot of the version's offset and quantisation, with its own shape. */
  const asVersion = (s: Slot, version: Slot): Slot => {
    const c = canon(s);
    if (s.id === c.id) return version;
    // an alias: the version's elements under the alias's shape
    if (version.offset === c.offset) return version.quant ? { ...s, quant: version.quant } : s;
    return { ...version, id: nextId++, shape: s.shape };
  };
  const quantised = (s: Slot): Slot => {
    const c = canon(s);
    let q = quants.get(c.id);
    if (!q) {
      const name = c === plan.input ? 'quant' : `quant.${c.id}`;
      q = fresh(c, source.activation(name, c));
      ops.push({ kind: 'quantize', input: floats.get(c.id)!, output: q });
      quants.set(c.id, q);
      names.set(c.id, name);
    }
    return asVersion(s, q);
  };
  const float = (s: Slot): Slot => {
    const c = canon(s);
    let f = floats.get(c.id);
    if (!f) {
      f = fresh(c);
      ops.push({ kind: 'dequantize', input: quants.get(c.id)!, output: f });
      floats.set(c.id, f);
    }
    return asVersion(s, f);
  };
  const isQuantised = (s: Slot) => quants.has(canon(s).id);
  const produce = (out: Slot, quant: ActivationQuant | undefined, name?: string): Slot => {
    writtenAt.set(out.id, writtenAt.size);
    lastAt.set(out.offset, out);
    canonical.set(out.id, out);
    if (!quant) {
      floats.set(out.id, out);
      return out;
    }
    const q = { ...out, quant };
    quants.set(out.id, q);
    names.set(out.id, name!);
    return q;
  };

  for (const op of plan.ops) {
    if ((op.kind === 'conv2d' || op.kind === 'linear') && op.name !== undefined && (Q8_ACTIVATIONS as readonly string[]).includes(op.activation)) {
      const input = quantised(op.input);
      const residual = op.residual ? { residual: quantised(op.residual) } : {};
      // a linear layer reading a flatten of an [h, w, c] value: its columns are in h·w·c order
      const [, h, w, c] = canon(op.input).shape;
      const columnsFrom = op.kind === 'linear' && h * w > 1 ? ([c, h, w] as const) : undefined;
      const weights = source.layer(op as Conv2dOp & { name: string }, input.quant!, columnsFrom);
      const output = produce(op.output, source.activation(op.name, op.output), op.name);
      const common = { name: op.name, input, output, ...residual, ...weights, activation: op.activation as Q8Activation };
      if (op.kind === 'conv2d') {
        const { kernel, stride, padding, dilation, groups } = op;
        ops.push({ kind: 'q8conv2d', ...common, kernel, stride, padding, dilation, groups });
      } else ops.push({ kind: 'q8linear', ...common });
    } else if (op.kind === 'pool2d' && op.activation === 'none' && isQuantised(op.input)) {
      const input = quantised(op.input);
      const output = produce(op.output, input.quant, names.get(canon(op.input).id));
      const { mode, kernel, stride, padding, countIncludePad } = op;
      ops.push({ kind: 'q8pool2d', mode, input, output, kernel, stride, padding, countIncludePad });
    } else if (op.kind === 'adaptiveAvgPool2d' && isQuantised(op.input)) {
      const input = quantised(op.input);
      ops.push({ kind: 'q8adaptiveAvgPool2d', input, output: produce(op.output, input.quant, names.get(canon(op.input).id)) });
    } else if (op.kind === 'add' && (Q8_ACTIVATIONS as readonly string[]).includes(op.activation) && (isQuantised(op.a) || isQuantised(op.b))) {
      // named after its later-written operand's layer, which the add would have fused into
      const later = writtenAt.get(canon(op.a).id)! > writtenAt.get(canon(op.b).id)! ? op.a : op.b;
      const [a, b] = [quantised(op.a), quantised(op.b)];
      const name = `${names.get(canon(later).id)}.add`;
      ops.push({ kind: 'q8add', a, b, output: produce(op.output, source.activation(name, op.output), name), activation: op.activation as Q8Activation });
    } else if (op.kind === 'activation' && tabulates(op.activation) && isQuantised(op.input)) {
      const input = quantised(op.input);
      const name = `${names.get(canon(op.input).id)}.${op.activation}`;
      const output = produce(op.output, source.activation(name, op.output), name);
      ops.push({ kind: 'q8lookup', input, output, activation: op.activation, table: lookupTable(op.activation, input.quant!, output.quant!) });
    } else {
      // a float op: its reads in float, its result float
      const rewritten: Record<string, unknown> = { ...op };
      for (const [field, slot] of Object.entries(op)) {
        if (field !== 'output' && isSlot(slot)) rewritten[field] = float(slot);
      }
      rewritten.output = produce(op.output, undefined);
      ops.push(rewritten as unknown as PlanOp);
    }
  }
  const outputs = plan.outputs.map(float);
  // checked here, once: the int8 pass is new, and backends take only checked plans
  return { plan: validatePlan({ batch: plan.batch, input: plan.input, outputs, ops, arenaSize: arenaEnd }) };
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
