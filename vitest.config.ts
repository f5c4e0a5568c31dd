import { defineConfig } from 'vitest/config';
import { readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Tests run against the sources (only the wasm binary has to be built first): every
// packages/<name>/src/index.ts is @cnn/<name>, plus the sub-path entry points below.
const packageAliases = Object.fromEntries(
  readdirSync(root('./packages'))
    .filter((name) => existsSync(root(`./packages/${name}/src/index.ts`)))
    .map((name) => [`@cnn/${name}`, root(`./packages/${name}/src/index.ts`)]),
);

export const alias = [
  // package.json "imports": under Node, the Node half of each package's node/browser twin.
  { find: /^#core\/node$/, replacement: root('./packages/core/src/node/index.ts') },
  { find: /^#kernels\/node$/, replacement: root('./packages/kernels/src/wasm/node/index.ts') },
  { find: '@cnn/core/testing', replacement: root('./packages/core/src/testing.ts') },
  { find: '@cnn/core/pth', replacement: root('./packages/core/src/pth-reader.ts') },
  { find: '@cnn/kernels/js', replacement: root('./packages/kernels/src/js/index.ts') },
  { find: '@cnn/kernels/wasm/threads', replacement: root('./packages/kernels/src/wasm/threads.ts') },
  { find: '@cnn/kernels/wasm/q8', replacement: root('./packages/kernels/src/wasm/q8.ts') },
  { find: '@cnn/kernels/wasm', replacement: root('./packages/kernels/src/wasm/index.ts') },
  { find: '@cnn/train/node', replacement: root('./packages/train/src/node.ts') },
  { find: '@cnn/kernels/webgpu', replacement: root('./packages/kernels/src/webgpu/index.ts') },
  { find: '@cnn/kernels/testing', replacement: root('./packages/kernels/src/testing.ts') },
  { find: '@cnn/vision/node', replacement: root('./packages/vision/src/node.ts') },
  { find: '@cnn/labels/imagenet', replacement: root('./packages/labels/src/imagenet.ts') },
  { find: '@cnn/labels/mnist', replacement: root('./packages/labels/src/mnist.ts') },
  ...Object.entries(packageAliases).map(([find, replacement]) => ({ find: new RegExp(`^${find}$`), replacement })),
];

export default defineConfig({
  resolve: { alias },
  test: {
    pool: 'threads',
    testTimeout: 300_000,
    hookTimeout: 300_000,
    include: ['packages/*/src/**/*.test.ts', 'benchmarks/**/*.test.ts', 'scripts/**/*.test.ts', 'tools/bundle-check/**/*.test.ts', 'tools/release/**/*.test.ts', 'examples/*/src/**/*.test.ts'],
  },
});
