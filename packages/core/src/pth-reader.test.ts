// .safetensors is the built-in weights format; torch.save checkpoints need the opt-in reader
// ('@cnn/core/pth') outside Node. Here #core/node is the browser twin, as in a browser bundle.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WeightsError } from './errors.js';
import { hasTorch, writeTorchCheckpoints } from './testing.js';
import { decodeWeights } from './weights-decode.js';
import { loadWeights } from './model-weights.js';
import { Model, type Architecture } from './model.js';
import { writeSafetensors } from './safetensors.js';
import { pthReader } from './pth-reader.js';

vi.mock('./source.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('./source.js')>();
  return { ...original, nodeHelpers: async () => import('./node/browser.js') };
});

const torch = hasTorch();

describe.skipIf(!torch)('weights readers outside Node', () => {
  let dir = '';
  beforeAll(() => {
    dir = writeTorchCheckpoints('formats');
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => new Uint8Array(readFileSync(join(dir, name)));

  it('refuses a torch.save file with a typed error naming the import that reads it', async () => {
    for (const name of ['zip.pth', 'legacy.pth']) {
      const error = await decodeWeights(file(name)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WeightsError);
      expect((error as WeightsError).code).toBe('unsupported');
      expect((error as Error).message).toMatch(/the weights are a PyTorch checkpoint .*reads \.safetensors only: import \{ pthReader \} from '@cnn\/core\/pth' and pass loadWeights\(model, source, \{ readers: \[pthReader\] \}\)/);
    }
  });

  it('reads it with readers: [pthReader], as Node does without', async () => {
    for (const name of ['zip.pth', 'legacy.pth']) {
      const decoded = await decodeWeights(file(name), { readers: [pthReader] });
      expect(decoded.format).toBe(name === 'zip.pth' ? 'pytorch-zip' : 'pytorch-legacy');
      expect(decoded.tensors.get('conv.weight')!.shape.length).toBe(4);
      expect(decoded.integerKeys.has('bn.num_batches_tracked')).toBe(true);
    }
  });
});

describe('the built-in .safetensors reader outside Node', () => {
  it('loads a .safetensors file into a model without any reader option', async () => {
    const tiny: Architecture = { name: 'tiny', inputShape: [1, 2, 2], metadata: { parameters: 15 }, define: (b, x) => b.output('logits', b.linear(b.flatten(x), 'fc', 3)) };
    const weight = { shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i / 8) };
    const bias = { shape: [3], data: new Float32Array([1, 2, 3]) };
    const bytes = writeSafetensors(new Map([['fc.weight', weight], ['fc.bias', bias]]));
    const model = await loadWeights(new Model(tiny), bytes, { keepWeights: true });
    expect(Array.from(model.getWeights().get('fc.bias')!.data)).toEqual([1, 2, 3]);
  });
});
