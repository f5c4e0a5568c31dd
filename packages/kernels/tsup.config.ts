import { defineConfig } from 'tsup';

// Separate entry points so an app that uses only WebAssembly never bundles other backends.
// dist/wasm.js resolves the binary as ../wasm/cnn_kernels.wasm, the same relative path as src/wasm/*.ts.
export default defineConfig({
  entry: { index: 'src/index.ts', js: 'src/js/index.ts', wasm: 'src/wasm/index.ts', webgpu: 'src/webgpu/index.ts' },
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  splitting: true,
  target: 'es2022',
});
