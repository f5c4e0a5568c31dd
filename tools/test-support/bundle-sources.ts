// Bundles a browser test page (or worker) from the packages' sources with esbuild, the way an
// app's bundler treats the published packages: `@cnn/<pkg>[/<entry>]` resolves to that package's
// src/, and the Node-only folders reached as `#core/node` and `#kernels/node` resolve to their
// browser twins (package.json "imports" without the "node" condition). Used by the browser tests
// of kernels (wasm, WebGPU), vision and train; not published.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packagesDir = fileURLToPath(new URL('../../packages/', import.meta.url));

/** The browser twin of each package's Node-only folder. */
const BROWSER_TWINS: Record<string, string> = {
  '#core/node': 'core/src/node/browser.ts',
  '#kernels/node': 'kernels/src/wasm/node/browser.ts',
};

/** The little of esbuild's API used here (esbuild ships with tsup, a root devDependency). */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ outputFiles: { text: string }[] }>;
}
interface PluginBuild {
  onResolve(options: { filter: RegExp }, callback: (args: { path: string }) => { path: string; external?: boolean }): void;
}

/** Entries whose source file is not src/<entry>(/index).ts (package.json "exports" names it). */
const ENTRY_FILES: Record<string, string> = {
  '@cnn/core/pth': 'core/src/pth-reader.ts',
};

/** The source file of `@cnn/<pkg>` or `@cnn/<pkg>/<entry>` (src/<entry>/index.ts or src/<entry>.ts). */
export function cnnSourceFile(specifier: string): string {
  if (ENTRY_FILES[specifier]) return join(packagesDir, ENTRY_FILES[specifier]);
  const match = /^@cnn\/([^/]+)(?:\/(.+))?$/.exec(specifier);
  if (!match) throw new Error(`not an @cnn/* specifier: '${specifier}'`);
  const [, pkg, sub] = match;
  const candidates = sub
    ? [join(packagesDir, pkg, 'src', sub, 'index.ts'), join(packagesDir, pkg, 'src', `${sub}.ts`)]
    : [join(packagesDir, pkg, 'src', 'index.ts')];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`'${specifier}' has no source file: looked for ${candidates.join(' and ')}`);
  return found;
}

export interface BundleSourcesOptions {
  /** left as imports: `node:*` patterns and whole @cnn/* specifiers (e.g. to prove a bundle does not need them) */
  external?: string[];
}

/** One ES module for browsers (es2022) holding `entry` and the package sources it imports. */
export async function bundleSources(entry: string, options: BundleSourcesOptions = {}): Promise<string> {
  const external = options.external ?? [];
  const require = createRequire(import.meta.url);
  const { build } = createRequire(require.resolve('tsup'))('esbuild') as Esbuild;
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    external: external.filter((e) => !e.startsWith('@cnn/')),
    plugins: [
      {
        name: 'cnn-sources',
        setup(b: PluginBuild) {
          b.onResolve({ filter: /^#(core|kernels)\/node$/ }, (args) => ({ path: join(packagesDir, BROWSER_TWINS[args.path]) }));
          b.onResolve({ filter: /^@cnn\// }, (args) =>
            external.includes(args.path) ? { path: args.path, external: true } : { path: cnnSourceFile(args.path) },
          );
        },
      },
    ],
  });
  return result.outputFiles[0].text;
}
