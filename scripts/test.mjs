#!/usr/bin/env node
// The test command: build what the tests need (the wasm binary), run every vitest project once,
// and close with the plain "N passed, N failed" line CI reads.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';

const env = { ...process.env, NO_COLOR: '1', TURBO_TELEMETRY_DISABLED: '1' };
const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', env }).status ?? 1;

if (run('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']) !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}
mkdirSync('reports', { recursive: true });
const status = run('pnpm', ['exec', 'vitest', 'run', '--reporter=default', '--reporter=json', '--outputFile.json=reports/vitest.json', ...process.argv.slice(2)]);
if (!existsSync('reports/vitest.json')) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const r = JSON.parse(readFileSync('reports/vitest.json', 'utf8'));
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`);
process.exit(status === 0 && r.numFailedTests === 0 && r.numTotalTests > 0 ? 0 : 1);
