// The relaxed-SIMD binaries in a default test run. Node 20 validates relaxed SIMD only with
// --experimental-wasm-relaxed-simd, which it refuses in NODE_OPTIONS, so where this engine
// lacks it the op-by-op suite (ops.test.ts, every variant) runs again in a child vitest
// started with the flag. Where the engine has it, ops.test.ts already covers those binaries.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasRelaxedSimd } from './index.js';

const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';

describe.runIf(isNode && !hasRelaxedSimd())('relaxed-SIMD binaries (child vitest with --experimental-wasm-relaxed-simd)', () => {
  it('pass every op against the js reference (1e-5), single-threaded and threaded', () => {
    const root = fileURLToPath(new URL('../../../../', import.meta.url));
    const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
    const r = spawnSync(
      process.execPath,
      ['--experimental-wasm-relaxed-simd', vitest, 'run', 'packages/kernels/src/wasm/ops.test.ts', '-t', 'relaxed-simd'],
      { cwd: root, env: { ...env, NO_COLOR: '1' }, encoding: 'utf8', timeout: 240_000 },
    );
    const output = `${r.stdout}\n${r.stderr}`;
    expect(output, output).toMatch(/Tests\s+\d+ passed/);
    expect(output).not.toMatch(/failed/);
    // Both relaxed suites ran, with all their tests.
    expect(Number(/Tests\s+(\d+) passed/.exec(output)?.[1])).toBeGreaterThanOrEqual(90);
    expect(r.status, output).toBe(0);
  });
});
