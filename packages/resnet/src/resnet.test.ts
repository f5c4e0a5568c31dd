import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Tensor, counterInput, counterParameter, loadWeights, summarize, type Backend } from '@cnn/core';
import { calibrationOverrides, relativeError, GOLDEN_TOLERANCE, readFixture, readFixtures, runGolden, reuseBackends } from '@cnn/core/testing';
import { createJsBackend } from '@cnn/kernels/js';
import { createWasmBackend } from '@cnn/kernels/wasm';
import { RESNET_TAPS, RESNET_VARIANTS, resnet, resnet50, type ResNetVariant } from './index.js';

const fixturesDir = new URL('../fixtures/', import.meta.url);
const fixture = (name: string) => readFixture(fixturesDir, name);

// js 1e-5, wasm 1e-4 of torchvision (why: GOLDEN_TOLERANCE in @cnn/core/testing)
const TOLERANCE = { js: GOLDEN_TOLERANCE.js, wasm: GOLDEN_TOLERANCE.wasm };
const backends: Record<keyof typeof TOLERANCE, () => Promise<Backend>> = reuseBackends({
  js: async () => createJsBackend(),
  wasm: async () => createWasmBackend(),
});

describe('ResNet family', () => {
  it('has torchvision parameter totals for every variant', () => {
    for (const [name, v] of Object.entries(RESNET_VARIANTS)) {
      expect(summarize(resnet(name as ResNetVariant)).totalParameters, name).toBe(v.metadata.parameters);
    }
    expect(summarize(resnet('resnet18')).totalParameters).toBe(11_689_512);
    expect(summarize(resnet50()).totalParameters).toBe(25_557_032);
    expect(summarize(resnet('resnet152')).totalParameters).toBe(60_192_808);
  });

  it('counts ~4.09 G multiply-adds for resnet50 at 224x224, as torchvision reports', () => {
    const macs = summarize(resnet50()).totalMultiplyAdds;
    expect(macs).toBe(4_089_184_256);
    for (const [name, v] of Object.entries(RESNET_VARIANTS)) {
      const g = summarize(resnet(name as ResNetVariant)).totalMultiplyAdds / 1e9;
      expect(Math.abs(g - v.metadata.gflops) / v.metadata.gflops, name).toBeLessThan(0.01);
    }
  });

  it('exposes the torchvision preprocessing preset with the builder', () => {
    const p = resnet50().architecture.metadata.preprocessing!;
    expect(p).toMatchObject({ resizeSize: 232, cropSize: 224, interpolation: 'bilinear' });
    expect(p.mean).toEqual([0.485, 0.456, 0.406]);
  });

  const cases = readFixtures(fixturesDir);
  for (const fx of cases) {
    // The js reference is slow (about 1 GMAC/s): it checks the reduced-size cases; wasm checks all.
    const which = (Object.keys(backends) as (keyof typeof backends)[]).filter((b) => b === 'wasm' || fx.macs < 2e9);
    for (const backend of which) {
      it(`${fx.case}: matches torchvision logits and layer1-4 on the ${backend} backend`, async () => {
        const [n, , h, w] = fx.input.shape;
        const model = resnet(fx.model as ResNetVariant).useGeneratedWeights(fx.seed);
        expect(summarize(model, [h, w]).totalMultiplyAdds * n).toBe(fx.macs);
        // every fixture has the module taps; the smallest also the stride taps, as torch's modules they alias
        const taps = Object.keys(fx.taps);
        expect(taps).toEqual(expect.arrayContaining([...RESNET_TAPS]));
        const r = await runGolden(model, fx, await backends[backend](), taps);
        expect(r.logitsShape).toEqual(fx.logits.shape);
        expect(r.logitsError).toBeLessThan(TOLERANCE[backend]);
        for (const tap of taps) expect(r.tapErrors[tap], tap).toBeLessThan(TOLERANCE[backend]);
      });
    }
  }

  it('loads the exact .safetensors file torch wrote for resnet18 (I64 counters included)', async () => {
    const fx = fixture('resnet18_64.json');
    const meta = fx.safetensors as { header: string; byteLength: number; sha256: string };
    const bytes = rebuildF32File(meta.header, fx.seed, calibrationOverrides(fx));
    expect(bytes.length).toBe(meta.byteLength);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(meta.sha256);
    const model = await loadWeights(resnet('resnet18'), bytes);
    const runner = await model.compile(await createWasmBackend(), { inputSize: [64, 64] });
    const logits = await runner.run(new Tensor(fx.input.shape, counterInput(fx.input.shape, fx.seed)));
    expect(relativeError(logits.data, fx.logits.data)).toBeLessThan(TOLERANCE.wasm);
  });
});

/** Rebuilds the golden script's file byte for byte: its header, then the golden values (I64 zeros). */
function rebuildF32File(header: string, seed: number, calibrated: ReadonlyMap<string, { data: Float32Array }>): Uint8Array {
  const headerBytes = new TextEncoder().encode(header);
  const entries = JSON.parse(header) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  delete entries.__metadata__;
  const dataLength = Math.max(...Object.values(entries).map((e) => e.data_offsets[1]));
  const out = new Uint8Array(8 + headerBytes.length + dataLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  for (const [key, e] of Object.entries(entries)) {
    if (e.dtype !== 'F32') continue; // I64 num_batches_tracked stay zero, as torch wrote them
    // the golden state: generated values, batch-norm statistics calibrated (tools/golden/calibrate.py)
    const values = calibrated.get(key)?.data ?? counterParameter(key, e.shape, seed);
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), 8 + headerBytes.length + e.data_offsets[0]);
  }
  return out;
}
