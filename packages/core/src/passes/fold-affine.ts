// Pass 3: a channel affine (a batch norm, a layer scale) right after a convolution or linear
// layer whose result nothing else reads folds into that layer's weights:
// (Wx + b)·s + t = (sW)x + (s·b + t), in double precision.
import { Fuser, type Draft } from './draft.js';

export function foldChannelAffines(draft: Draft): void {
  const fuser = new Fuser(draft);
  draft.ops.forEach((op, i) => {
    if (op.kind !== 'channelAffine' || !op.fold) return;
    const p = fuser.producer(op.input);
    if (!p || (p.kind !== 'conv2d' && p.kind !== 'linear') || !op.fold.into.includes(p.kind)) return;
    if (p.activation !== 'none' || p.residual !== undefined || !fuser.fusable(op.input)) return;
    const { scale, shift } = op.fold;
    const per = p.weight.length / scale.length;
    const w = p.weight;
    for (let c = 0; c < scale.length; c++) {
      const s = scale[c];
      for (let j = c * per, end = j + per; j < end; j++) w[j] = w[j] * s;
      p.bias[c] = p.bias[c] * s + shift[c];
    }
    fuser.absorb(i, op.input);
  });
  fuser.finish();
}
