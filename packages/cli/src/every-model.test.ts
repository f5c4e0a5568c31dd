import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Tensor, counterInput, parseNpy, writeNpy, writeSafetensors } from '@cnn/core';
import { applyCalibration, readFixture, relativeError, type GoldenFixture } from '@cnn/core/testing';
import { main } from './main.js';
import { MODELS } from './registry.js';

const packagesDir = new URL('../../', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'cnn-every-'));

/** The smallest batch-1 golden fixture of each registered model, across all packages. */
function smallestFixtures(): Map<string, GoldenFixture> {
  const names = new Set(MODELS.map((m) => m.name));
  const best = new Map<string, GoldenFixture>();
  for (const pkg of readdirSync(packagesDir)) {
    let files: string[] = [];
    try {
      files = readdirSync(new URL(`${pkg}/fixtures/`, packagesDir)).filter((f) => f.endsWith('.json'));
    } catch {
      continue;
    }
    for (const f of files) {
      const fx = readFixture(new URL(`${pkg}/fixtures/`, packagesDir), f);
      if (!names.has(fx.model) || fx.input?.shape?.[0] !== 1 || !fx.logits) continue;
      const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
      const prev = best.get(fx.model);
      if (!prev || size(fx.input.shape) < size(prev.input.shape)) best.set(fx.model, fx);
    }
  }
  return best;
}

async function cnn(...argv: string[]) {
  const err: string[] = [];
  const code = await main(argv, { out: () => {}, err: (l) => err.push(l) });
  return { code, err: err.join('\n') };
}

describe('cnn run covers every registered model', () => {
  const fixtures = smallestFixtures();

  it('has a golden fixture for every model in the registry', () => {
    const missing = MODELS.map((m) => m.name).filter((n) => !fixtures.has(n));
    expect(missing).toEqual([]);
  });

  // Models up to ~30 M parameters run here through the command line (the others are covered
  // by their package tests; generating 60-200 M weights per model would dominate CI time).
  for (const entry of MODELS) {
    it(`${entry.name}: cnn run with the golden weights matches torchvision`, async (ctx) => {
      const fx = fixtures.get(entry.name);
      if (!fx) throw new Error(`no fixture for ${entry.name}`);
      if (fx.params > 30_000_000) ctx.skip();
      const input = join(dir, `${entry.name}.npy`);
      const output = join(dir, `${entry.name}.out.npy`);
      writeFileSync(input, writeNpy(new Tensor(fx.input.shape, counterInput(fx.input.shape, fx.seed))));
      // the golden weights: generated, then calibrated (tools/golden/calibrate.py), written as a file
      const weights = join(dir, `${entry.name}.safetensors`);
      writeFileSync(weights, writeSafetensors((await applyCalibration(entry.create().useGeneratedWeights(fx.seed), fx)).getWeights()));
      const r = await cnn('run', entry.name, '--weights', weights, '--input', input, '--output', output);
      expect(r.code, r.err).toBe(0);
      const y = parseNpy(new Uint8Array(readFileSync(output)));
      expect(y.shape).toEqual(fx.logits.shape);
      expect(relativeError(y.data, fx.logits.data)).toBeLessThan(1e-4);
      rmSync(weights);
    });
  }
});
