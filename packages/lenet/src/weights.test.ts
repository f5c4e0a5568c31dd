// The shipped Fashion-MNIST weights load on the inference path and reach their model card's accuracy.
import { describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { createWasmBackend } from '@cnn/kernels/wasm';
import { FASHION_MNIST_WEIGHTS_URL, LENET5_FASHION_MNIST, lenet5FashionMnist, prepareFashionMnistImage } from './weights.js';

/** The first `count` test images and labels of Debian's dataset-fashion-mnist, read directly. */
function testImages(count: number) {
  const dir = '/usr/share/datasets/fashion-mnist';
  const images = gunzipSync(readFileSync(`${dir}/t10k-images-idx3-ubyte.gz`)).subarray(16);
  const labels = gunzipSync(readFileSync(`${dir}/t10k-labels-idx1-ubyte.gz`)).subarray(8);
  const input = new Float32Array(count * 32 * 32);
  for (let i = 0; i < count; i++) input.set(prepareFashionMnistImage(images.subarray(i * 784, (i + 1) * 784)), i * 1024);
  return { input, labels: labels.subarray(0, count) };
}

describe('LeNet-5 trained on Fashion-MNIST (@cnn/lenet/weights)', () => {
  it('is a small F16 file', () => {
    const bytes = statSync(fileURLToPath(FASHION_MNIST_WEIGHTS_URL)).size;
    expect(bytes).toBeLessThan(150_000);
  });

  it('classifies the whole held-out test set with the accuracy its model card states', async () => {
    const model = await lenet5FashionMnist();
    const runner = await model.compile(await createWasmBackend(), { batch: 1000 });
    const { input, labels } = testImages(10_000);
    let correct = 0;
    for (let s = 0; s < 10_000; s += 1000) {
      const logits = await runner.run(input.subarray(s * 1024, (s + 1000) * 1024));
      logits.argmax().forEach((p, i) => {
        if (p === labels[s + i]) correct++;
      });
    }
    runner.dispose();
    expect(correct / 10_000).toBeCloseTo(LENET5_FASHION_MNIST.testAccuracy, 3);
    expect(correct / 10_000).toBeGreaterThanOrEqual(0.9);
  });
});
