// Per-package releases, checked on a scratch copy of the workspace manifests and .changeset/
// config: `changeset version` with one changeset moves exactly the packages it should.
import { afterEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
// the package's own bin script (node_modules/.bin holds a shell shim)
const changesetBin = join(root, 'node_modules/@changesets/cli/bin.js');

type Versions = Record<string, { version: string; deps: Record<string, string> }>;

let scratch: string | undefined;

afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

/** The workspace's manifests and changeset config, in a fresh git repository on main, with no pending changesets. */
async function scratchWorkspace(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'cnn-release-'));
  for (const f of ['package.json', 'pnpm-workspace.yaml']) cpSync(join(root, f), join(dir, f));
  mkdirSync(join(dir, '.changeset'));
  cpSync(join(root, '.changeset/config.json'), join(dir, '.changeset/config.json'));
  for (const folder of ['packages', 'benchmarks', 'examples']) {
    let names: string[];
    try {
      names = folder === 'benchmarks' ? ['.'] : readdirSync(join(root, folder));
    } catch {
      continue;
    }
    for (const name of names) {
      const manifest = join(root, folder, name, 'package.json');
      try {
        const text = readFileSync(manifest, 'utf8');
        mkdirSync(join(dir, folder, name), { recursive: true });
        writeFileSync(join(dir, folder, name, 'package.json'), text);
      } catch {
        // not a package
      }
    }
  }
  const git = (...args: string[]) => run('git', args, { cwd: dir });
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('-c', 'user.name=scratch', '-c', 'user.email=scratch@example.invalid', 'commit', '-qm', 'scratch');
  return dir;
}

function versions(dir: string): Versions {
  const out: Versions = {};
  for (const name of readdirSync(join(dir, 'packages'))) {
    const pkg = JSON.parse(readFileSync(join(dir, 'packages', name, 'package.json'), 'utf8'));
    out[pkg.name] = { version: pkg.version, deps: pkg.dependencies ?? {} };
  }
  return out;
}

/** Applies one changeset and returns the packages whose version moved, with from and to. */
async function release(bumps: Record<string, 'patch' | 'minor'>): Promise<Record<string, string>> {
  scratch = await scratchWorkspace();
  const before = versions(scratch);
  const header = Object.entries(bumps).map(([name, bump]) => `"${name}": ${bump}`).join('\n');
  writeFileSync(join(scratch, '.changeset/one-change.md'), `---\n${header}\n---\n\nA change.\n`);
  await run(process.execPath, [changesetBin, 'version'], { cwd: scratch });
  const after = versions(scratch);
  const moved: Record<string, string> = {};
  for (const name of Object.keys(after)) {
    if (after[name].version !== before[name].version) moved[name] = `${before[name].version} -> ${after[name].version}`;
  }
  return moved;
}

function bump(version: string, kind: 'patch' | 'minor'): string {
  const [major, minor, patch] = version.split('.').map(Number);
  return kind === 'patch' ? `${major}.${minor}.${patch + 1}` : `${major}.${minor + 1}.0`;
}

const current = (name: string) => {
  const dir = readdirSync(join(root, 'packages')).find((d) => {
    try {
      return JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8')).name === name;
    } catch {
      return false;
    }
  })!;
  return JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')).version as string;
};

describe('changeset version on a scratch copy', () => {
  it('a patch to @cnn/resnet moves @cnn/resnet alone', async () => {
    const v = current('@cnn/resnet');
    expect(await release({ '@cnn/resnet': 'patch' })).toEqual({ '@cnn/resnet': `${v} -> ${bump(v, 'patch')}` });
  }, 60_000);

  it('a minor of @cnn/resnet moves @cnn/resnet and only the packages whose range it leaves (the cli)', async () => {
    const v = current('@cnn/resnet');
    const moved = await release({ '@cnn/resnet': 'minor' });
    expect(moved['@cnn/resnet']).toBe(`${v} -> ${bump(v, 'minor')}`);
    // ^0.x ranges do not admit the next minor, so the cli must follow; nothing else depends on resnet
    const others = Object.keys(moved).filter((n) => n !== '@cnn/resnet');
    expect(others).toEqual(v.startsWith('0.') ? ['@cnn/cli'] : []);
  }, 60_000);

  it('a patch to @cnn/core stays within every dependent range: only @cnn/core moves', async () => {
    const v = current('@cnn/core');
    expect(await release({ '@cnn/core': 'patch' })).toEqual({ '@cnn/core': `${v} -> ${bump(v, 'patch')}` });
  }, 60_000);

  it('a minor of @cnn/core at 0.x leaves the ^0.x ranges, so each dependent gets a patch with the new range', async () => {
    const v = current('@cnn/core');
    const moved = await release({ '@cnn/core': 'minor' });
    expect(moved['@cnn/core']).toBe(`${v} -> ${bump(v, 'minor')}`);
    const after = versions(scratch!);
    for (const [name, info] of Object.entries(after)) {
      const range = info.deps['@cnn/core'];
      if (range === undefined) continue;
      expect({ name, moved: name in moved, range }).toEqual({ name, moved: true, range: `workspace:^` });
      expect(moved[name]).toBe(`${current(name)} -> ${bump(current(name), 'patch')}`);
    }
  }, 60_000);
});
