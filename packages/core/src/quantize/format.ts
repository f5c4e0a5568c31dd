// The int8 weights file, W.int8.safetensors: one .safetensors file, metadata format 'cnn-int8'.
// Per int8 layer <L> (torchvision's module name): '<L>.weight' I8 in torchvision's layout,
// '<L>.weight_scale' F32 [outC] and '<L>.bias' I64 [outC] (int32 values, at scale input x weight_scale).
// Per quantised tensor <T> (a layer's output under the layer's name, 'quant' for the input):
// '<T>.scale' F32 [1] and '<T>.zero_point' I64 [1] (int64, as torch stores zero points). The names follow torch's quantised modules.
// Metadata 'residual-adds': 'fused' (default) or 'separate' (see lowerForInt8), as they were made.
import type { ActivationQuant } from '../plan.js';
import { WeightsError } from '../errors.js';
import { parseSafetensors, type SafetensorsEntry } from '../safetensors.js';
import type { QuantizedLayer, QuantizedModel } from './plan.js';

export const INT8_MODEL_FORMAT = 'cnn-int8';

type Stored = { dtype: 'F32'; data: Float32Array } | { dtype: 'I64'; data: BigInt64Array } | { dtype: 'I8'; data: Int8Array };

const int64 = (values: ArrayLike<number>) => BigInt64Array.from(Array.from(values, BigInt));

