// Pass 6: concatenation without copies. Lowering turns a concat into one copyChannels op per
// input; here an input whose writers can store into a channel range of a wider tensor, and whose
// readers can read one in place (plan.ts, CHANNEL_VIEW_FIELDS), becomes a view of the concat's
// output, and its copy goes. A concat whose inputs all became views of one base at consecutive
// channels is itself a view (DenseNet: each layer's input is a channel prefix of its block's
// output, so a block holds one buffer). Concats are visited widest first, so an outer concat
// claims its inputs before a narrower one that shares them, and a nested concat's output is
// already a view when its own inputs are placed. Copies that cannot go stay as the fallback.
import { OP_SLOTS, acceptsChannelView } from '../plan.js';
import type { Draft, DraftOp, ValueRef } from './draft.js';

type CopyOp = Extract<DraftOp, { kind: 'copyChannels' }>;
interface Place {
  readonly base: ValueRef;
  readonly channelOffset: number;
}

export function viewConcatInputs(draft: Draft): void {
  const views = new Views(draft);
  const channels = (v: ValueRef) => draft.values[v]!.shape[3];
  const dropped = new Set<DraftOp>();
  for (const [output, copies] of [...views.concats].sort(([a], [b]) => channels(b) - channels(a))) {
    const whole = views.asOneView(output, copies);
    if (whole) views.set(output, whole);
    const at: Place = draft.values[output]!.viewOf ?? { base: output, channelOffset: 0 };
    for (const copy of copies) {
      const place = { base: at.base, channelOffset: at.channelOffset + copy.channelOffset };
      const view = draft.values[copy.input]!.viewOf;
      if (view ? view.base === place.base && view.channelOffset === place.channelOffset : views.allowed(copy.input, place)) {
        views.set(copy.input, place);
        dropped.add(copy);
      }
    }
  }
  draft.ops = draft.ops.filter((op) => !dropped.has(op));
}

/** Who writes and reads each value (collected once), and the views placed so far. */
class Views {
  readonly concats = new Map<ValueRef, CopyOp[]>();
  /** per value, the ops (and their slot field) that write it and that read it */
  private readonly writers = new Map<ValueRef, [DraftOp, string][]>();
  private readonly readers = new Map<ValueRef, [DraftOp, string][]>();
  /** flatten sources and view bases: values whose floats another value names */
  private readonly named = new Set<ValueRef>();

  constructor(private readonly draft: Draft) {
    const push = <T>(map: Map<ValueRef, T[]>, v: ValueRef, item: T) => map.set(v, [...(map.get(v) ?? []), item]);
    for (const op of draft.ops) {
      if (op.kind === 'copyChannels') push(this.concats, op.output, op);
      for (const field of OP_SLOTS[op.kind] as readonly string[]) {
        const v = (op as unknown as Record<string, ValueRef | undefined>)[field];
        if (v !== undefined) push(field === 'output' ? this.writers : this.readers, v, [op, field] as [DraftOp, string]);
      }
    }
    for (const value of draft.values) if (value?.aliasOf !== undefined) this.named.add(value.aliasOf);
  }

  /** Where `output` lies when every input of its concat is already a view of one base at consecutive channels. */
  asOneView(output: ValueRef, copies: readonly CopyOp[]): Place | undefined {
    const first = this.draft.values[copies[0].input]!.viewOf;
    if (!first || this.draft.values[output]!.viewOf) return undefined;
    const place = { base: first.base, channelOffset: first.channelOffset - copies[0].channelOffset };
    const consecutive = copies.every((c) => {
      const v = this.draft.values[c.input]!.viewOf;
      return v?.base === place.base && v.channelOffset === place.channelOffset + c.channelOffset;
    });
    return consecutive && this.allowed(output, place, copies) ? place : undefined;
  }

  /**
   * Whether `v` may live at `place`: it is a plain value (not the input, an output, a flatten or
   * flattened, nor already a view or a base), and unless it covers the whole base, every op that
   * writes it (but the copies that fill it, `filling`) or reads it takes a channel view there.
   */
  allowed(v: ValueRef, place: Place, filling: readonly CopyOp[] = []): boolean {
    const value = this.draft.values[v]!;
    if (v === this.draft.input || this.draft.outputs.includes(v) || value.aliasOf !== undefined || value.viewOf || this.named.has(v)) return false;
    if (place.channelOffset === 0 && value.shape[3] === this.draft.values[place.base]!.shape[3]) return true;
    return [...(this.writers.get(v) ?? []), ...(this.readers.get(v) ?? [])].every(([op, field]) => filling.includes(op as CopyOp) || acceptsChannelView(op, field));
  }

  set(v: ValueRef, place: Place): void {
    this.draft.values[v] = { ...this.draft.values[v]!, viewOf: place };
    this.named.add(place.base);
  }
}
