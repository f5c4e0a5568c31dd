// The one representation every compile pass reads and rewrites: plan ops whose slots are still
// value ids (no arena offsets yet), the values they name, and the values the caller asked for.
import { OP_SLOTS, type ChannelAffineOp, type Conv2dOp, type FloatOpKind, type LinearOp, type PlanOp, type SlotField } from '../plan.js';

export type ValueRef = number;
export type Nhwc = [number, number, number, number];

export interface DraftValue {
  readonly shape: Nhwc;
  /** a flatten: a new shape over the same floats as this value */
  readonly aliasOf?: ValueRef;
  /** on flatten aliases: the [c, h, w] shape the features came from */
  readonly flattenedFrom?: readonly [number, number, number];
  /** a channel view: channels [channelOffset, + shape[3]) of `base`, a value that is no view itself (channel-views.ts) */
  readonly viewOf?: { readonly base: ValueRef; readonly channelOffset: number };
}

/** A plan op with value ids where the plan has slots; mutable, so passes can fuse into it. */
type DraftOf<O extends PlanOp> = O extends PlanOp ? { -readonly [P in keyof O]: P extends SlotField<O['kind']> ? ValueRef : O[P] } : never;
/**
 * A channel affine y = x * scale + shift that may fold into the weights of its producer, with
 * the factors in double precision (`scale`/`shift` are them rounded, for when it stays an op).
 */
export interface AffineFold {
  readonly scale: Float64Array;
  readonly shift: Float64Array;
  readonly into: readonly ('conv2d' | 'linear')[];
}
/**
 * Drafts hold float ops only: int8 ops come after planning (quantize/plan.ts). A convolution or
 * linear layer into which an affine folded keeps the factors beside its unscaled weights
 * (`foldScale`, per output channel: the layer's weights are fround(weight[c][...] * foldScale[c]));
 * emit.ts makes the plan op's `weight` apply them on first read (folded-weights.ts).
 */
export type DraftOp =
  | (DraftOf<Exclude<Extract<PlanOp, { kind: FloatOpKind }>, ChannelAffineOp | Conv2dOp | LinearOp>>)
  | (DraftOf<Conv2dOp | LinearOp> & { foldScale?: Float64Array })
  | (DraftOf<ChannelAffineOp> & { fold?: AffineFold });
export type DraftOpOf<K extends PlanOp['kind']> = Extract<DraftOp, { kind: K }>;

export interface Draft {
  readonly batch: number;
  /** by id; undefined once a pass fused the op that produced it away */
  readonly values: (DraftValue | undefined)[];
  ops: DraftOp[];
  readonly input: ValueRef;
  /** the requested outputs, in order (pinned: never fused away) */
  outputs: ValueRef[];
  /**
   * Weight arrays the plan may modify in place (decoded for this compile alone: WeightTensor.fresh).
   * Every other weight is the model's own array, read without a copy: a fold writes a new bias
   * (and leaves the weights as they are, with `foldScale` beside them).
   */
  readonly owned: WeakSet<Float32Array>;
}

const slotsOf = (op: DraftOp) => op as unknown as Record<string, ValueRef | undefined>;

/** The slot fields an op has, in OP_SLOTS order (an absent residual left out). */
function fieldsOf(op: DraftOp): SlotField[] {
  return OP_SLOTS[op.kind].filter((f) => slotsOf(op)[f] !== undefined);
}

/** The value ids an op reads or writes. */
export function opRefs(op: DraftOp): ValueRef[] {
  return fieldsOf(op).map((f) => slotsOf(op)[f]!);
}

/** The value ids an op reads (its slots other than `output`). */
export function opReads(op: DraftOp): ValueRef[] {
  return fieldsOf(op).filter((f) => f !== 'output').map((f) => slotsOf(op)[f]!);
}

/** Reads per value: op slots other than `output`, and flatten aliases over it. */
export function useCounts(draft: Draft): Map<ValueRef, number> {
  const uses = new Map<ValueRef, number>();
  const use = (v: ValueRef) => uses.set(v, (uses.get(v) ?? 0) + 1);
  for (const op of draft.ops) opReads(op).forEach(use);
  for (const v of draft.values) if (v?.aliasOf !== undefined) use(v.aliasOf);
  return uses;
}

/**
 * A fusion context for one pass: which op writes each value, how often each value is read, and
 * `absorb`, which removes an op whose result another op now produces.
 */
export class Fuser {
  private readonly writer = new Map<ValueRef, number>();
  private readonly uses: Map<ValueRef, number>;
  private readonly removed = new Set<number>();

  constructor(private readonly draft: Draft) {
    draft.ops.forEach((op, i) => {
      if (!this.writer.has(op.output)) this.writer.set(op.output, i);
    });
    this.uses = useCounts(draft);
  }

  /** The op whose output is `v` (never through a flatten alias: that is a different value). */
  producer(v: ValueRef): DraftOp | undefined {
    const i = this.writer.get(v);
    return i === undefined || this.removed.has(i) ? undefined : this.draft.ops[i];
  }

  /** Where the floats of `v` are first written (through flatten aliases), -1 for the input. */
  writtenAt(v: ValueRef): number {
    let root = v;
    while (this.draft.values[root]?.aliasOf !== undefined) root = this.draft.values[root]!.aliasOf!;
    return this.writer.get(root) ?? -1;
  }

  /** A value may be absorbed into the kernel of its one reader unless it was asked for. */
  fusable(v: ValueRef): boolean {
    return this.uses.get(v) === 1 && !this.draft.outputs.includes(v);
  }

  /** Drops ops[index]: its output is now `replacement`, produced by another op. */
  absorb(index: number, replacement: ValueRef): void {
    const gone = this.draft.ops[index].output;
    this.removed.add(index);
    this.uses.set(replacement, this.uses.get(gone) ?? 0);
    replaceValue(this.draft, gone, replacement);
  }

  /** Ends the pass: the draft without the absorbed ops. */
  finish(): void {
    this.draft.ops = this.draft.ops.filter((_, i) => !this.removed.has(i));
  }
}

/** Every read of `from` (op slots, flatten aliases, outputs) becomes a read of `to`; `from` is gone. */
export function replaceValue(draft: Draft, from: ValueRef, to: ValueRef): void {
  for (const op of draft.ops) {
    for (const f of fieldsOf(op)) if (f !== 'output' && slotsOf(op)[f] === from) slotsOf(op)[f] = to;
  }
  draft.values.forEach((v, i) => {
    if (v?.aliasOf === from) draft.values[i] = { ...v, aliasOf: to };
  });
  draft.outputs = draft.outputs.map((o) => (o === from ? to : o));
  draft.values[from] = undefined;
}
