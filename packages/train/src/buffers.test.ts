// Training passes reuse their arrays from step to step, but never while an earlier pass may still need them.
import { describe, expect, it } from 'vitest';
import { lenet5Architecture } from '@cnn/lenet';
import { TrainableNetwork } from './network.js';
import { softmaxCrossEntropy } from './ops.js';
import { Random } from './random.js';

const random = new Random(5);
const batch = 4;
const images = () => Float32Array.from({ length: batch * 1024 }, () => random.uniform(-1, 1));
const labels = [1, 2, 3, 4];

describe('pass buffers', () => {
  it('a trained step reuses the previous step’s activations and gradients instead of allocating', () => {
    const net = TrainableNetwork.fromArchitecture(lenet5Architecture, { seed: 2 });
    const first = net.forward(images(), batch, { training: true });
    softmaxCrossEntropy(first, labels).backward();
    const firstGrad = first.grad;
    const second = net.forward(images(), batch, { training: true });
    expect(second.data).toBe(first.data);
    softmaxCrossEntropy(second, labels).backward();
    expect(second.grad).toBe(firstGrad);
  });

  it('reused gradient buffers start from zero: the same step twice gives the same gradients', () => {
    const net = TrainableNetwork.fromArchitecture(lenet5Architecture, { seed: 2 });
    const x = images();
    const grads = () => {
      net.zeroGrad();
      softmaxCrossEntropy(net.forward(x, batch, { training: true }), labels).backward();
      return Float32Array.from(net.parameter('c1.weight').grad!);
    };
    const once = grads();
    expect(grads()).toEqual(once);
    expect(grads()).toEqual(once);
  });

  it('two forward passes before a backward keep separate arrays', () => {
    const net = TrainableNetwork.fromArchitecture(lenet5Architecture, { seed: 2 });
    const a = net.forward(images(), batch, { training: true });
    const kept = Float32Array.from(a.data);
    const b = net.forward(images(), batch, { training: true });
    expect(b.data).not.toBe(a.data);
    expect(a.data).toEqual(kept);
    // a pass that never saw a backward sweep is never recycled either
    softmaxCrossEntropy(b, labels).backward();
    const c = net.forward(images(), batch, { training: true });
    expect(c.data).toBe(b.data);
    expect(a.data).toEqual(kept);
  });
});
