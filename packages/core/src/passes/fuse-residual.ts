// Pass 5: a residual addition fuses into the convolution or linear layer that produces its
// later operand (the other one is ready by then): act(Wx + b + residual). Runs after the
// activation pass, so an add that took an activation hands it to the layer.
import { Fuser, type Draft } from './draft.js';

export function fuseResidualAdds(draft: Draft): void {
  const fuser = new Fuser(draft);
  draft.ops.forEach((op, i) => {
    if (op.kind !== 'add' || op.a === op.b) return;
    const [later, other] = fuser.writtenAt(op.a) > fuser.writtenAt(op.b) ? [op.a, op.b] : [op.b, op.a];
    const p = fuser.producer(later);
    if (!p || (p.kind !== 'conv2d' && p.kind !== 'linear') || p.residual !== undefined || p.activation !== 'none' || !fuser.fusable(later)) return;
    p.residual = other;
    p.activation = op.activation;
    fuser.absorb(i, later);
  });
  fuser.finish();
}
