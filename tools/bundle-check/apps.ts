// The fresh apps the bundle check builds: each imports the published packages as a user would
// (one model, one backend), runs one forward pass on generated weights and leaves the logits in
// globalThis.cnnResult, so the same file runs in Node and, bundled, in a page.

export interface App {
  name: string;
  /** the @cnn packages the app may bundle */
  packages: string[];
  /** main.js */
  source: string;
}

function appSource(modelPackage: string, builder: string, backendImport: string, makeBackend: string): string {
  return `import { ${builder} } from '${modelPackage}';
import { Tensor } from '@cnn/core';
${backendImport}

async function main() {
  const model = ${builder}().useGeneratedWeights(1);
  const backend = ${makeBackend};
  const runner = await model.compile(backend);
  const [c, h, w] = model.architecture.inputShape;
  const pixels = new Float32Array(c * h * w);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.sin(i * 0.37) * 0.5;
  const started = performance.now();
  const logits = await runner.run(new Tensor([1, c, h, w], pixels));
  const ms = performance.now() - started;
  runner.dispose();
  return { logits: Array.from(logits.data), backend: backend.name, variant: backend.variant, ms };
}

main().then(
  (result) => { globalThis.cnnResult = result; },
  (error) => { globalThis.cnnResult = { error: String((error && error.stack) || error) }; },
);
`;
}

const wasm = "import { createWasmBackend } from '@cnn/kernels/wasm';";

export const APPS: App[] = [
  {
    name: 'mobilenet-wasm',
    packages: ['@cnn/mobilenet', '@cnn/core', '@cnn/kernels'],
    source: appSource('@cnn/mobilenet', 'mobilenet_v3_small', wasm, 'createWasmBackend()'),
  },
  {
    name: 'lenet-wasm',
    packages: ['@cnn/lenet', '@cnn/core', '@cnn/kernels'],
    source: appSource('@cnn/lenet', 'lenet5', wasm, 'createWasmBackend()'),
  },
  {
    name: 'resnet-webgpu',
    packages: ['@cnn/resnet', '@cnn/core', '@cnn/kernels'],
    source: appSource(
      '@cnn/resnet',
      'resnet18',
      "import { createWebGpuBackend } from '@cnn/kernels/webgpu';",
      "await createWebGpuBackend({ fallback: 'wasm' })",
    ),
  },
];

export function indexHtml(): string {
  return '<!doctype html><html><head><meta charset="utf-8"><title>cnn bundle check</title></head>' +
    '<body><script type="module" src="./main.js"></script></body></html>\n';
}
