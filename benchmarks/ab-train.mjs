// A/B: main's @cnn/train against this worktree's, interleaved in one process.
import { lenet5Architecture } from '@cnn/lenet';
import * as B from '@cnn/train';
import { loadFashionMnist } from '@cnn/train/node';
const A = await import('/work/main/packages/train/dist/index.js');
const data = await loadFashionMnist('train');
const batch = Number(process.argv[2] ?? 64), steps = Number(process.argv[3] ?? 100), rounds = Number(process.argv[4] ?? 4);
async function make(T) {
  const kernels = await T.createWasmTrainKernels();
  const net = T.TrainableNetwork.fromArchitecture(lenet5Architecture, { seed: 1, kernels });
  const opt = new T.AdamW(net.parameters(), { lr: 1e-3 });
  return (start) => {
    const x = data.images.subarray(start * 1024, (start + batch) * 1024);
    const loss = T.softmaxCrossEntropy(net.forward(x, batch, { training: true }), data.labels.subarray(start, start + batch));
    net.zeroGrad(); loss.backward(); opt.step();
  };
}
const runs = { main: await make(A), branch: await make(B) };
for (const s of Object.values(runs)) for (let i = 0; i < 5; i++) s(i * batch);
const res = { main: [], branch: [] };
for (let r = 0; r < rounds; r++) for (const [k, s] of Object.entries(runs)) {
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) s((i * batch) % (data.count - batch));
  res[k].push(Math.round(steps * batch / ((performance.now() - t0) / 1000)));
}
console.log(JSON.stringify(res), 'load', (await import('node:os')).loadavg()[0].toFixed(1));
