// A PyTorch checkpoint as decoded weights: float tensors as float32 views where the bytes allow,
// decoded on first use otherwise; integer buffers kept apart. Loaded by a dynamic import from
// weights.ts, so apps that only read .safetensors never bundle the zip and pickle readers.
import type { ByteSource } from '../byte-source.js';
import { LazyWeightTensor, type DecodeSourceOptions, type DecodedWeights, type IntegerTensor, type WeightTensor } from '../weights.js';
import { isContiguous, pthToFloat32, PTH_ITEM_SIZE, readPth } from './index.js';

export function decodePth(source: ByteSource, options: DecodeSourceOptions): DecodedWeights {
  const checkpoint = readPth(source, { verifyCrc: options.verifyCrc });
  const tensors = new Map<string, WeightTensor>();
  const integerKeys = new Set<string>();
  const integers = new Map<string, IntegerTensor>();
  for (const [key, t] of checkpoint.tensors) {
    if (t.dtype === 'F32' || t.dtype === 'F16' || t.dtype === 'BF16' || t.dtype === 'F64') {
      // float32 in memory decodes to a view (or fails alignment and copies); keep it eager only then
      const view = source.inMemory && t.dtype === 'F32' && isContiguous(t) ? pthToFloat32(t) : undefined;
      tensors.set(key, view && view.buffer === t.readStorage().buffer ? { shape: t.shape, data: view, fresh: options.ownBytes } : new LazyWeightTensor(t.shape, t.dtype, () => pthToFloat32(t)));
    } else {
      integerKeys.add(key);
      const n = t.shape.reduce((a, b) => a * b, 1);
      const item = PTH_ITEM_SIZE[t.dtype];
      if (isContiguous(t)) integers.set(key, { dtype: t.dtype, shape: t.shape, bytes: t.readStorage().subarray(t.offset * item, (t.offset + n) * item) });
    }
  }
  return { tensors, integerKeys, integers, format: checkpoint.format, notes: [...checkpoint.notes] };
}
