// Pass 3: a channel affine (a batch norm, a layer scale) right after a convolution or linear
// layer whose result nothing else reads folds into that layer's weights:
// (Wx + b)·s + t = (sW)x + (s·b + t), in double precision. The bias is folded here; the weights
// keep the factors beside them (`foldScale`) until something reads them (folded-weights.ts).
import { scaleRows } from '../folded-weights.js';
import { Fuser, type Draft } from './draft.js';

export function foldChannelAffines(draft: Draft): void {
  const fuser = new Fuser(draft);
  draft.ops.forEach((op, i) => {
    if (op.kind !== 'channelAffine' || !op.fold) return;
    const p = fuser.producer(op.input);
    if (!p || (p.kind !== 'conv2d' && p.kind !== 'linear') || !op.fold.into.includes(p.kind)) return;
    if (p.activation !== 'none' || p.residual !== undefined || !fuser.fusable(op.input)) return;
    const { scale, shift } = op.fold;
    // in place only into arrays decoded for this compile alone; the model's own ones stay as they are
    const into = (w: Float32Array) => (draft.owned.has(w) ? w : new Float32Array(w.length));
    if (p.foldScale) {
      // a second affine: the first one's factors go in first (each product rounds to float32, as
      // when they folded one after the other)
      const scaled = scaleRows(p.weight, p.foldScale, into(p.weight));
      draft.owned.add(scaled);
      p.weight = scaled;
    }
    p.foldScale = scale;
    const bias = into(p.bias);
    for (let c = 0; c < scale.length; c++) bias[c] = p.bias[c] * scale[c] + shift[c];
    p.bias = bias;
    fuser.absorb(i, op.input);
  });
  fuser.finish();
}
