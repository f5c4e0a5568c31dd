// Pass 6: concatenation without copies. Lowering turns a concat into one copyChannels op per
// input; here an input whose writers can store into a channel range of a wider tensor, and whose
// readers can read one in place (plan.ts, CHANNEL_VIEW_FIELDS), becomes a view of the concat's
// output, and its copy goes. A concat whose inputs all became views of one base at consecutive
// channels is itself a view (DenseNet: each layer's input is a channel prefix of its block's
// output, so a block holds one buffer). Concats are visited widest first, so an outer concat
// claims its inputs before a narrower one that shares them, and a nested concat's output is
// already a view when its own inputs are placed. Copies that cannot go stay as the fallback.
import { OP_SLOTS, acceptsChannelView } from '../plan.js';
import { type Draft, type DraftOp, type ValueRef } from './draft.js';

type CopyOp = Extract<DraftOp, { kind: 'copyChannels' }>;
interface Place {
  readonly base: ValueRef;
  readonly channelOffset: number;
}

export function viewConcatInputs(draft: Draft): void {
  const concats = new Map<ValueRef, CopyOp[]>();
  for (const op of draft.ops) if (op.kind === 'copyChannels') concats.set(op.output, [...(concats.get(op.output) ?? []), op]);
  const channels = (v: ValueRef) => draft.values[v]!.shape[3];
  const dropped = new Set<DraftOp>();
  for (const [output, copies] of [...concats].sort(([a], [b]) => channels(b) - channels(a))) {
    const whole = asOneView(draft, output, copies);
    if (whole) setView(draft, output, whole);
    const at: Place = draft.values[output]!.viewOf ?? { base: output, channelOffset: 0 };
    for (const copy of copies) {
      const place = { base: at.base, channelOffset: at.channelOffset + copy.channelOffset };
      const view = draft.values[copy.input]!.viewOf;
      if (view ? view.base === place.base && view.channelOffset === place.channelOffset : canView(draft, copy.input, place)) {
        setView(draft, copy.input, place);
        dropped.add(copy);
      }
    }
  }
  draft.ops = draft.ops.filter((op) => !dropped.has(op));
}

/** Where `output` lies when every input of its concat is already a view of one base at consecutive channels. */
function asOneView(draft: Draft, output: ValueRef, copies: readonly CopyOp[]): Place | undefined {
  const first = draft.values[copies[0].input]!.viewOf;
  if (!first || draft.values[output]!.viewOf) return undefined;
  const place = { base: first.base, channelOffset: first.channelOffset - copies[0].channelOffset };
  const consecutive = copies.every((c) => {
    const v = draft.values[c.input]!.viewOf;
    return v?.base === place.base && v.channelOffset === place.channelOffset + c.channelOffset;
  });
  return consecutive && canView(draft, output, place, copies) ? place : undefined;
}

/**
 * Whether `v` may live at `place`: it is a plain value (not the input, an output, a flatten or
 * flattened, nor a base of views), and unless it covers the whole base, every op that writes
 * it (but the copies that fill it, `filling`) or reads it takes a channel view there.
 */
function canView(draft: Draft, v: ValueRef, place: Place, filling: readonly CopyOp[] = []): boolean {
  const value = draft.values[v]!;
  if (v === draft.input || draft.outputs.includes(v) || value.aliasOf !== undefined || value.viewOf) return false;
  if (draft.values.some((o) => o?.aliasOf === v || o?.viewOf?.base === v)) return false;
  if (place.channelOffset === 0 && value.shape[3] === draft.values[place.base]!.shape[3]) return true;
  return draft.ops.every((op) => {
    if (op.output === v && !filling.includes(op as CopyOp) && !acceptsChannelView(op, 'output')) return false;
    const fields = OP_SLOTS[op.kind] as readonly string[];
    return fields.every((f) => f === 'output' || (op as unknown as Record<string, unknown>)[f] !== v || acceptsChannelView(op, f));
  });
}

function setView(draft: Draft, v: ValueRef, place: Place): void {
  draft.values[v] = { ...draft.values[v]!, viewOf: place };
}