/** The file's bytes; `metadata` is added to the header's (format is set here). */
export function encodeQuantizedModel(model: QuantizedModel, metadata: Record<string, string> = {}): Uint8Array {
  const tensors = new Map<string, Stored & { shape: readonly number[] }>();
  for (const [name, l] of [...model.layers].sort(([a], [b]) => (a < b ? -1 : 1))) {
    tensors.set(`${name}.weight`, { dtype: 'I8', data: l.weight, shape: l.shape });
    tensors.set(`${name}.weight_scale`, { dtype: 'F32', data: l.weightScale, shape: [l.weightScale.length] });
    tensors.set(`${name}.bias`, { dtype: 'I64', data: int64(l.bias), shape: [l.bias.length] });
  }
  for (const [name, q] of [...model.activations].sort(([a], [b]) => (a < b ? -1 : 1))) {
    tensors.set(`${name}.scale`, { dtype: 'F32', data: Float32Array.of(q.scale), shape: [1] });
    tensors.set(`${name}.zero_point`, { dtype: 'I64', data: int64([q.zeroPoint]), shape: [1] });
  }
  const header: Record<string, unknown> = { __metadata__: { ...metadata, format: INT8_MODEL_FORMAT, 'residual-adds': model.residualAdds ?? 'fused' } };
  let offset = 0;
  for (const [key, t] of tensors) {
    header[key] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  while ((8 + new TextEncoder().encode(json).length) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    // little-endian on every platform we run on (as the float32 views elsewhere assume)
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** Whether these .safetensors bytes are an int8 model (metadata format 'cnn-int8'). */
export function isQuantizedModelFile(bytes: ArrayBuffer | ArrayBufferView): boolean {
  try {
    return parseSafetensors(bytes).metadata.format === INT8_MODEL_FORMAT;
  } catch {
    return false;
  }
}

const SUFFIXES = ['.weight', '.weight_scale', '.bias', '.scale', '.zero_point'] as const;
const DTYPE_OF: Record<(typeof SUFFIXES)[number], string> = { '.weight': 'I8', '.weight_scale': 'F32', '.bias': 'I64', '.scale': 'F32', '.zero_point': 'I64' };

/** Reads an int8 model file; every inconsistency is a WeightsError naming the key. */
export function decodeQuantizedModel(bytes: ArrayBuffer | ArrayBufferView): QuantizedModel {
  const file = parseSafetensors(bytes);
  if (file.metadata.format !== INT8_MODEL_FORMAT) {
    throw new WeightsError(`not an int8 model: expected .safetensors metadata format '${INT8_MODEL_FORMAT}', got ${file.metadata.format === undefined ? 'none' : `'${file.metadata.format}'`} (make one with cnn quantize)`, { code: 'format' });
  }
  const residualAdds = file.metadata['residual-adds'] ?? 'fused';
  if (residualAdds !== 'fused' && residualAdds !== 'separate') throw new WeightsError(`metadata 'residual-adds' must be 'fused' or 'separate', got '${residualAdds}'`, { code: 'format' });
  const groups = new Map<string, Map<string, SafetensorsEntry>>();
  for (const entry of file.entries.values()) {
    const suffix = [...SUFFIXES].sort((a, b) => b.length - a.length).find((s) => entry.key.endsWith(s));
    if (!suffix) throw new WeightsError(`'${entry.key}': an int8 model holds only keys ending in ${SUFFIXES.join(', ')}`, { code: 'format' });
    if (entry.dtype !== DTYPE_OF[suffix]) throw new WeightsError(`'${entry.key}': expected dtype ${DTYPE_OF[suffix]}, got ${entry.dtype}`, { code: 'format' });
    const name = entry.key.slice(0, -suffix.length);
    if (!groups.has(name)) groups.set(name, new Map());
    groups.get(name)!.set(suffix, entry);
  }
  // a copy, aligned for the typed views (a Node Buffer's slice would share the whole file's memory)
  const read = (e: SafetensorsEntry) => new Uint8Array(file.bytes.subarray(e.begin, e.end)).buffer;
  const layers = new Map<string, QuantizedLayer>();
  const activations = new Map<string, ActivationQuant>();
  for (const [name, g] of groups) {
    const [w, ws, b, s, z] = SUFFIXES.map((x) => g.get(x));
    if (w || ws || b) {
      if (!w || !ws || !b) throw new WeightsError(`int8 layer '${name}' needs '.weight', '.weight_scale' and '.bias'; it has ${[...g.keys()].filter((k) => k !== '.scale' && k !== '.zero_point').join(', ')}`, { code: 'format' });
      const outC = w.shape[0];
      if (w.shape.length < 2 || ws.shape.join() !== `${outC}` || b.shape.join() !== `${outC}`) {
        throw new WeightsError(`int8 layer '${name}': weight [${w.shape.join(', ')}] needs weight_scale and bias of shape [${outC}], got [${ws.shape.join(', ')}] and [${b.shape.join(', ')}]`, { code: 'format' });
      }
      const weightScale = new Float32Array(read(ws));
      const bad = weightScale.findIndex((v) => !(v > 0 && v < Infinity));
      if (bad >= 0) throw new WeightsError(`int8 layer '${name}': weight_scale[${bad}] must be positive and finite, got ${weightScale[bad]}`, { code: 'format' });
      const bias = Array.from(new BigInt64Array(read(b)), Number);
      const wide = bias.findIndex((v) => !(Math.abs(v) <= 2 ** 31 - 1));
      if (wide >= 0) throw new WeightsError(`int8 layer '${name}': bias[${wide}] ${bias[wide]} is beyond int32`, { code: 'format' });
      layers.set(name, { weight: new Int8Array(read(w)), weightScale, bias: Int32Array.from(bias), shape: w.shape });
    }
    if (s || z) {
      if (!s || !z || s.shape.join() !== '1' || z.shape.join() !== '1') throw new WeightsError(`quantised tensor '${name}' needs '.scale' F32 [1] and '.zero_point' I64 [1]`, { code: 'format' });
      const scale = new Float32Array(read(s))[0];
      const zeroPoint = Number(new BigInt64Array(read(z))[0]);
      if (!(scale > 0 && scale < Infinity) || !(zeroPoint >= 0 && zeroPoint <= 255)) {
        throw new WeightsError(`quantised tensor '${name}': expected a positive finite scale and a zero point in [0, 255], got ${scale} and ${zeroPoint}`, { code: 'format' });
      }
      activations.set(name, { scale, zeroPoint });
    }
  }
  return { layers, activations, residualAdds };
}
