// bench:int8-browser bundles a page from the built packages and drives Debian's Chromium: run
// it once, smallest settings, so that a change to the packages' browser path, calibration or
// the int8 backend cannot break it unnoticed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { machinePaths } from '@cnn/core/testing';

const script = fileURLToPath(new URL('./browser-int8.mjs', import.meta.url));
const bench = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', timeout: 180_000 });

describe.runIf(existsSync(machinePaths.chromium))('bench:int8-browser (benchmarks/browser-int8.mjs)', () => {
  it('runs fp32 and int8 in Chromium with relaxed SIMD and reports both', () => {
    const r = bench('--models', 'resnet18', '--runs', '1', '--size', '32', '--json', '--chromium', machinePaths.chromium);
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row).toMatchObject({ model: 'resnet18', size: 32, fp32Variant: 'relaxed-simd' });
    expect(typeof row.fusedDot).toBe('boolean');
    expect(row.fp32.min).toBeGreaterThan(0);
    expect(row.int8.min).toBeGreaterThan(0);
    // int8 against fp32 on the same generated weights: close, not equal
    expect(row.logitsError).toBeGreaterThan(0);
    expect(row.logitsError).toBeLessThan(0.2);
  });

  it('refuses an unknown model, naming the ones it knows', () => {
    const r = bench('--models', 'vgg16');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown model 'vgg16', expected one of resnet18, resnet50, mobilenet_v2/);
  });
});
