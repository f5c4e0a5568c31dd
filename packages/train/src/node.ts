// @cnn/train/node: Node-only data loading (node:fs, node:zlib), kept out of the browser entry.
import { readFile, access } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fashionMnistFromIdx, type ImageDataset } from './idx.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Raised when a dataset's files are not installed; the message says how to get them. */
export class DatasetMissingError extends Error {
  override name = 'DatasetMissingError';
}

/** Loads Debian's dataset-fashion-mnist (gzipped IDX), padded to 32x32 and normalised. */
export async function loadFashionMnist(split: 'train' | 'test', dir = FASHION_MNIST_DIR): Promise<ImageDataset> {
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
  return fashionMnistFromIdx(new Uint8Array(gunzipSync(images)), new Uint8Array(gunzipSync(labels)));
}
