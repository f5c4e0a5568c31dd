import { describe, expect, it } from 'vitest';
import { Model, type Architecture } from './model.js';
import { ShapeError } from './errors.js';
import { LIMITS } from './limits.js';

// like LeNet: a flatten ties the classifier to the native size; 'features' is a tap before it
const fixedHead: Architecture = {
  name: 'fixed',
  inputShape: [1, 8, 8],
  metadata: { parameters: 0 },
  define(b, x) {
    const f = b.output('features', b.relu(b.conv2d(x, 'conv', { outChannels: 4, kernelSize: 3 })));
    b.output('logits', b.linear(b.flatten(f), 'fc', 2));
  },
};

const timed = (f: () => unknown): { error: ShapeError; ms: number } => {
  const t = performance.now();
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ShapeError);
    return { error: e as ShapeError, ms: performance.now() - t };
  }
  throw new Error('expected a ShapeError');
};

describe('limits checked before work proportional to them', () => {
  const model = new Model(fixedHead).useGeneratedWeights();

  it('refuses an input side over the limit at once, naming the limit', () => {
    const { error, ms } = timed(() => model.plan({ inputSize: [20_000, 20_000] }));
    expect(error.code).toBe('limit');
    expect(error.message).toMatch(/inputSize 20000x20000 exceeds the limit of 16384 pixels a side/);
    expect(ms).toBeLessThan(100);
  });

  it('says that a flattening classifier fixes the input size, before lowering anything', () => {
    const { error, ms } = timed(() => model.plan({ inputSize: [2048, 2048] }));
    expect(error.message).toMatch(/fixed at inputSize 2048x2048 needs 'fc.weight' of shape \[2, 16744464\], but its weights are \[2, 144\]: the layers before it fix the input to 8x8/);
    expect(ms).toBeLessThan(100);
    // feature taps before the classifier still work at any size
    expect(model.plan({ inputSize: [16, 16], outputs: ['features'] }).outputs[0].shape).toEqual([1, 14, 14, 4]);
  });

  it('refuses an activation larger than the arena limit before planning it', () => {
    const { error, ms } = timed(() => model.plan({ inputSize: [16_000, 16_000], outputs: ['features'] }));
    expect(error.code).toBe('limit');
    expect(error.message).toMatch(/'conv' outputs \[1, 4, 15998, 15998\], 4094976064 bytes \(3.8 GiB\) alone, over the activation arena limit of 2147483648 bytes \(2.0 GiB\)/);
    expect(ms).toBeLessThan(100);
    expect(LIMITS.arenaBytes).toBe(2 ** 31);
  });

  it('refuses malformed sizes and batches with typed errors', () => {
    expect(timed(() => model.plan({ inputSize: [NaN, 3] as never })).error.message).toMatch(/inputSize must be \[height, width\] in positive integers, got \[NaN, 3\]/);
    expect(timed(() => model.plan({ inputSize: 5 as never })).error.message).toMatch(/got 5/);
    expect(timed(() => model.plan({ batch: 0 })).error.message).toMatch(/batch must be a positive integer, got 0/);
  });
});
