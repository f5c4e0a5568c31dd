import { createWasmBackend } from '@cnn/kernels/wasm';
const backend = createWasmBackend({});
for (const [inF, outF] of [[9216, 4096], [4096, 4096], [25088, 4096]]) {
  const x = { id: 0, shape: [1, 1, 1, inF], offset: 0, size: inF }, y = { id: 1, shape: [1, 1, 1, outF], offset: inF + 16, size: outF };
  const w = new Float32Array(inF * outF).fill(0.001);
  const op = { kind: 'linear', input: x, output: y, weight: w, bias: new Float32Array(outF), activation: 'none' };
  const exe = await backend.compile({ batch: 1, input: x, outputs: [y], ops: [op], arenaSize: inF + outF + 32 });
  const inp = new Float32Array(inF).fill(1); await exe.run(inp); let best = 1e9;
  for (let i = 0; i < 10; i++) { const t = performance.now(); await exe.run(inp); best = Math.min(best, performance.now() - t); }
  console.log(inF, outF, best.toFixed(2), 'ms', (inF * outF * 4 / best / 1e6).toFixed(1), 'GB/s'); exe.dispose();
}
