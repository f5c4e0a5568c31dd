// Checkpoints: weights, optimiser moments, epoch and config in one .safetensors file. (Weights to
// ship small are written as F16 by @cnn/core's encodeSafetensors, which `cnn convert` uses.)
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
