// Bundles peers/cnn-entry.js and the @cnn sources it imports (packages/*/src, TypeScript) into one
// ES module under benchmarks/.cache/, with esbuild (the copy tsup already depends on). Nothing is
// written outside benchmarks/, and no `pnpm build` is needed. `import.meta.url` in every @cnn source
// file is replaced by that file's own URL, so the wasm loader finds packages/kernels/wasm/*.wasm
// (built by packages/kernels/build.sh) exactly as it does when vitest runs the sources.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(here, '..', '..');
export const CACHE = join(here, '..', '.cache');
export const CNN_WASM = join(ROOT, 'packages', 'kernels', 'wasm', 'cnn_kernels.wasm');
/** the int8 kernels (createInt8WasmBackend): plain SIMD, and relaxed SIMD's i8 dot product */
export const CNN_Q8_WASM = { plain: join(ROOT, 'packages', 'kernels', 'wasm', 'cnn_q8.wasm'), relaxed: join(ROOT, 'packages', 'kernels', 'wasm', 'cnn_q8-relaxed.wasm') };

function loadEsbuild() {
  const req = createRequire(import.meta.url);
  try {
    return req('esbuild');
  } catch {
    // not a dependency of the benchmarks package: use tsup's
    return createRequire(req.resolve('tsup'))('esbuild');
  }
}

/** Sub-path entry points, then every packages/<name>/src/index.ts as @cnn/<name> (as vitest.config.ts does). */
function cnnAliases() {
  const pkgs = join(ROOT, 'packages');
  const map = new Map([
    ['@cnn/kernels/js', join(pkgs, 'kernels/src/js/index.ts')],
    ['@cnn/kernels/wasm', join(pkgs, 'kernels/src/wasm/index.ts')],
    ['@cnn/kernels/wasm/q8', join(pkgs, 'kernels/src/wasm/q8.ts')],
  ]);
  for (const name of readdirSync(pkgs)) {
    const entry = join(pkgs, name, 'src', 'index.ts');
    if (existsSync(entry)) map.set(`@cnn/${name}`, entry);
  }
  return map;
}

/** Returns the path of the bundle (rebuilt on every call: esbuild takes well under a second). */
export async function bundleCnn() {
  const esbuild = loadEsbuild();
  const aliases = cnnAliases();
  mkdirSync(CACHE, { recursive: true });
  const outfile = join(CACHE, 'cnn.mjs');
  await esbuild.build({
    entryPoints: [join(here, 'cnn-entry.js')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outfile,
    sourcemap: 'inline',
    logLevel: 'warning',
    plugins: [{
      name: 'cnn-sources',
      setup(build) {
        build.onResolve({ filter: /^@cnn\// }, (args) => {
          const path = aliases.get(args.path);
          if (!path) return { errors: [{ text: `no source entry for ${args.path}` }] };
          return { path };
        });
        build.onLoad({ filter: /[\\/]packages[\\/][^\\/]+[\\/]src[\\/].*\.ts$/ }, (args) => ({
          contents: readFileSync(args.path, 'utf8').replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(args.path).href)),
          loader: 'ts',
        }));
      },
    }],
  });
  return outfile;
}
