// bench:q8 builds its plans by hand: run it once, smallest settings, so a change to what backends
// accept (checked plans, kernel signatures) cannot break it unnoticed.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('./kernels-q8.mjs', import.meta.url));
const bench = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', timeout: 120_000 });

describe('bench:q8 (benchmarks/kernels-q8.mjs)', () => {
  it('times the depthwise shapes on fp32 and int8 and prints each ratio', () => {
    const r = bench('--rounds', '1', '--repeat', '1', '--shapes', 'dw');
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => /q8 \(simd128\)\s+[\d.]+\s+[\d.]+\s+[\d.]+x$/.test(l));
    expect(rows).toHaveLength(2);
  });

  it('refuses an unknown shape family, naming the ones it knows', () => {
    const r = bench('--shapes', '5x5');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--shapes expects 1x1, 3x3 or dw, got '5x5'/);
  });
});
