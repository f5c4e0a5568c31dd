// cnn classify: image files in, top classes out, as text and as the documented JSON.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJsBackend } from '@cnn/kernels/js';
import { lenet5 } from '@cnn/lenet';
import { buildGraph, loadWeights } from '@cnn/core';
import { EMBEDDING_OUTPUT, createClassifier, withEmbeddingOutput } from '@cnn/vision';
import { MODELS } from './registry.js';
import { readImage } from '@cnn/vision/node';
import { describe, expect, it } from 'vitest';
import { main } from './main.js';
import { machinePaths } from '@cnn/core/testing';

const SKIMAGE = machinePaths.skimageData;
const dir = mkdtempSync(join(tmpdir(), 'cnn-classify-cli-'));

async function cnn(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('embeddings of every registered model', () => {
  it('are the input of the final linear layer, sized as torchvision’s last nn.Linear in_features', () => {
    // torchvision: [m for m in model.modules() if isinstance(m, nn.Linear)][-1].in_features
    const known: Record<string, number> = {
      lenet5: 84, alexnet: 4096, vgg16: 4096, resnet18: 512, resnet50: 2048, googlenet: 1024, inception_v3: 2048, densenet121: 1024,
      mobilenet_v2: 1280, mobilenet_v3_small: 1024, mobilenet_v3_large: 1280, efficientnet_b0: 1280, convnext_tiny: 768,
    };
    for (const entry of MODELS) {
      const graph = buildGraph(withEmbeddingOutput(entry.create().architecture));
      const id = graph.outputs.get(EMBEDDING_OUTPUT);
      expect(id, entry.name).toBeDefined();
      const size = graph.nodes[id!].shape.reduce((a, b) => a * b, 1);
      if (known[entry.name] !== undefined) expect(size, entry.name).toBe(known[entry.name]);
    }
  });
});

describe('cnn classify', () => {
  it('prints the same top classes as the library, in JSON per image in argument order', async () => {
    const weights = join(dir, 'lenet.safetensors');
    expect((await cnn('generate-weights', 'lenet5', '--output', weights, '--seed', '2')).code).toBe(0);
    const files = [join(SKIMAGE, 'camera.png'), join(SKIMAGE, 'rocket.jpg')];
    const r = await cnn('classify', 'lenet5', '--weights', weights, ...files, '--top', '3', '--backend', 'js', '--labels', 'fashion-mnist', '--json');
    expect(r.code, r.err).toBe(0);
    const json = JSON.parse(r.out) as { image: string; top: { index: number; label: string; probability: number }[] }[];
    expect(json.map((e) => e.image)).toEqual(files);
    const clf = await createClassifier(await loadWeights(lenet5(), weights), { backend: createJsBackend() });
    for (const [i, entry] of json.entries()) {
      expect(entry.top).toHaveLength(3);
      const expected = await clf.classify(await readImage(files[i]), { topK: 3 });
      expect(entry.top.map((c) => c.index)).toEqual(expected.map((c) => c.index));
      expect(entry.top.map((c) => c.probability)).toEqual(expected.map((c) => c.probability));
      expect(Object.keys(entry.top[0])).toEqual(['index', 'label', 'probability']);
    }
    expect(json[0].top[0].label).toMatch(/^(T-shirt\/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot)$/);
  });

  it('prints a readable table with ImageNet names for 1000-class models', async () => {
    const r = await cnn('classify', 'mobilenet_v3_small', '--generated-weights', '1', join(SKIMAGE, 'chelsea.png'), '--top', '2');
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe(join(SKIMAGE, 'chelsea.png'));
    expect(lines.slice(1)).toHaveLength(2);
    for (const line of lines.slice(1)) expect(line).toMatch(/^\s+\d+\.\d\d%\s+\d+\s+\S/);
    expect(r.err).toBe(''); // quiet when stderr is not a terminal
  });

  it('answers --help, and rejects bad flags and unreadable images with what it expected', async () => {
    let r = await cnn('classify', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/usage: cnn classify <model>/);
    r = await cnn('classify', 'lenet5', '--generated-weights', '1', join(SKIMAGE, 'camera.png'), '--top', '0');
    expect([r.code, r.err]).toEqual([2, "cnn: --top must be a positive integer, got '0'"]);
    r = await cnn('classify', 'lenet5', '--generated-weights', '1', join(SKIMAGE, 'camera.png'), '--topk', '3');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Unknown option '--topk'.*expected .*--top VALUE/);
    r = await cnn('classify', 'lenet5', '--generated-weights', '1', join(SKIMAGE, 'camera.png'), '--labels', 'cifar');
    expect(r.err).toMatch(/--labels must be one of imagenet, mnist, fashion-mnist, none, got 'cifar'/);
    r = await cnn('classify', 'lenet5', '--generated-weights', '1');
    expect(r.code).toBe(2);
    r = await cnn('classify', 'resnet18', join(SKIMAGE, 'camera.png'));
    expect([r.code, r.err]).toEqual([2, 'cnn: cnn classify: resnet18 ships no weights; give --weights W.safetensors or --generated-weights SEED']);
    r = await cnn('classify', 'lenet5', '--weights', 'w.safetensors', '--generated-weights', '1', join(SKIMAGE, 'camera.png'));
    expect(r.err).toMatch(/give one of --weights W.safetensors and --generated-weights SEED, not both/);
    const notImage = join(dir, 'notes.txt');
    writeFileSync(notImage, 'hello');
    r = await cnn('classify', 'lenet5', '--generated-weights', '1', notImage);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/notes.txt: expected a PNG or JPEG file, got 5 bytes starting 68 65 6c 6c 6f/);
    r = await cnn('classify', 'lenet5', '--generated-weights', '1', join(SKIMAGE, 'no_time_for_that_tiny.gif'));
    expect(r.err).toMatch(/expected a PNG or JPEG file, got GIF/);
    r = await cnn('classify', 'lenet5', '--generated-weights', '1', join(dir, 'missing.png'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ENOENT/);
  });
});
