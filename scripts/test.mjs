#!/usr/bin/env node
// The test command: build (the wasm binary included), check types and package hygiene (tsc,
// publint), run every vitest project once, and close with the plain "N passed, N failed" line
// CI reads. Everything that went wrong counts as failed: failed tests, test files that failed to
// load or whose hooks threw, unhandled errors, a vitest that exited non-zero for any other
// reason, and each failed hygiene step.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countOutcome } from './test-outcome.mjs';

const env = { ...process.env, NO_COLOR: '1', TURBO_TELEMETRY_DISABLED: '1' };
// The WebGPU tests run on Dawn over Chromium's SwiftShader Vulkan driver. The Vulkan loader reads
// VK_ICD_FILENAMES from the process environment at start-up, so it must be set here, before vitest.
// CNN_SWIFTSHADER_ICD overrides where Debian's chromium package puts that driver.
const swiftshader = env.CNN_SWIFTSHADER_ICD ?? '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!env.VK_ICD_FILENAMES && existsSync(swiftshader)) env.VK_ICD_FILENAMES = swiftshader;
if (!env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'cnn-xdg-')); // mkdtemp makes it 0700
const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', env }).status ?? 1;

// CNN_TEST_SKIP_BUILD=1 runs vitest alone: scripts/test-outcome.test.ts uses it on a scratch
// project that has nothing to build.
const skipBuild = env.CNN_TEST_SKIP_BUILD === '1';
if (!skipBuild && run('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']) !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const hygieneFailed = !skipBuild && run('pnpm', ['exec', 'turbo', 'run', 'typecheck', 'lint:package', '--output-logs=errors-only']) !== 0 ? 1 : 0;
if (hygieneFailed) console.error('typecheck or publint failed (see above)');

const reportFile = process.env.CNN_TEST_REPORT ?? 'reports/vitest.json';
mkdirSync(join(reportFile, '..'), { recursive: true });
rmSync(reportFile, { force: true });
const status = run('pnpm', ['exec', 'vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`, ...process.argv.slice(2)]);
const report = existsSync(reportFile) ? JSON.parse(readFileSync(reportFile, 'utf8')) : undefined;
const outcome = countOutcome(report, status);
for (const reason of outcome.reasons) console.error(`counted as failed: ${reason}`);
const failed = outcome.failed + hygieneFailed;
console.log(`${outcome.passed} passed, ${failed} failed`);
process.exit(failed === 0 && outcome.passed > 0 ? 0 : 1);
