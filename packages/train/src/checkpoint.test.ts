// Float16 weights and training checkpoints round-trip through @cnn/core's safetensors reader.
import { describe, expect, it } from 'vitest';
import { parseSafetensors, readFloat32 } from '@cnn/core';
import { lenet5Architecture } from '@cnn/lenet';
import { decodeCheckpoint, encodeCheckpoint, toFloat16Bits, writeSafetensorsF16 } from './checkpoint.js';
import { TrainableNetwork } from './network.js';
import { Trainer } from './trainer.js';

describe('float16 weights', () => {
  it('rounds to nearest even like torch.half(), with subnormals, infinities and NaN', () => {
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(65520)).toBe(0x7c00); // rounds up to infinity
    expect(toFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(toFloat16Bits(2 ** -26)).toBe(0x0000);
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway: ties to even
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toFloat16Bits(Infinity)).toBe(0x7c00);
    expect(toFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
  });

  it('writes F16 tensors that @cnn/core reads back within half precision', () => {
    const data = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i) * (i + 1));
    const file = parseSafetensors(writeSafetensorsF16(new Map([['w', { shape: [10, 10], data }]]), { note: 'x' }));
    const entry = file.entries.get('w')!;
    expect(entry.dtype).toBe('F16');
    const back = readFloat32(file, entry);
    for (let i = 0; i < data.length; i++) expect(Math.abs(back[i] - data[i])).toBeLessThanOrEqual(Math.abs(data[i]) * 2 ** -11);
    expect(file.metadata.note).toBe('x');
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
