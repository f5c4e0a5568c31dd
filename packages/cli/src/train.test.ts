// cnn train: flags, the dataset error, outputs, and Ctrl-C + --resume giving the same weights as an uninterrupted run.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { lenet5 } from '@cnn/lenet';
import { main } from './main.js';
import { loadWeights } from '@cnn/core';

async function cnn(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const dir = mkdtempSync(join(tmpdir(), 'cnn-train-cli-'));
const quick = ['--batch', '32', '--epochs', '2', '--seed', '3', '--test-limit', '500'];

describe('cnn train', () => {
  it('prints its help and rejects malformed flags with a usage error', async () => {
    const help = await cnn('train', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/--resume/);
    expect((await cnn('train', 'lenet5', '--epochs', 'many')).err).toMatch(/--epochs must be an integer >= 1, got 'many'/);
    expect((await cnn('train', 'lenet5', '--bogus')).code).toBe(2);
    expect((await cnn('train', 'resnet18')).err).toMatch(/expected the model 'lenet5'/);
    expect((await cnn('train', 'lenet5', '--threads', '2')).err).toMatch(/1 thread/);
  });

  it('says how to install Fashion-MNIST when its files are missing', async () => {
    const r = await cnn('train', 'lenet5', '--data-dir', join(dir, 'nowhere'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/apt-get install dataset-fashion-mnist/);
  });

  it('trains, evaluates on the held-out set and writes weights that load into @cnn/lenet, and a model card', async () => {
    const out = join(dir, 'full');
    const r = await cnn('train', 'lenet5', '--dataset', 'fashion-mnist', ...quick, '--limit', '384', '--output', out, '--json');
    expect(r.code).toBe(0);
    const card = JSON.parse(r.out);
    expect(card.testImages).toBe(500);
    // 768 images of training already beat chance (10%) by far
    expect(card.testAccuracy).toBeGreaterThan(0.4);
    expect(card.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(500);
    expect(card.command).toMatch(/^cnn train lenet5 --dataset fashion-mnist --epochs 2 --batch 32 .* --limit 384 --test-limit 500/);
    expect(readFileSync(join(out, 'model-card.md'), 'utf8')).toMatch(/Test accuracy: \*\*/);
    const model = await loadWeights(lenet5(), join(out, 'lenet5-fashion-mnist.safetensors'));
    expect(model.hasWeights).toBe(true);
  });

  it('stops cleanly on Ctrl-C keeping the last complete checkpoint, and --resume ends with the same weights bit for bit', async () => {
    // Four short epochs: the signal lands while a later epoch runs, whichever one that is on this
    // machine (an epoch takes ~0.2 s here); the message names the epoch the checkpoint holds.
    const run = ['--batch', '32', '--epochs', '4', '--seed', '3', '--test-limit', '500', '--limit', '640'];
    const out = join(dir, 'interrupted');
    let settled = false;
    const running = cnn('train', 'lenet5', ...run, '--output', out).finally(() => (settled = true));
    const checkpoint = join(out, 'checkpoint.safetensors');
    while (!existsSync(checkpoint) && !settled) await new Promise((r) => setTimeout(r, 5));
    expect(settled, 'the run ended before its first checkpoint').toBe(false);
    process.emit('SIGINT');
    const stopped = await running;
    expect(stopped.code, stopped.err).toBe(130);
    expect(stopped.err).toMatch(/last complete checkpoint \(epoch [1-4]\/4\)/);
    expect(existsSync(join(out, 'lenet5-fashion-mnist.safetensors'))).toBe(false);
    const resumed = await cnn('train', 'lenet5', '--resume', '--output', out);
    expect(resumed.code, resumed.err).toBe(0);
    const straight = join(dir, 'straight');
    expect((await cnn('train', 'lenet5', ...run, '--output', straight)).code).toBe(0);
    const a = readFileSync(join(out, 'lenet5-fashion-mnist.safetensors'));
    const b = readFileSync(join(straight, 'lenet5-fashion-mnist.safetensors'));
    expect(Buffer.compare(a, b)).toBe(0);
  });
});
