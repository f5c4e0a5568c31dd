// NaN in the input propagates to the outputs it reaches, as in torchvision (torch.relu(NaN) is
// NaN), on the js and wasm backends; untouched outputs stay finite.
import { describe, expect, it } from 'vitest';
import { Model, Tensor, type Activation, type Architecture, type Backend } from '@cnn/core';
import { createJsBackend } from './js/index.js';
import { createWasmBackend } from './wasm/index.js';

const ACTIVATIONS: Activation[] = ['relu', 'relu6', 'tanh', 'sigmoid', 'silu', 'hardswish', 'hardsigmoid', 'gelu'];

// Each activation both fused into a convolution and standing alone, then max pooling; the tap
// 'map' keeps spatial positions so unaffected pixels can be checked too.
const chain = (fn: Activation): Architecture => ({
  name: `nan-${fn}`,
  inputShape: [3, 12, 12],
  metadata: { parameters: 0 },
  define(b, x) {
    let y = b.activation(b.conv2d(x, 'conv1', { outChannels: 8, kernelSize: 1 }), fn);
    y = b.activation(b.batchNorm2d(b.conv2d(y, 'conv2', { outChannels: 8, kernelSize: 1, bias: false }), 'bn2'), fn);
    y = b.output('map', b.maxPool2d(b.activation(y, fn), { kernelSize: 2, stride: 2 }));
    b.output('logits', b.linear(b.flatten(b.adaptiveAvgPool2d(y, 1)), 'fc', 4));
  },
});

const backends: Record<string, () => Promise<Backend>> = {
  js: async () => createJsBackend(),
  wasm: async () => createWasmBackend({ threads: 1 }),
};

describe.each(Object.keys(backends))('NaN input on %s', (name) => {
  it.each(ACTIVATIONS)('propagates through %s like torchvision', async (fn) => {
    const model = new Model(chain(fn)).useGeneratedWeights(3);
    const runner = await model.compile(await backends[name](), { outputs: ['map', 'logits'] });
    const x = new Float32Array(3 * 12 * 12).map((_, i) => Math.sin(i));
    x[0 * 144 + 5 * 12 + 7] = NaN; // channel 0, row 5, column 7
    const out = await runner.runAll(new Tensor([1, 3, 12, 12], x));
    runner.dispose();
    const map = out.map; // [1, 8, 6, 6]; the NaN pixel lands in pooled cell (2, 3)
    for (let c = 0; c < 8; c++) {
      for (let p = 0; p < 36; p++) {
        const v = map.data[c * 36 + p];
        if (p === 2 * 6 + 3) expect(v, `channel ${c} at the NaN pixel`).toBeNaN();
        else expect(Number.isFinite(v), `channel ${c} pixel ${p}`).toBe(true);
      }
    }
    expect([...out.logits.data].every(Number.isNaN)).toBe(true);
  });
});
