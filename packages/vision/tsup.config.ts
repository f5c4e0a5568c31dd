import { defineConfig } from 'tsup';

// Two entry points: the browser-safe library, and ./node (file reading and the pure-JS PNG/JPEG
// decoders), which only Node code imports.
export default defineConfig({
  entry: { index: 'src/index.ts', node: 'src/node.ts' },
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  splitting: true,
  target: 'es2022',
});
