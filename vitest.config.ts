import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (p: string) => fileURLToPath(new URL(`./packages/${p}/src/index.ts`, import.meta.url));

// Tests run against the sources; only the wasm binary has to be built first.
export const alias = {
  '@cnn/core/testing': fileURLToPath(new URL('./packages/core/src/testing.ts', import.meta.url)),
  '@cnn/core': src('core'),
  '@cnn/kernels/js': fileURLToPath(new URL('./packages/kernels/src/js/index.ts', import.meta.url)),
  '@cnn/kernels/wasm': fileURLToPath(new URL('./packages/kernels/src/wasm/index.ts', import.meta.url)),
  '@cnn/kernels': src('kernels'),
  '@cnn/lenet': src('lenet'),
  '@cnn/resnet': src('resnet'),
  '@cnn/cli': src('cli'),
};

export default defineConfig({
  resolve: { alias },
  test: {
    pool: 'threads',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    include: ['packages/*/src/**/*.test.ts', 'benchmarks/**/*.test.ts'],
  },
});
