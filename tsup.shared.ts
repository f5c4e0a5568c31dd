// The build every library package shares: ESM and CommonJS with type declarations, no source maps.
//
// - Both formats are split into shared chunks, so each class (Tensor, WeightsError, ...) exists
//   once per format even when several entry points use it.
// - `#...` specifiers (package.json "imports") stay imports: the app's bundler or Node picks the
//   Node or browser file by export condition (see `nodeTwinEntries`).
// - No source maps: the tarball ships no src/, and maps pointing at missing files, or carrying
//   the sources again as sourcesContent, would double each package for little use; dist/ is
//   unminified, readable ESM.
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
 * dist/node-browser.js (every other condition), reached as `import('#<pkg>/node')`.
 */
export function nodeTwinEntries(folder: string): Record<string, string> {
  return { node: `${folder}/index.ts`, 'node-browser': `${folder}/browser.ts` };
}
