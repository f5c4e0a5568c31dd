import { copyFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { defineConfig } from 'tsup';
import { moduleBuild, nodeTwinEntries } from '../../tsup.shared';

// Separate entry points so an app that uses only WebAssembly never bundles other backends.
const entry = { index: 'src/index.ts', js: 'src/js/index.ts', wasm: 'src/wasm/index.ts', 'wasm-threads': 'src/wasm/threads.ts', 'wasm-q8': 'src/wasm/q8.ts', webgpu: 'src/webgpu/index.ts', testing: 'src/testing.ts' };

// The binaries sit in dist/, so src/wasm/binaries.ts's '../../wasm/<file>' (right for the
// sources) becomes '../<file>' in the ESM build (dist/wasm/binaries.js) and './<file>' in the
// CommonJS chunks (dist/*.cjs): one literal URL per variant that bundlers follow.
const binariesIn = (prefix: string) => ({
  name: 'cnn-binaries-in-dist',
  setup(build: { onLoad(o: { filter: RegExp }, f: (a: { path: string }) => Promise<{ contents: string; loader: 'ts' }>): void }) {
    build.onLoad({ filter: /[\\/]src[\\/]wasm[\\/]binaries\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const contents = source.replaceAll("new URL('../../wasm/", `new URL('${prefix}`);
      if (contents === source) throw new Error(`${args.path}: no '../../wasm/' URL left to rewrite`);
      return { contents, loader: 'ts' };
    });
  },
});

export default defineConfig(async () => {
  // shims: CommonJS has no import.meta.url; tsup's shim derives it from __filename
  const [esm, cjs] = await moduleBuild({ ...entry, ...nodeTwinEntries('src/wasm/node') }, { shims: true });
  const copyBinaries = async () => {
    for (const file of readdirSync('wasm').filter((f) => f.endsWith('.wasm'))) copyFileSync(`wasm/${file}`, `dist/${file}`);
  };
  return [
    { ...esm, esbuildPlugins: [binariesIn('../')], onSuccess: copyBinaries },
    { ...cjs, esbuildPlugins: [binariesIn('./')] },
  ];
});
