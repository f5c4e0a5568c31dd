// The IDX format of MNIST-style datasets (big-endian header, unsigned-byte data), read defensively.
import { ShapeError } from '@cnn/core';

/** A labelled image set: `images` is [count, 1, size, size] float32, normalised; `labels` 0..classes-1. */
export interface ImageDataset {
  readonly images: Float32Array;
  readonly labels: Uint8Array;
  readonly count: number;
  /** [c, h, w] of one image */
  readonly shape: readonly [number, number, number];
  readonly classes: readonly string[];
}

export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/** Reads an (already decompressed) IDX file of unsigned bytes. */
export function parseIdx(bytes: Uint8Array, what = 'IDX file'): IdxArray {
  if (bytes.length < 4) throw new ShapeError(`${what}: expected at least a 4-byte magic number, got ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(0) !== 0 || bytes[2] !== 0x08) {
    throw new ShapeError(`${what}: expected magic 0x000008NN (unsigned bytes), got 0x${view.getUint32(0).toString(16).padStart(8, '0')}`);
  }
  const ndim = bytes[3];
  const header = 4 + 4 * ndim;
  if (ndim === 0 || bytes.length < header) throw new ShapeError(`${what}: header for ${ndim} dimensions is truncated (${bytes.length} bytes)`);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - header !== size) {
    throw new ShapeError(`${what}: dimensions [${dims.join(', ')}] need ${size} bytes of data, the file has ${bytes.length - header}`);
  }
  return { dims, data: bytes.subarray(header) };
}

export interface ImagePreprocessing {
  /** pad each side with zeros (before normalising, so padding is background), e.g. 2 for 28 -> 32 */
  padding: number;
  mean: number;
  std: number;
}

/** Pads and normalises [n, h, w] bytes to a float32 [n, 1, h + 2p, w + 2p] batch: ((x / 255) - mean) / std. */
export function toNormalisedImages(images: IdxArray, p: ImagePreprocessing): Float32Array {
  const [n, h, w] = images.dims;
  if (images.dims.length !== 3) throw new ShapeError(`expected images [n, h, w], got [${images.dims.join(', ')}]`);
  const oh = h + 2 * p.padding;
  const ow = w + 2 * p.padding;
  const out = new Float32Array(n * oh * ow).fill((0 - p.mean) / p.std);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        out[(i * oh + y + p.padding) * ow + x + p.padding] = (images.data[(i * h + y) * w + x] / 255 - p.mean) / p.std;
      }
    }
  }
  return out;
}

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

/** Fashion-MNIST as LeNet-5 wants it: padded to 32x32, mean 0.2860, std 0.3530 (the training set's). */
export const FASHION_MNIST_PREPROCESSING: ImagePreprocessing = { padding: 2, mean: 0.286, std: 0.353 };

/** Builds a dataset from the raw (decompressed) IDX image and label files. */
export function fashionMnistFromIdx(imageBytes: Uint8Array, labelBytes: Uint8Array, preprocessing = FASHION_MNIST_PREPROCESSING): ImageDataset {
  const { images, labels } = parseFashionMnistIdx(imageBytes, labelBytes);
  const size = images.dims[1] + 2 * preprocessing.padding;
  return {
    images: toNormalisedImages(images, preprocessing),
    labels,
    count: images.dims[0],
    shape: [1, size, images.dims[2] + 2 * preprocessing.padding],
    classes: FASHION_MNIST_CLASSES,
  };
}

/** The raw (decompressed) IDX image and label files, checked against each other: bytes as stored. */
export function parseFashionMnistIdx(imageBytes: Uint8Array, labelBytes: Uint8Array): { images: IdxArray; labels: Uint8Array } {
  const images = parseIdx(imageBytes, 'images');
  const labels = parseIdx(labelBytes, 'labels');
  if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
    throw new ShapeError(`labels [${labels.dims.join(', ')}] do not match images [${images.dims.join(', ')}]`);
  }
  for (let i = 0; i < labels.data.length; i++) {
    if (labels.data[i] >= FASHION_MNIST_CLASSES.length) throw new ShapeError(`label ${labels.data[i]} at index ${i} is outside 0..9`);
  }
  return { images, labels: labels.data };
}
