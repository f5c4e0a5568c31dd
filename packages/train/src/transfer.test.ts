// A linear probe on ResNet-18 features (a tap of the inference path) learns Fashion-MNIST classes.
import { describe, expect, it } from 'vitest';
import { resnet18 } from '@cnn/resnet';
import { createWasmBackend } from '@cnn/kernels/wasm';
import { loadFashionMnist } from './node.js';
import { extractFeatures, trainLinearProbe } from './transfer.js';
import type { ImageDataset } from './idx.js';

/** Fashion-MNIST 32x32 grayscale copied to 3 channels, the first `count` images from `offset`. */
function asRgb(d: ImageDataset, offset: number, count: number) {
  const out = new Float32Array(count * 3 * 1024);
  for (let i = 0; i < count; i++) for (let ch = 0; ch < 3; ch++) out.set(d.images.subarray((offset + i) * 1024, (offset + i + 1) * 1024), (i * 3 + ch) * 1024);
  return { images: out, labels: d.labels.subarray(offset, offset + count) };
}

describe('transfer learning', () => {
  it('trains a linear head on cached ResNet-18 layer4 features that beats chance on held-out images', async () => {
    const data = await loadFashionMnist('test');
    const train = asRgb(data, 0, 400);
    const held = asRgb(data, 5000, 200);
    // No pretrained ImageNet weights can be downloaded here: the backbone has the seeded test
    // weights, so its features are random projections. Real weights do far better.
    const model = resnet18().useGeneratedWeights(1);
    const runner = await model.compile(await createWasmBackend(), { batch: 50, inputSize: [32, 32], outputs: ['layer4'] });
    const trainFeatures = await extractFeatures(runner, train.images, 400);
    const heldFeatures = await extractFeatures(runner, held.images, 200);
    runner.dispose();
    expect(trainFeatures.size).toBe(512);
    const head = trainLinearProbe(trainFeatures, train.labels, { classes: 10, epochs: 40, seed: 1 });
    const logits = head.forward(heldFeatures.features, 200);
    let correct = 0;
    for (let r = 0; r < 200; r++) {
      let best = 0;
      for (let k = 1; k < 10; k++) if (logits.data[r * 10 + k] > logits.data[r * 10 + best]) best = k;
      if (best === held.labels[r]) correct++;
    }
    console.log(`linear probe on random-weight ResNet-18 layer4 features: ${(correct / 2).toFixed(1)}% on 200 held-out images`);
    expect(correct / 200).toBeGreaterThan(0.3);
  });
});
