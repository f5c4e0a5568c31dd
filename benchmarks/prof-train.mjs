import { lenet5Architecture } from '@cnn/lenet';
import { AdamW, TrainableNetwork, createWasmTrainKernels, softmaxCrossEntropy } from '@cnn/train';
import { loadFashionMnist } from '@cnn/train/node';
const data = await loadFashionMnist('train');
const kernels = await createWasmTrainKernels();
const batch = Number(process.argv[2] ?? 64), steps = Number(process.argv[3] ?? 200);
const net = TrainableNetwork.fromArchitecture(lenet5Architecture, { seed: 1, kernels });
const opt = new AdamW(net.parameters(), { lr: 1e-3 });
const step = (start) => {
  const x = data.images.subarray(start * 1024, (start + batch) * 1024);
  const loss = softmaxCrossEntropy(net.forward(x, batch, { training: true }), data.labels.subarray(start, start + batch));
  net.zeroGrad(); loss.backward(); opt.step();
};
for (let i = 0; i < 10; i++) step(i * batch);
const t0 = performance.now();
for (let s = 0; s < steps; s++) step((s * batch) % (data.count - batch));
console.log(`${(steps * batch / ((performance.now() - t0) / 1000)).toFixed(0)} img/s`);
