// Fine-tuning ResNet-18: backbone weights in, a new 10-class head, only the last stage and head trained.
import { describe, expect, it } from 'vitest';
import { resnet18 } from '@cnn/resnet';
import { loadFashionMnist } from './node.js';
import { TrainableNetwork } from './network.js';
import { SGD } from './optim.js';
import { softmaxCrossEntropy } from './ops.js';
import { createWasmTrainKernels } from './kernels/wasm.js';

describe('fine-tuning', () => {
  it('trains layer4 and a new head of ResNet-18 on Fashion-MNIST images while the rest stays frozen', async () => {
    const backbone = resnet18().useGeneratedWeights(1); // 1000 classes: its fc does not fit the new head
    const net = TrainableNetwork.fromArchitecture(resnet18({ numClasses: 10 }).architecture, { inputShape: [3, 32, 32], kernels: await createWasmTrainKernels(), seed: 3 });
    net.loadWeights(backbone.getWeights(), { skip: (key) => key.startsWith('fc.') });
    net.freeze((key) => key.startsWith('layer4.') || key.startsWith('fc.'));
    const trainable = net.parameters().filter((p) => p.requiresGrad).map((p) => p.key);
    // layer4: 3 convs and 3 batch norms in block 0 (with the projection), 2 and 2 in block 1; then fc
    expect(trainable.length).toBe(5 + 5 * 2 + 2);

    const data = await loadFashionMnist('test');
    const n = 8;
    const x = new Float32Array(n * 3 * 1024);
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) x.set(data.images.subarray(i * 1024, (i + 1) * 1024), (i * 3 + c) * 1024);
    const labels = data.labels.subarray(0, n);
    const frozenBefore = net.parameter('layer3.1.conv2.weight').data.slice();
    const tunedBefore = net.parameter('layer4.1.conv2.weight').data.slice();
    const opt = new SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
    const losses: number[] = [];
    for (let step = 0; step < 4; step++) {
      const loss = softmaxCrossEntropy(net.forward(x, n, { training: true }), labels);
      net.zeroGrad();
      loss.backward();
      opt.step();
      losses.push(loss.data[0]);
    }
    expect(losses[3]).toBeLessThan(losses[0]);
    expect([...net.parameter('layer3.1.conv2.weight').data]).toEqual([...frozenBefore]);
    expect(net.parameter('layer3.1.conv2.weight').grad).toBeNull();
    expect(net.parameter('layer4.1.conv2.weight').data.some((v, i) => v !== tunedBefore[i])).toBe(true);
  });
});
