// The closing line counts every kind of failure: run the real test script on a scratch project
// whose files fail in the ways a real suite can (a file that cannot load, a throwing hook, an
// unhandled rejection, a failed assertion) and read the line it prints.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));

async function runScratch(files: Record<string, string>): Promise<{ line: string; status: number | null; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'cnn-outcome-'));
  try {
    cpSync(join(repo, 'scripts/test.mjs'), join(dir, 'scripts/test.mjs'));
    cpSync(join(repo, 'scripts/test-outcome.mjs'), join(dir, 'scripts/test-outcome.mjs'));
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, 'package.json'), '{"name":"scratch","private":true,"type":"module"}');
    writeFileSync(join(dir, 'vitest.config.mjs'), "export default { test: { include: ['t/*.test.mjs'] } };\n");
    mkdirSync(join(dir, 't'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 't', name), text);
    const child = spawn('node', ['scripts/test.mjs'], { cwd: dir, env: { ...process.env, CNN_TEST_SKIP_BUILD: '1', CI: 'true' } });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const r = { status };
    const line = output.split('\n').filter((l) => /^\d+ passed, \d+ failed$/.test(l)).pop() ?? '';
    return { line, status: r.status, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function counts(line: string): { passed: number; failed: number } {
  const m = /^(\d+) passed, (\d+) failed$/.exec(line);
  if (!m) throw new Error(`no closing line in the output: '${line}'`);
  return { passed: Number(m[1]), failed: Number(m[2]) };
}

const passing = "import { it, expect } from 'vitest';\nit('adds', () => expect(1 + 1).toBe(2));\n";

describe.concurrent('the closing line of scripts/test.mjs', () => {
  it('says 0 failed only when everything passed', async () => {
    const r = await runScratch({ 'ok.test.mjs': passing });
    expect(counts(r.line), r.output).toEqual({ passed: 1, failed: 0 });
    expect(r.status).toBe(0);
  });

  it('counts a test file that fails to load', async () => {
    const r = await runScratch({ 'ok.test.mjs': passing, 'broken.test.mjs': "import './does-not-exist.mjs';\nimport { it } from 'vitest';\nit('never runs', () => {});\n" });
    expect(counts(r.line).failed, r.output).toBeGreaterThanOrEqual(1);
    expect(r.status).not.toBe(0);
  });

  it('counts a hook that throws', async () => {
    const r = await runScratch({ 'ok.test.mjs': passing, 'hook.test.mjs': "import { beforeAll, it } from 'vitest';\nbeforeAll(() => { throw new Error('setup broke'); });\nit('depends on setup', () => {});\n" });
    expect(counts(r.line).failed, r.output).toBeGreaterThanOrEqual(1);
    expect(r.status).not.toBe(0);
  });

  it('counts an unhandled rejection', async () => {
    const r = await runScratch({ 'ok.test.mjs': passing, 'leak.test.mjs': "import { it } from 'vitest';\nit('leaks a rejection', async () => { Promise.reject(new Error('nobody waits for me')); await new Promise((r) => setTimeout(r, 50)); });\n" });
    expect(counts(r.line).failed, r.output).toBeGreaterThanOrEqual(1);
    expect(r.status).not.toBe(0);
  });

  it('counts a failed assertion', async () => {
    const r = await runScratch({ 'ok.test.mjs': passing, 'bad.test.mjs': "import { it, expect } from 'vitest';\nit('is wrong', () => expect(1).toBe(2));\n" });
    expect(counts(r.line), r.output).toEqual({ passed: 1, failed: 1 });
  });
});
