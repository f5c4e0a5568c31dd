// Training steps checked against PyTorch: same initial weights, batches, optimiser and schedule
// in torch (tools/torch_steps.py, Debian's python3-torch) and here; the weights must agree.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Architecture } from '@cnn/core';
import { lenet5Architecture } from '@cnn/lenet';
import { TrainableNetwork } from './network.js';
import { AdamW, SGD, type Optimizer } from './optim.js';
import { oneCycle } from './schedule.js';
import { softmaxCrossEntropy } from './ops.js';
import { Random } from './random.js';
import { createWasmTrainKernels } from './kernels/wasm.js';
import { fastKernels } from './kernels/fast.js';
import type { TrainKernels } from './kernels/types.js';
import { machinePaths } from '@cnn/core/testing';

const SCRIPT = fileURLToPath(new URL('../tools/torch_steps.py', import.meta.url));

/** stem, max pool, one BasicBlock with a projection shortcut, global pool, fc: every ResNet-18 op. */
const tinyResNet: Architecture = {
  name: 'tinyresnet',
  inputShape: [3, 16, 16],
  metadata: { parameters: 0 },
  define(b, input) {
    let x = b.relu(b.batchNorm2d(b.conv2d(input, 'conv1', { outChannels: 8, kernelSize: 3, padding: 1, bias: false }), 'bn1'));
    x = b.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 });
    const p = 'layer1.0';
    let y = b.relu(b.batchNorm2d(b.conv2d(x, `${p}.conv1`, { outChannels: 12, kernelSize: 3, stride: 2, padding: 1, bias: false }), `${p}.bn1`));
    y = b.batchNorm2d(b.conv2d(y, `${p}.conv2`, { outChannels: 12, kernelSize: 3, padding: 1, bias: false }), `${p}.bn2`);
    const shortcut = b.batchNorm2d(b.conv2d(x, `${p}.downsample.0`, { outChannels: 12, kernelSize: 1, stride: 2, bias: false }), `${p}.downsample.1`);
    x = b.relu(b.add(y, shortcut));
    b.output('logits', b.linear(b.flatten(b.adaptiveAvgPool2d(x, 1)), 'fc', 5));
  },
};

interface Case {
  arch: Architecture;
  kernels: () => Promise<TrainKernels>;
  optimizer: { type: 'sgd' | 'adamw'; lr: number; momentum: number; nesterov: boolean; weightDecay: number };
  schedule: 'onecycle' | 'constant';
  steps: number;
  batch: number;
  classes: number;
  /**
   * max |torch − ours| / (1 + |torch|) over every weight and buffer. Both sides compute in
   * float32 but sum in different orders (oneDNN vs our GEMMs; V8 also keeps intermediate sums in
   * float64), so each op differs by a few ulps (6e-8) and the differences compound over the
   * steps; AdamW divides by √v and so amplifies them where gradients are tiny. Measured here:
   * 2e-8 (SGD), 6e-7 (AdamW), 1e-7 (ResNet with batch norm). 2e-5 is ~30x the worst, and far
   * below what any wrong gradient, missing term or wrong update rule gives (1e-3 and up).
   */
  tolerance: number;
}

