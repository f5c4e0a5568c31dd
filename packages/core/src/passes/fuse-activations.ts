// Pass 4: an activation whose input nothing else reads runs in the epilogue of the op that
// produces that input (any op with an `activation` field that has none yet).
import { Fuser, type Draft } from './draft.js';

export function fuseActivations(draft: Draft): void {
  const fuser = new Fuser(draft);
  draft.ops.forEach((op, i) => {
    if (op.kind !== 'activation') return;
    const p = fuser.producer(op.input);
    if (!p || !('activation' in p) || p.kind === 'activation' || p.activation !== 'none' || !fuser.fusable(op.input)) return;
    p.activation = op.activation;
    fuser.absorb(i, op.input);
  });
  fuser.finish();
}
