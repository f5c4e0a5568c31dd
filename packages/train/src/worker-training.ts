// A Web Worker that trains LeNet-5 for a few steps with @cnn/train (bundled by worker.test.ts for
// headless Chromium) and posts the losses and weights back; the same function runs in Node.
import { lenet5Architecture } from '@cnn/lenet';
import { TrainableNetwork } from './network.js';
import { SGD } from './optim.js';
import { softmaxCrossEntropy } from './ops.js';
import { Random } from './random.js';
import { createWasmTrainKernels } from './kernels/wasm.js';

export interface WorkerTrainingResult {
  readonly losses: number[];
  readonly kernels: string;
  readonly c5: number[];
}

export async function trainFewSteps(steps = 3, batch = 8): Promise<WorkerTrainingResult> {
  const kernels = await createWasmTrainKernels();
  const net = TrainableNetwork.fromArchitecture(lenet5Architecture, { seed: 4, kernels });
  const opt = new SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
  const random = new Random(8);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const x = Float32Array.from({ length: batch * 1024 }, () => random.uniform(-1, 1));
    const labels = Array.from({ length: batch }, () => random.int(10));
    const loss = softmaxCrossEntropy(net.forward(x, batch, { training: true }), labels);
    net.zeroGrad();
    loss.backward();
    opt.step();
    losses.push(loss.data[0]);
  }
  return { losses, kernels: kernels.name, c5: Array.from(net.parameter('c5.weight').data) };
}

// Inside a worker: answer one message with the result (or the error).
const scope = globalThis as unknown as { WorkerGlobalScope?: unknown; postMessage(m: unknown): void; onmessage: ((e: MessageEvent) => void) | null };
if (typeof scope.WorkerGlobalScope !== 'undefined') {
  scope.onmessage = () => {
    trainFewSteps().then(
      (r) => scope.postMessage(r),
      (e: Error) => scope.postMessage({ error: `${e.message}\n${e.stack}` }),
    );
  };
}
