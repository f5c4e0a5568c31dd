// classify / embed / taps on skimage photographs, against torchvision's whole pipeline
// (Pillow image -> ImageClassification preset -> torchvision model with the same weights).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensors, loadWeights } from '@cnn/core';
import { GOLDEN_TOLERANCE } from '@cnn/core/testing';
import { createWasmBackend } from '@cnn/kernels/wasm';
import { createJsBackend } from '@cnn/kernels/js';
import { IMAGENET_LABELS } from '@cnn/labels/imagenet';
import { FASHION_MNIST_LABELS } from '@cnn/labels/mnist';
import { lenet5 } from '@cnn/lenet';
import { resnet18 } from '@cnn/resnet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClassifier, type ImageClassifier } from './classifier.js';
import { readImage } from './node.js';
import type { Pixels } from './pixels.js';
import { discriminativeResnet18, runReference, SKIMAGE, type ReferenceModel } from './test-reference.js';

const PHOTOS = ['chelsea.png', 'coffee.png', 'astronaut.png', 'camera.png'].map((f) => join(SKIMAGE, f));

let dir: string;
let images: Pixels[];
let torch: ReferenceModel;
let classifier: ImageClassifier;

let server: Server;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cnn-classify-'));
  images = await Promise.all(PHOTOS.map((f) => readImage(f)));
  const backend = await createWasmBackend({ threads: 1 });
  const model = await discriminativeResnet18(images, backend);
  const weights = join(dir, 'resnet18.safetensors');
  writeFileSync(weights, writeSafetensors(model.getWeights()));
  // torchvision loads those weights, runs its pipeline, and writes them again with torch.save
  const pth = join(dir, 'resnet18-discriminative.pth');
  torch = runReference({ images: PHOTOS, presets: [model.architecture.metadata.preprocessing!], model: 'resnet18', weights, pth }).model!;
  // the classifier's model loads the torch-written .pth over local HTTP, as an app would
  server = createServer((req, res) => {
    if (req.url === '/weights/resnet18-discriminative.pth') res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(readFileSync(pth));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const fromPth = await loadWeights(resnet18(), `http://127.0.0.1:${port}/weights/resnet18-discriminative.pth`, { cache: false });
  expect(fromPth.weightsInfo?.format).toBe('pytorch-zip');
  classifier = await createClassifier(fromPth, { backend, labels: IMAGENET_LABELS, taps: ['layer3'], batch: 3 });
});
afterAll(() => {
  classifier?.dispose();
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const absMax = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('an image classifier with torch-written .pth weights over HTTP matches torchvision on photographs', () => {
  it('gives torchvision’s top-5 classes and probabilities for each photograph (batched, padded)', async () => {
    const results = await classifier.classify(images, { topK: 5 });
    expect(results).toHaveLength(PHOTOS.length);
    results.forEach((top, i) => {
      const logitScale = absMax(torch.logits[i]);
      // softmax moves each probability by at most twice the largest logit change
      const tolerance = 2 * GOLDEN_TOLERANCE.wasm * logitScale;
      const expected = torch.probabilities[i].map((p, index) => ({ index, p })).sort((a, b) => b.p - a.p);
      expect(expected[0].index, 'torchvision tells the photographs apart').toBe(i);
      expect(top.map((c) => c.index), PHOTOS[i]).toEqual(expected.slice(0, 5).map((e) => e.index));
      const worst = Math.max(...top.map((c) => Math.abs(c.probability - torch.probabilities[i][c.index])));
      console.log(`${PHOTOS[i].split('/').pop()}: top-1 ${top[0].label} p=${top[0].probability.toFixed(4)}, max |dp| ${worst.toExponential(2)} (bound ${tolerance.toExponential(2)})`);
      for (const c of top) {
        expect(c.label).toBe(IMAGENET_LABELS[c.index]);
        expect(Math.abs(c.probability - torch.probabilities[i][c.index]), `${PHOTOS[i]} class ${c.index}`).toBeLessThanOrEqual(tolerance);
      }
    });
  });

  it('embeds each photograph as the last linear layer’s input, as torchvision computes it', async () => {
    const vectors = await classifier.embed(images);
    vectors.forEach((v, i) => {
      expect(v).toHaveLength(512);
      const scale = absMax(torch.embedding[i]);
      const error = absMax(Array.from(v, (x, k) => x - torch.embedding[i][k])) / scale;
      expect(error).toBeLessThanOrEqual(GOLDEN_TOLERANCE.wasm);
    });
  });

  it('returns feature taps with the logits, one image at a time', async () => {
    const [one] = await classifier.features(images[0]);
    expect(one.layer3.shape).toEqual([1, 256, 14, 14]);
    expect(one.logits.shape).toEqual([1, 1000]);
    const single = await classifier.classify(images[0], { topK: 1 });
    expect(single[0].index).toBe((await classifier.classify(images, { topK: 1 }))[0][0].index);
  });

  it('refuses an unknown tap, a bad topK and labels of the wrong length, saying what it expected', async () => {
    const model = resnet18().useGeneratedWeights(3);
    const backend = createJsBackend();
    await expect(createClassifier(model, { backend, taps: ['layer9'] })).rejects.toThrow(/unknown feature tap\(s\) 'layer9'; expected some of layer1, layer2, layer3, layer4/);
    await expect(createClassifier(model, { backend, labels: ['cat'] })).rejects.toThrow('expected 1000 labels, one per class, got 1');
    await expect(classifier.classify(images[0], { topK: 0 })).rejects.toThrow('topK must be a positive integer, got 0');
    await expect(classifier.classify({ data: new Uint8Array(5), width: 2, height: 2 })).rejects.toThrow(/5 bytes is not 1, 2, 3 or 4 channels of a 2x2 image/);
  });
});

describe('LeNet-5 takes any image as 32x32 grayscale', () => {
  it('classifies a colour photograph through Pillow’s convert("L") with Fashion-MNIST names', async () => {
    const model = lenet5().useGeneratedWeights(1);
    const clf = await createClassifier(model, { backend: createJsBackend(), labels: FASHION_MNIST_LABELS });
    const input = await clf.preprocess([images[0]]);
    expect(input.shape).toEqual([1, 1, 32, 32]);
    const top = await clf.classify(images[0], { topK: 10 });
    expect(top.map((c) => c.label).sort()).toEqual([...FASHION_MNIST_LABELS].sort());
    expect(top.reduce((s, c) => s + c.probability, 0)).toBeCloseTo(1, 12);
    expect((await clf.embed(images[0])).length).toBe(84);
    clf.dispose();
  });
});

describe('image inputs in Node', () => {
  it('point to @cnn/vision/node for URLs and Blobs, which only browsers decode', async () => {
    const clf = await createClassifier(lenet5().useGeneratedWeights(1), { backend: createJsBackend() });
    await expect(clf.classify('cat.png')).rejects.toThrow(/only in browsers; in Node use readImage\(path\)/);
    await expect(clf.classify(new Blob([new Uint8Array(4)]))).rejects.toThrow(/decoding a Blob needs createImageBitmap/);
    await expect(clf.classify({ data: new Float32Array(4), width: 2, height: 2 } as never)).rejects.toThrow(/must be a Uint8Array or Uint8ClampedArray, got Float32Array/);
    clf.dispose();
  });
});
