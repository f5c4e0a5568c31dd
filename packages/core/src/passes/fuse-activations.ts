// Pass 4: an activation whose input nothing else reads runs in the epilogue of the op that
// produces that input (any op with an `activation` field that has none yet).
import type { Activation } from '../plan.js';
import { Fuser, type Draft, type DraftOp } from './draft.js';

/** `fuses` may refuse a pair (the int8 lowering fuses only the clamps an int8 epilogue applies). */
export function fuseActivations(draft: Draft, fuses: (producer: DraftOp, activation: Activation) => boolean = () => true): void {
  const fuser = new Fuser(draft);
  draft.ops.forEach((op, i) => {
    if (op.kind !== 'activation') return;
    const p = fuser.producer(op.input);
    if (!p || !('activation' in p) || p.kind === 'activation' || p.activation !== 'none' || !fuser.fusable(op.input) || !fuses(p, op.activation)) return;
    p.activation = op.activation;
    fuser.absorb(i, op.input);
  });
  fuser.finish();
}
