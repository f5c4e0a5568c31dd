// Bundles one app with each bundler at its defaults and reports the same facts for all of them:
// every JS chunk (size, gzip -9, whether the first load needs it), every emitted .wasm, the
// modules that went in, and the warnings printed.
import { readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build as esbuild, type Metafile } from 'esbuild';
import { build as viteBuild, createLogger } from 'vite';
import webpack from 'webpack';
import { rollup } from 'rollup';
import { nodeResolve } from '@rollup/plugin-node-resolve';

export interface Chunk {
  file: string;
  bytes: number;
  gzip: number;
  /** loaded with the page (the entry and its static imports), not on demand */
  initial: boolean;
  code: string;
}

export interface Emitted {
  file: string;
  bytes: number;
  gzip: number;
}

export interface Build {
  bundler: string;
  app: string;
  outDir: string;
  /** whether the bundler minifies by default (sizes are comparable only then) */
  minified: boolean;
  /** whether the bundler copies assets referenced as new URL(literal, import.meta.url) */
  emitsAssets: boolean;
  chunks: Chunk[];
  wasm: Emitted[];
  /** input modules, relative to the app */
  modules: string[];
  warnings: string[];
}

export const BUNDLERS = ['esbuild', 'esbuild-default', 'vite', 'webpack', 'rollup'] as const;
export type BundlerName = (typeof BUNDLERS)[number];

const gzip = (bytes: Uint8Array | string) => gzipSync(bytes, { level: 9 }).length;

function chunk(file: string, code: string, initial: boolean): Chunk {
  return { file, bytes: Buffer.byteLength(code), gzip: gzip(code), initial, code };
}

function emitted(file: string, bytes: Uint8Array): Emitted {
  return { file, bytes: bytes.length, gzip: gzip(bytes) };
}

/** Files reachable from `entries` through static imports: what the first load fetches. */
function staticClosure(entries: string[], staticImports: (file: string) => string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...entries];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    stack.push(...staticImports(f));
  }
  return seen;
}

/** `esbuild --bundle --minify --platform=browser --format=esm --splitting`, or with `defaults` just `--bundle --minify`. */
async function withEsbuild(appDir: string, outDir: string, defaults: boolean): Promise<Omit<Build, 'bundler' | 'app' | 'outDir'>> {
  const result = await esbuild({
    absWorkingDir: appDir,
    entryPoints: ['./main.js'],
    bundle: true,
    minify: true,
    ...(defaults ? {} : { platform: 'browser', format: 'esm', splitting: true }),
    outdir: outDir,
    metafile: true,
    logLevel: 'silent',
  });
  const outputs: Metafile['outputs'] = result.metafile.outputs;
  const key = (abs: string) => relative(appDir, abs).split('\\').join('/');
  // esbuild lists dynamic-import targets as entry points too: the app's entry is main.js
  const entries = Object.keys(outputs).filter((f) => outputs[f].entryPoint === 'main.js');
  const initial = staticClosure(entries, (f) => outputs[f].imports.filter((i) => i.kind === 'import-statement').map((i) => i.path));
  const chunks = Object.keys(outputs)
    .filter((f) => f.endsWith('.js'))
    .map((f) => chunk(f, readFileSync(join(appDir, f), 'utf8'), initial.has(f)));
  const modules = Object.keys(result.metafile.inputs).map((p) => key(join(appDir, p)));
  const warnings = result.warnings.map((w) => w.text);
  return { minified: true, emitsAssets: false, chunks, wasm: [], modules, warnings };
}

async function withVite(appDir: string, outDir: string): Promise<Omit<Build, 'bundler' | 'app' | 'outDir'>> {
  const warnings: string[] = [];
  const logger = createLogger('warn', { allowClearScreen: false });
  logger.warn = (msg) => void warnings.push(msg);
  logger.warnOnce = (msg) => void warnings.push(msg);
  logger.info = () => {};
  const result = await viteBuild({
    root: appDir,
    configFile: false,
    logLevel: 'warn',
    customLogger: logger,
    build: { outDir, emptyOutDir: true, reportCompressedSize: false },
  });
  const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => ('output' in r ? r.output : []));
  type ViteChunk = { type: 'chunk'; fileName: string; code: string; isEntry: boolean; imports: string[]; moduleIds?: string[]; modules?: Record<string, unknown> };
  type ViteAsset = { type: 'asset'; fileName: string; source: string | Uint8Array };
  const chunks = outputs.filter((o) => o.type === 'chunk') as unknown as ViteChunk[];
  const assets = outputs.filter((o) => o.type === 'asset') as unknown as ViteAsset[];
  const byName = new Map(chunks.map((c) => [c.fileName, c]));
  const initial = staticClosure(chunks.filter((c) => c.isEntry).map((c) => c.fileName), (f) => byName.get(f)?.imports ?? []);
  return {
    minified: true,
    emitsAssets: true,
    chunks: chunks.map((c) => chunk(c.fileName, c.code, initial.has(c.fileName))),
    wasm: assets.filter((a) => a.fileName.endsWith('.wasm')).map((a) => emitted(a.fileName, a.source as Uint8Array)),
    modules: chunks.flatMap((c) => c.moduleIds ?? Object.keys(c.modules ?? {})).map((m) => relative(appDir, m.replace(/\?.*$/, ''))),
    warnings,
  };
}

