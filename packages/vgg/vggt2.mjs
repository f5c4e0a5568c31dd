import { vgg } from '@cnn/vgg';
import { createWasmBackend } from '@cnn/kernels/wasm';
import { createJsBackend } from '@cnn/kernels/js';
import { Tensor, compilePlan } from '@cnn/core';
const share = process.argv[2] === 'share';
const wb = await createWasmBackend();
let t0 = performance.now(); const lap = (s) => { const t = performance.now(); console.log(s.padEnd(22), ((t - t0)/1000).toFixed(2), 's rss', (process.memoryUsage().rss/2**20|0)); t0 = t; };
for (const v of ['vgg11', 'vgg13', 'vgg16_bn']) {
  const m = vgg(v).useGeneratedWeights(1); lap(v + ' generated');
  for (const [size, be] of [[224, share ? wb : await createWasmBackend()], [64, createJsBackend()]]) {
    const opts = { batch: 1, inputSize: [size, size], outputs: ['logits'] };
    const p = m.plan(opts); lap(' plan ' + size);
    const ex = await compilePlan(be, p); lap(' compile ' + size);
    const x = new Float32Array(3*size*size).fill(0.5);
    ex.dispose?.(); lap(' dispose');
  }
}
