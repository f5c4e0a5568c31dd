// Packs every publishable workspace package and checks each tarball as a registry user would
// receive it: contents (no tests or test helpers, no sources or maps, a LICENSE), publint
// (strict) and @arethetypeswrong's node16 profile.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { problemAffectsResolutionKind } from '@arethetypeswrong/core/problems';
import type { ResolutionKind } from '@arethetypeswrong/core/types';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const run = promisify(execFile);

export interface Tarball {
  name: string;
  version: string;
  file: string;
  files: string[];
}

/** Publishable packages (not private) under packages/. */
export function publishablePackages(root: string): { name: string; dir: string }[] {
  const out: { name: string; dir: string }[] = [];
  for (const entry of readdirSync(join(root, 'packages')).sort()) {
    const manifest = join(root, 'packages', entry, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string; private?: boolean };
    if (!pkg.private) out.push({ name: pkg.name, dir: join(root, 'packages', entry) });
  }
  return out;
}

/** Runs tasks at most `limit` at a time (the machine's cores are shared). */
export async function inBatches<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** `pnpm pack` of every publishable package into `outDir` (workspace: ranges become versions). */
export async function packAll(root: string, outDir: string): Promise<Tarball[]> {
  return inBatches(publishablePackages(root), 3, async ({ dir }) => {
    const { stdout } = await run('pnpm', ['pack', '--pack-destination', outDir], { cwd: dir });
    const file = stdout.trim().split('\n').filter((l) => l.endsWith('.tgz')).pop();
    if (!file || !existsSync(file)) throw new Error(`pnpm pack in ${dir} printed no tarball path:\n${stdout}`);
    const list = await run('tar', ['-tzf', file]);
    const files = list.stdout.trim().split('\n').map((f) => f.replace(/^package\//, ''));
    const manifest = JSON.parse((await run('tar', ['-xzOf', file, 'package/package.json'])).stdout) as { name: string; version: string };
    return { name: manifest.name, version: manifest.version, file, files };
  });
}

/** What a tarball must not hold, and what it must. */
export function contentProblems(t: Tarball): string[] {
  const problems: string[] = [];
  if (!t.files.includes('LICENSE')) problems.push('no LICENSE');
  for (const f of t.files) {
    if (/\.test\.|(^|\/)test-[\w-]+\.|test-helpers/.test(f)) problems.push(`test file ${f}`);
    else if (f.startsWith('src/')) problems.push(`source file ${f}`);
    else if (f.endsWith('.map')) problems.push(`source map ${f}`);
  }
  return problems;
}

/** publint --strict on the tarball; each message formatted as publint prints it. */
export async function publintProblems(t: Tarball): Promise<string[]> {
  const bytes = readFileSync(t.file);
  const tarball = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const { messages, pkg } = await publint({ pack: { tarball }, strict: true, level: 'suggestion' });
  return messages.map((m) => `${m.type}: ${formatMessage(m, pkg, { color: false }) ?? m.code}`);
}

// The CLI's `--profile node16`: every resolution but node10 (which predates "exports").
const NODE16_PROFILE: ResolutionKind[] = ['node16-cjs', 'node16-esm', 'bundler'];

/** @arethetypeswrong problems under the node16 profile. */
export async function attwProblems(t: Tarball): Promise<string[]> {
  const analysis = await checkPackage(createPackageFromTarballData(new Uint8Array(readFileSync(t.file))));
  if (!analysis.types) return ['no types found'];
  return analysis.problems
    .filter((p) => NODE16_PROFILE.some((kind) => problemAffectsResolutionKind(p, kind, analysis)))
    .map((p) => `${p.kind}${'entrypoint' in p ? ` at ${p.entrypoint}` : ''}${'resolutionKind' in p ? ` (${p.resolutionKind})` : ''}`);
}
