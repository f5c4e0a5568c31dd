import { copyFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.shared';

// The training binaries sit in dist/ beside the bundled entry points and chunks, so
// src/kernels/binary.ts's '../../wasm/<file>' (right for the sources) becomes './<file>'.
const binariesInDist = {
  name: 'cnn-train-binaries-in-dist',
  setup(build: { onLoad(o: { filter: RegExp }, f: (a: { path: string }) => Promise<{ contents: string; loader: 'ts' }>): void }) {
    build.onLoad({ filter: /[\\/]src[\\/]kernels[\\/]binary\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const contents = source.replaceAll("new URL('../../wasm/", "new URL('./");
      if (contents === source) throw new Error(`${args.path}: no '../../wasm/' URL left to rewrite`);
      return { contents, loader: 'ts' };
    });
  },
};

// Two entry points: the platform-neutral trainer, and Node-only data loading (node:fs, node:zlib).
// shims: the CommonJS build has no import.meta.url; tsup's shim derives it from __filename.
export default defineConfig({
  ...libraryBuild,
  entry: ['src/index.ts', 'src/node.ts'],
  shims: true,
  esbuildPlugins: [binariesInDist],
  onSuccess: async () => {
    for (const file of readdirSync('wasm').filter((f) => f.endsWith('.wasm'))) copyFileSync(`wasm/${file}`, `dist/${file}`);
  },
});
