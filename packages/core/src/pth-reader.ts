// @cnn/core/pth: the torch.save reader (zip and legacy checkpoints, a restricted unpickler) as an
// opt-in for loadWeights. .safetensors is the built-in format; a browser app that loads .pth
// files passes `{ readers: [pthReader] }`, so the others never bundle the zip and pickle code.
// Node reads every format without it (#core/node).
import { decodePth } from './pth/decode.js';
import type { WeightsReader } from './weights.js';

/** Reads PyTorch checkpoints: `loadWeights(model, source, { readers: [pthReader] })`. */
export const pthReader: WeightsReader = { format: 'pytorch', decode: decodePth };
