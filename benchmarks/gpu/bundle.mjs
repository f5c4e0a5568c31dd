// Bundles benchmarks/webgpu.mjs into one file for a machine without the workspace: every @cnn/*
// import is inlined (from package sources by default, or from the built dist with --from dist),
// only the 'webgpu' package (Dawn's native addon) and onnxruntime-web (which loads its .wasm from
// beside its own file) stay external.
// Usage: node benchmarks/gpu/bundle.mjs OUT.mjs [--from src|dist]
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [out, flag, from = 'src'] = process.argv.slice(2);
if (!out || (flag && flag !== '--from') || !['src', 'dist'].includes(from)) {
  console.error('usage: node benchmarks/gpu/bundle.mjs OUT.mjs [--from src|dist]');
  process.exit(2);
}
const root = fileURLToPath(new URL('../../', import.meta.url));
// esbuild comes with tsup, a root devDependency
const require = createRequire(join(root, 'package.json'));
const { build } = createRequire(require.resolve('tsup'))('esbuild');

function resolveCnn(pkg, sub) {
  const dir = join(root, 'packages', pkg);
  if (from === 'src') return join(dir, 'src', sub === 'testing' ? 'testing.ts' : sub ? `${sub}/index.ts` : 'index.ts');
  const exports = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).exports;
  const entry = exports[sub ? `./${sub}` : '.'];
  return join(dir, entry.import?.default ?? entry.default);
}

await build({
  entryPoints: [join(root, 'benchmarks/webgpu.mjs')],
  outfile: out,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['webgpu', 'onnxruntime-web', 'onnxruntime-web/*'],
  logLevel: 'warning',
  plugins: [
    {
      name: 'cnn-packages',
      setup(b) {
        b.onResolve({ filter: /^@cnn\// }, (args) => {
          const [, pkg, sub] = /^@cnn\/([^/]+)(?:\/(.+))?$/.exec(args.path);
          return { path: resolveCnn(pkg, sub) };
        });
      },
    },
  ],
});
console.log(`bundled benchmarks/webgpu.mjs (${from}) -> ${out}`);
