// Pass 3: a channel affine (a batch norm, a layer scale) right after a convolution or linear
// layer whose result nothing else reads folds into that layer's weights:
// (Wx + b)·s + t = (sW)x + (s·b + t), in double precision. The bias is folded here; the weights
// keep the factors beside them (`foldScale`) until something reads them (folded-weights.ts).
import { Fuser, type Draft } from './draft.js';

export function foldChannelAffines(draft: Draft): void {
  const fuser = new Fuser(draft);
  draft.ops.forEach((op, i) => {
    if (op.kind !== 'channelAffine' || !op.fold) return;
    const p = fuser.producer(op.input);
    if (!p || (p.kind !== 'conv2d' && p.kind !== 'linear') || !op.fold.into.includes(p.kind)) return;
    if (p.activation !== 'none' || p.residual !== undefined || !fuser.fusable(op.input)) return;
    const { scale, shift } = op.fold;
    // a second affine into the same layer multiplies the factors (in double precision)
    p.foldScale = p.foldScale?.map((f, c) => f * scale[c]) ?? scale;
    // in place only into a bias decoded for this compile alone; the model's own stays as it is
    const bias = draft.owned.has(p.bias) ? p.bias : new Float32Array(p.bias.length);
    for (let c = 0; c < scale.length; c++) bias[c] = p.bias[c] * scale[c] + shift[c];
    p.bias = bias;
    fuser.absorb(i, op.input);
  });
  fuser.finish();
}
