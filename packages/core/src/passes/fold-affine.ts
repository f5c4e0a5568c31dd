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
    // in place only into arrays decoded for this compile alone; the model's own ones stay as they are
    const into = (w: Float32Array) => (draft.owned.has(w) ? w : new Float32Array(w.length));
    p.weight = scaleRows(p.weight, p.weight.length / scale.length, scale, into(p.weight));
    const bias = into(p.bias);
    for (let c = 0; c < scale.length; c++) bias[c] = p.bias[c] * scale[c] + shift[c];
    p.bias = bias;
    fuser.absorb(i, op.input);
  });
  fuser.finish();
}

/** out[c][j] = w[c][j] * scale[c] over rows of `per` floats (`out` may be `w`; a small function of its own: V8 optimises it early). */
function scaleRows(w: Float32Array, per: number, scale: Float64Array, out: Float32Array): Float32Array {
  for (let c = 0, at = 0; c < scale.length; c++) {
    const s = scale[c];
    for (const end = at + per; at < end; at++) out[at] = w[at] * s;
  }
  return out;
}