async function withWebpack(appDir: string, outDir: string): Promise<Omit<Build, 'bundler' | 'app' | 'outDir'>> {
  const compiler = webpack({
    mode: 'production',
    context: appDir,
    entry: './main.js',
    output: { path: outDir, clean: true },
    infrastructureLogging: { level: 'none' },
  });
  const stats = await new Promise<webpack.Stats>((resolve, reject) =>
    compiler.run((error, s) => (error || !s ? reject(error ?? new Error('webpack gave no stats')) : resolve(s))),
  );
  await new Promise<void>((resolve) => compiler.close(() => resolve()));
  const json = stats.toJson({ all: false, assets: true, chunks: true, modules: true, nestedModules: true, errors: true, warnings: true });
  if (json.errors && json.errors.length > 0) throw new Error(`webpack: ${json.errors.map((e) => e.message).join('\n')}`);
  const initialFiles = new Set((json.chunks ?? []).filter((c) => c.initial).flatMap((c) => c.files ?? []));
  const files = (json.assets ?? []).map((a) => a.name);
  const modules: string[] = [];
  const collect = (list: webpack.StatsModule[] | undefined) => {
    for (const m of list ?? []) {
      if (m.modules) collect(m.modules);
      else if (m.nameForCondition) modules.push(relative(appDir, m.nameForCondition));
    }
  };
  collect(json.modules);
  return {
    minified: true,
    emitsAssets: true,
    chunks: files.filter((f) => f.endsWith('.js')).map((f) => chunk(f, readFileSync(join(outDir, f), 'utf8'), initialFiles.has(f))),
    wasm: files.filter((f) => f.endsWith('.wasm')).map((f) => emitted(f, readFileSync(join(outDir, f)))),
    modules,
    warnings: (json.warnings ?? []).map((w) => w.message),
  };
}

/** Rollup with only @rollup/plugin-node-resolve (its defaults): no minifier, no asset copying. */
async function withRollup(appDir: string, outDir: string): Promise<Omit<Build, 'bundler' | 'app' | 'outDir'>> {
  const warnings: string[] = [];
  const bundle = await rollup({ input: join(appDir, 'main.js'), plugins: [nodeResolve()], onwarn: (w) => void warnings.push(w.message) });
  const { output } = await bundle.write({ dir: outDir, format: 'es' });
  await bundle.close();
  const chunks = output.filter((o) => o.type === 'chunk');
  const byName = new Map(chunks.map((c) => [c.fileName, c]));
  const initial = staticClosure(chunks.filter((c) => c.isEntry).map((c) => c.fileName), (f) => byName.get(f)?.imports ?? []);
  return {
    minified: false,
    emitsAssets: false,
    chunks: chunks.map((c) => chunk(c.fileName, c.code, initial.has(c.fileName))),
    wasm: [],
    modules: chunks.flatMap((c) => c.moduleIds).map((m) => relative(appDir, m)),
    warnings,
  };
}

export async function bundle(bundler: BundlerName, app: string, appDir: string): Promise<Build> {
  const outDir = join(appDir, `dist-${bundler}`);
  rmSync(outDir, { recursive: true, force: true });
  const run = {
    esbuild: () => withEsbuild(appDir, outDir, false),
    'esbuild-default': () => withEsbuild(appDir, outDir, true),
    vite: () => withVite(appDir, outDir),
    webpack: () => withWebpack(appDir, outDir),
    rollup: () => withRollup(appDir, outDir),
  }[bundler];
  return { bundler, app, outDir, ...(await run()) };
}
