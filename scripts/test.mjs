#!/usr/bin/env node
// The test command: build (the wasm binary included), check types and package hygiene (tsc,
// publint), run every vitest project once, and close with the plain "N passed, N failed" line
// CI reads. A failed hygiene step counts as one failed test.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = { ...process.env, NO_COLOR: '1', TURBO_TELEMETRY_DISABLED: '1' };
// The WebGPU tests run on Dawn over Chromium's SwiftShader Vulkan driver. The Vulkan loader reads
// VK_ICD_FILENAMES from the process environment at start-up, so it must be set here, before vitest.
const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!env.VK_ICD_FILENAMES && existsSync(swiftshader)) env.VK_ICD_FILENAMES = swiftshader;
if (!env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'cnn-xdg-')); // mkdtemp makes it 0700
const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', env }).status ?? 1;

if (run('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']) !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const hygieneFailed = run('pnpm', ['exec', 'turbo', 'run', 'typecheck', 'lint:package', '--output-logs=errors-only']) !== 0 ? 1 : 0;
if (hygieneFailed) console.error('typecheck or publint failed (see above)');

mkdirSync('reports', { recursive: true });
rmSync('reports/vitest.json', { force: true });
const status = run('pnpm', ['exec', 'vitest', 'run', '--reporter=default', '--reporter=json', '--outputFile.json=reports/vitest.json', ...process.argv.slice(2)]);
if (!existsSync('reports/vitest.json')) {
  console.log(`0 passed, ${1 + hygieneFailed} failed`);
  process.exit(1);
}
const r = JSON.parse(readFileSync('reports/vitest.json', 'utf8'));
const failed = r.numFailedTests + hygieneFailed;
console.log(`${r.numPassedTests} passed, ${failed} failed`);
process.exit(status === 0 && failed === 0 && r.numTotalTests > 0 ? 0 : 1);
