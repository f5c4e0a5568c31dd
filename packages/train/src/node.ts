// @cnn/train/node: Node-only data loading (node:fs, node:zlib), kept out of the browser entry.
import { readFile, access } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { FASHION_MNIST_CLASSES, fashionMnistFromIdx, parseFashionMnistIdx, type IdxArray, type ImageDataset } from './idx.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Raised when a dataset's files are not installed; the message says how to get them. */
export class DatasetMissingError extends Error {
  override name = 'DatasetMissingError';
}

/** Loads Debian's dataset-fashion-mnist (gzipped IDX), padded to 32x32 and normalised. */
export async function loadFashionMnist(split: 'train' | 'test', dir = FASHION_MNIST_DIR): Promise<ImageDataset> {
  const { images, labels } = await readFashionMnistFiles(split, dir);
  return fashionMnistFromIdx(images, labels);
}

/** A split of Fashion-MNIST as stored: `images` [count, 28, 28] bytes (0 background, 255 ink), `labels` 0..9. */
export interface RawImageSet {
  readonly images: IdxArray;
  readonly labels: Uint8Array;
  readonly classes: readonly string[];
}

/** Reads a split of Debian's dataset-fashion-mnist without preprocessing it (the 28x28 bytes as stored). */
export async function readFashionMnist(split: 'train' | 'test', dir = FASHION_MNIST_DIR): Promise<RawImageSet> {
  const files = await readFashionMnistFiles(split, dir);
  return { ...parseFashionMnistIdx(files.images, files.labels), classes: FASHION_MNIST_CLASSES };
}

async function readFashionMnistFiles(split: 'train' | 'test', dir: string): Promise<{ images: Uint8Array; labels: Uint8Array }> {
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesPath = join(dir, `${prefix}-images-idx3-ubyte.gz`);
  const labelsPath = join(dir, `${prefix}-labels-idx1-ubyte.gz`);
  for (const path of [imagesPath, labelsPath]) {
    try {
      await access(path);
    } catch {
      throw new DatasetMissingError(
        `Fashion-MNIST file ${path} is missing; install it with \`apt-get install dataset-fashion-mnist\` (Debian) or pass the directory holding the four *-ubyte.gz files`,
      );
    }
  }
  const [images, labels] = await Promise.all([readFile(imagesPath), readFile(labelsPath)]);
  return { images: new Uint8Array(gunzipSync(images)), labels: new Uint8Array(gunzipSync(labels)) };
}
