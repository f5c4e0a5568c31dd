import { defineConfig } from 'tsup';

// One entry point per label set, so an app bundles only the names it imports.
export default defineConfig({
  entry: { index: 'src/index.ts', imagenet: 'src/imagenet.ts', mnist: 'src/mnist.ts' },
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  splitting: true,
  target: 'es2022',
});
