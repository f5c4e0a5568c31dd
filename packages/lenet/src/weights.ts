// @cnn/lenet/weights: LeNet-5 trained on Fashion-MNIST by @cnn/train (`cnn train`), shipped as F16
// .safetensors in this package's weights/ folder. A separate entry point, so an app that imports
// only the architecture never loads or bundles the weights.
import { loadWeights, type Model } from '@cnn/core';
import { lenet5 } from './index.js';

/** The weights file (124,412 bytes, F16, torchvision keys c1, c3, c5, f6, output); bundlers see this URL as an asset. */
export const FASHION_MNIST_WEIGHTS_URL = new URL('../weights/lenet5-fashion-mnist.safetensors', import.meta.url);

export const FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"] as const;

/** The model card of the shipped weights (weights/lenet5-fashion-mnist.model-card.md has the confusion matrix). */
export const LENET5_FASHION_MNIST = {
  /** top-1 on the 10,000 Fashion-MNIST test images, F16 weights on the wasm inference backend */
  testAccuracy: 0.9016,
  /** the same run's float32 weights, as `cnn train` measured them */
  testAccuracyFloat32: 0.9016,
  epochs: 15,
  batch: 128,
  optimizer: 'adamw',
  peakLr: 0.004,
  weightDecay: 0.01,
  schedule: 'onecycle',
  seed: 1,
  trainingSeconds: 464.8,
  threads: 1,
  kernels: 'wasm-simd',
  command: 'cnn train lenet5 --dataset fashion-mnist --epochs 15 --batch 128 --lr 0.004 --weight-decay 0.01 --optimizer adamw --schedule onecycle --seed 1 --kernels wasm',
  /** 28x28 bytes -> zero-padded to 32x32 -> x / 255 -> (x - mean) / std */
  preprocessing: { pad: 2, size: [32, 32], mean: 0.286, std: 0.353 },
  bytes: 124412,
} as const;

/** One 28x28 grayscale image (bytes 0-255, row-major) as the model's 1x32x32 input. */
export function prepareFashionMnistImage(pixels: ArrayLike<number>): Float32Array {
  if (pixels.length !== 784) throw new RangeError(`expected 28x28 = 784 pixels, got ${pixels.length}`);
  const { mean, std } = LENET5_FASHION_MNIST.preprocessing;
  const out = new Float32Array(1024).fill(-mean / std);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) out[(y + 2) * 32 + x + 2] = (pixels[y * 28 + x] / 255 - mean) / std;
  return out;
}

/** LeNet-5 with the shipped Fashion-MNIST weights loaded. */
export async function lenet5FashionMnist(): Promise<Model> {
  return loadWeights(lenet5(), FASHION_MNIST_WEIGHTS_URL);
}
