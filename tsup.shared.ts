// The build every library package shares: ESM and CommonJS with type declarations, no source maps.
//
// - Both formats are split into shared chunks, so each class (Tensor, WeightsError, ...) exists
//   once per format even when several entry points use it.
// - `#...` specifiers (package.json "imports") stay imports: the app's bundler or Node picks the
//   Node or browser file by export condition (see `nodeTwinEntries`).
// - No source maps: the tarball ships no src/, and maps pointing at missing files, or carrying
//   the sources again as sourcesContent, would double each package for little use; dist/ is
//   unminified, readable ESM.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';
import type { Options } from 'tsup';

export const libraryBuild: Options = {
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: false,
  splitting: true,
  target: 'es2022',
  external: [/^#/],
};

/**
 * The two builds of a package's Node-only folder: dist/node.js (its "node" condition) and
 * dist/node-browser.js (every other condition), reached as `import('#<pkg>/node')`. With
 * `moduleBuild` these names are the CommonJS files; the ESM ones mirror src/ (dist/node/index.js).
 */
export function nodeTwinEntries(folder: string): Record<string, string> {
  return { node: `${folder}/index.ts`, 'node-browser': `${folder}/browser.ts` };
}

/**
 * The source modules `entries` reach (static and dynamic imports inside the package; other
 * packages, `#...` and `node:` stay outside), for a build that keeps one output file per module.
 */
export async function reachableModules(entries: readonly string[]): Promise<string[]> {
  const result = await build({
    entryPoints: [...entries],
    bundle: true,
    write: false,
    metafile: true,
    splitting: true,
    format: 'esm',
    platform: 'neutral',
    outdir: 'unused',
    external: ['#*', 'node:*', '@cnn/*', '@webgpu/*'],
    // package paths only: a tsconfig "paths" mapping to other packages' sources must not apply
    tsconfigRaw: '{}',
    logLevel: 'silent',
  });
  return Object.keys(result.metafile.inputs).filter((f) => f.startsWith('src/')).sort();
}

/**
 * A package whose ESM build mirrors src/ module by module (`bundle: false`) and whose CommonJS
 * build is bundled as `libraryBuild` makes it.
 *
 * Why: bundlers drop a whole unused module of a "sideEffects": false package, but inside a
 * module they keep every statement they cannot prove pure, and esbuild with code splitting also
 * keeps a module that one used module imports when a lazy chunk shares it. A bundled dist/
 * (a few large chunks) put the weight readers, the .pth unpickler and the plan checks into every
 * app's first load that way; one file per module lets each app take only the modules it calls.
 * CommonJS (Node's require) is not tree-shaken, so it stays bundled.
 *
 * `entry` names the CommonJS and declaration outputs (dist/<name>.cjs, .d.ts, .d.cts); the ESM
 * files are dist/<path under src>.js, e.g. src/wasm/index.ts -> dist/wasm/index.js.
 */
export async function moduleBuild(entry: Record<string, string>, options: Options = {}): Promise<Options[]> {
  rmSync('dist', { recursive: true, force: true }); // the two builds run at once: neither may clean
  const modules = await reachableModules(Object.values(entry));
  const dtsEntry = Object.fromEntries(Object.entries(entry).filter(([name]) => !(name in NODE_TWIN_NAMES)));
  return [
    { ...libraryBuild, ...options, entry: modules, format: ['esm'], bundle: false, splitting: false, clean: false, dts: { entry: dtsEntry } },
    { ...libraryBuild, ...options, entry, format: ['cjs'], clean: false, dts: { entry: dtsEntry } },
  ];
}

const NODE_TWIN_NAMES = { node: true, 'node-browser': true };
