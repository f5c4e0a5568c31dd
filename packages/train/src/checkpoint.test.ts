// Float16 weights and training checkpoints round-trip through @cnn/core's safetensors reader.
import { describe, expect, it } from 'vitest';
import { encodeSafetensors, parseSafetensors, readFloat32 } from '@cnn/core';
import { lenet5Architecture } from '@cnn/lenet';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint.js';
import { TrainableNetwork } from './network.js';
import { Trainer } from './trainer.js';

describe('trained weights in float16', () => {
  it('are written by @cnn/core’s encodeSafetensors and read back within half precision', () => {
    const weights = TrainableNetwork.fromArchitecture(lenet5Architecture, { seed: 3 }).exportWeights();
    const decoded = { tensors: new Map(weights), integerKeys: new Set<string>(), integers: new Map(), format: 'safetensors' as const, notes: [] };
    const file = parseSafetensors(encodeSafetensors(decoded, 'f16', { note: 'x' }));
    expect(file.metadata.note).toBe('x');
    for (const [key, t] of weights) {
      const entry = file.entries.get(key)!;
      expect(entry.dtype, key).toBe('F16');
      const back = readFloat32(file, entry);
      // round to nearest: half a unit in the last of 11 significant bits, or of the subnormals' fixed 2^-24 step
      for (let i = 0; i < t.data.length; i++) expect(Math.abs(back[i] - t.data[i])).toBeLessThanOrEqual(Math.max(Math.abs(t.data[i]) * 2 ** -11, 2 ** -25));
    }
  });
});

describe('checkpoints', () => {
  it('keep weights, optimiser moments, epoch, config and caller data', async () => {
    const net = TrainableNetwork.fromArchitecture(lenet5Architecture, { seed: 2 });
    const images = new Float32Array(8 * 1024).map((_, i) => Math.sin(i));
    const data = { images, labels: Uint8Array.from({ length: 8 }, (_, i) => i), count: 8, shape: [1, 32, 32] as const, classes: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'] };
    const trainer = new Trainer(net, data, { epochs: 2, batchSize: 4, seed: 1, optimizer: 'adamw', lr: 1e-3, weightDecay: 0.01, schedule: 'cosine' });
    await trainer.runEpoch();
    const decoded = decodeCheckpoint(encodeCheckpoint(net, trainer, 12.5, { limit: '8' }));
    expect(decoded.epoch).toBe(1);
    expect(decoded.seconds).toBe(12.5);
    expect(decoded.config).toEqual(trainer.config);
    expect(decoded.extra).toEqual({ limit: '8' });
    expect(decoded.optimizer.steps).toBe(2);
    expect([...decoded.weights.get('c1.weight')!.data]).toEqual([...net.parameter('c1.weight').data]);
    expect(decoded.optimizer.buffers.get('c1.weight.exp_avg_sq')!.length).toBe(150);
  });
});