function runCase(c: Case, kernels: TrainKernels) {
  const net = TrainableNetwork.fromArchitecture(c.arch, { seed: 5, kernels });
  const random = new Random(9);
  const [ch, h, w] = c.arch.inputShape;
  const batches = Array.from({ length: c.steps }, () => ({
    x: Array.from({ length: c.batch * ch * h * w }, () => random.uniform(-1.5, 1.5)),
    shape: [c.batch, ch, h, w],
    labels: Array.from({ length: c.batch }, () => random.int(c.classes)),
  }));
  // float32 values, so both sides start from identical bits
  for (const b of batches) b.x = Array.from(Float32Array.from(b.x));
  const initial = Object.fromEntries([...net.exportWeights()].map(([k, t]) => [k, { shape: t.shape, data: Array.from(t.data) }]));
  const dir = mkdtempSync(join(tmpdir(), 'cnn-train-torch-'));
  try {
    const specPath = join(dir, 'spec.json');
    writeFileSync(specPath, JSON.stringify({ model: c.arch.name, weights: initial, batches, optimizer: c.optimizer, schedule: c.schedule }));
    const torch = JSON.parse(execFileSync(machinePaths.python, [SCRIPT, specPath], { encoding: 'utf8', maxBuffer: 1 << 28 }));

    const o = c.optimizer;
    const opt: Optimizer =
      o.type === 'sgd'
        ? new SGD(net.parameters(), { lr: o.lr, momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay })
        : new AdamW(net.parameters(), { lr: o.lr, weightDecay: o.weightDecay });
    const schedule = c.schedule === 'onecycle' ? oneCycle({ maxLr: o.lr, totalSteps: c.steps }) : () => ({ lr: o.lr, momentum: undefined });
    const losses: number[] = [];
    batches.forEach((b, step) => {
      const s = schedule(step);
      expect(s.lr).toBeCloseTo(torch.lrs[step], 12);
      opt.lr = s.lr;
      if (s.momentum !== undefined) {
        expect(s.momentum).toBeCloseTo(torch.momenta[step], 12);
        if (opt instanceof AdamW) opt.beta1 = s.momentum;
        else if (opt instanceof SGD) opt.momentum = s.momentum;
      }
      const loss = softmaxCrossEntropy(net.forward(Float32Array.from(b.x), c.batch, { training: true }), b.labels);
      net.zeroGrad();
      loss.backward();
      opt.step();
      losses.push(loss.data[0]);
    });
    let worst = 0;
    let worstKey = '';
    let moved = 0;
    for (const [key, t] of net.exportWeights()) {
      const want: number[] = torch.weights[key];
      expect(want, key).toBeDefined();
      for (let i = 0; i < want.length; i++) {
        const err = Math.abs(t.data[i] - want[i]) / (1 + Math.abs(want[i]));
        if (err > worst) [worst, worstKey] = [err, key];
        moved = Math.max(moved, Math.abs(want[i] - initial[key].data[i]));
      }
    }
    return { worst, worstKey, moved, losses, torchLosses: torch.losses as number[] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cases: [string, Case][] = [
  [
    'LeNet-5, SGD with Nesterov momentum and weight decay, wasm kernels',
    { arch: lenet5Architecture, kernels: createWasmTrainKernels, optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 }, schedule: 'constant', steps: 6, batch: 16, classes: 10, tolerance: 2e-5 },
  ],
  [
    'LeNet-5, AdamW with one-cycle (lr and β₁ cycled), TypeScript kernels',
    { arch: lenet5Architecture, kernels: async () => fastKernels, optimizer: { type: 'adamw', lr: 3e-3, momentum: 0, nesterov: false, weightDecay: 1e-2 }, schedule: 'onecycle', steps: 6, batch: 16, classes: 10, tolerance: 2e-5 },
  ],
  [
    'a tiny ResNet with batch norm in training mode, SGD with momentum, wasm kernels',
    { arch: tinyResNet, kernels: createWasmTrainKernels, optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9, nesterov: false, weightDecay: 1e-4 }, schedule: 'constant', steps: 5, batch: 8, classes: 5, tolerance: 2e-5 },
  ],
];

describe('training agrees with PyTorch step for step', () => {
  for (const [name, c] of cases) {
    it(name, async () => {
      const r = runCase(c, await c.kernels());
      r.losses.forEach((l, i) => expect(l).toBeCloseTo(r.torchLosses[i], 4));
      // the weights really moved, so agreement is not trivial
      expect(r.moved).toBeGreaterThan(1e-3);
      expect(r.worst, `worst at ${r.worstKey}`).toBeLessThan(c.tolerance);
      console.log(`${name}: max relative weight difference ${r.worst.toExponential(2)} (${r.worstKey}), largest weight change ${r.moved.toFixed(4)}`);
    });
  }
});
