// Checkpoints (weights, optimiser moments, epoch and config in one .safetensors file) and a
// float16 weights writer for shipping trained models small.
import { WeightsError, parseSafetensors, readFloat32, writeSafetensors, type WeightTensor } from '@cnn/core';
import type { TrainableNetwork } from './network.js';
import type { Trainer, TrainConfig } from './trainer.js';
import type { FloatArray } from './kernels/types.js';

const OPTIMIZER_PREFIX = 'optimizer.';

export interface CheckpointInfo {
  /** epochs completed */
  readonly epoch: number;
  readonly config: TrainConfig;
  /** training seconds so far, summed over resumed runs */
  readonly seconds: number;
  /** what the caller stored beside the config (e.g. the CLI's dataset limits) */
  readonly extra: Record<string, string>;
}

/** Everything needed to continue a run exactly: weights and buffers by torchvision key, optimiser state, progress. */
export function encodeCheckpoint(net: TrainableNetwork, trainer: Trainer, seconds: number, extra: Record<string, string> = {}): Uint8Array {
  const tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>(net.exportWeights());
  const state = trainer.state();
  for (const [key, buf] of state.optimizer.buffers) tensors.set(OPTIMIZER_PREFIX + key, { shape: [buf.length], data: Float32Array.from(buf) });
  return writeSafetensors(tensors, {
    format: 'cnn-train-checkpoint',
    epoch: String(state.epoch),
    optimizer_steps: String(state.optimizer.steps),
    seconds: String(seconds),
    config: JSON.stringify(trainer.config),
    extra: JSON.stringify(extra),
  });
}

export interface DecodedCheckpoint extends CheckpointInfo {
  readonly weights: Map<string, WeightTensor>;
  readonly optimizer: { steps: number; buffers: Map<string, FloatArray> };
}

export function decodeCheckpoint(bytes: Uint8Array): DecodedCheckpoint {
  const file = parseSafetensors(bytes);
  const meta = file.metadata;
  if (meta.format !== 'cnn-train-checkpoint') throw new WeightsError(`not a training checkpoint: expected metadata format 'cnn-train-checkpoint', got '${meta.format ?? 'none'}'`);
  const weights = new Map<string, WeightTensor>();
  const buffers = new Map<string, FloatArray>();
  for (const [key, entry] of file.entries) {
    const data = readFloat32(file, entry);
    if (key.startsWith(OPTIMIZER_PREFIX)) buffers.set(key.slice(OPTIMIZER_PREFIX.length), data);
    else weights.set(key, { shape: entry.shape, data });
  }
  return {
    epoch: Number(meta.epoch),
    seconds: Number(meta.seconds),
    config: JSON.parse(meta.config) as TrainConfig,
    extra: meta.extra ? (JSON.parse(meta.extra) as Record<string, string>) : {},
    weights,
    optimizer: { steps: Number(meta.optimizer_steps), buffers },
  };
}

/** IEEE half precision, round to nearest even (what torch's .half() does). */
export function toFloat16Bits(value: number): number {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && half & 1)) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return half;
}

/** A .safetensors file with every tensor stored as F16 (half the bytes of F32); @cnn/core reads it back to float32. */
export function writeSafetensorsF16(tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [key, t] of tensors) {
    header[key] = { dtype: 'F16', shape: t.shape, data_offsets: [offset, offset + t.data.length * 2] };
    offset += t.data.length * 2;
  }
  let json = JSON.stringify(header);
  while ((8 + new TextEncoder().encode(json).length) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    for (let i = 0; i < t.data.length; i++, at += 2) view.setUint16(at, toFloat16Bits(t.data[i]), true);
  }
  return out;
}
