import { describe, expect, it } from 'vitest';
import { Model, buildGraph, type Architecture } from './model.js';
import { lowerGraph, planArena, viewConcatInputs, type PlanPass } from './compile.js';
import { unfoldedWeight } from './folded-weights.js';
import { Tensor } from './tensor.js';
import { ShapeError } from './errors.js';
import type { Backend, ExecutionPlan } from './plan.js';

const block: Architecture = {
  name: 'block',
  inputShape: [4, 6, 6],
  metadata: { parameters: 0 },
  define(b, x) {
    let y = b.relu(b.batchNorm2d(b.conv2d(x, 'conv1', { outChannels: 4, kernelSize: 3, padding: 1, bias: false }), 'bn1'));
    y = b.batchNorm2d(b.conv2d(y, 'conv2', { outChannels: 4, kernelSize: 3, padding: 1, bias: false }), 'bn2');
    const s = b.output('stage', b.relu(b.add(y, x)));
    b.output('logits', b.linear(b.flatten(b.maxPool2d(s, { kernelSize: 2 })), 'fc', 3));
  },
};

/** A backend that records the plan instead of running it. */
function recorder(): Backend & { plan?: ExecutionPlan } {
  const r: Backend & { plan?: ExecutionPlan } = {
    name: 'recorder',
    async compile(plan) {
      r.plan = plan;
      return { run: async () => plan.outputs.map((s) => new Float32Array(s.size)), weightBytes: 0, arenaBytes: 0, dispose() {} };
    },
  };
  return r;
}

describe('lowerGraph', () => {
  it("runs an architecture's planPasses after the standard fusions, and concat copies only without viewConcatInputs", () => {
    const branches = (passes?: readonly PlanPass[]): Architecture => ({
      name: 'branches',
      inputShape: [3, 4, 4],
      metadata: { parameters: 0 },
      ...(passes ? { planPasses: passes } : {}),
      define(b, x) {
        const left = b.relu(b.conv2d(x, 'left', { outChannels: 2, kernelSize: 1 }));
        const right = b.relu(b.conv2d(x, 'right', { outChannels: 5, kernelSize: 3, padding: 1 }));
        b.output('logits', b.linear(b.flatten(b.adaptiveAvgPool2d(b.concat([left, right]), 1)), 'fc', 3));
      },
    });
    const copies = (arch: Architecture) => new Model(arch).useGeneratedWeights(1).plan().ops.filter((o) => o.kind === 'copyChannels').length;
    expect(copies(branches())).toBe(2);
    expect(copies(branches([viewConcatInputs]))).toBe(0);
    // after the standard passes: the activations are already fused into the convolutions it sees
    const seen: string[][] = [];
    new Model(branches([(draft) => void seen.push(draft.ops.map((o) => o.kind))])).useGeneratedWeights(1).plan();
    expect(seen).toEqual([['conv2d', 'conv2d', 'copyChannels', 'copyChannels', 'adaptiveAvgPool2d', 'linear']]);
  });

  it('folds batch norm, fuses activation and residual add into the convolutions', () => {
    const plan = new Model(block).useGeneratedWeights().plan();
    expect(plan.ops.map((o) => o.kind)).toEqual(['conv2d', 'conv2d', 'pool2d', 'linear']);
    const [c1, c2] = plan.ops as Extract<(typeof plan.ops)[number], { kind: 'conv2d' }>[];
    expect(c1.activation).toBe('relu');
    expect(c2.activation).toBe('relu');
    expect(c2.residual?.id).toBe(plan.input.id);
  });

  it("keeps a folded batch norm's factors beside the model's weights until the plan's weights are read", () => {
    const model = new Model(block).useGeneratedWeights();
    const plan = model.plan();
    const c1 = plan.ops[0] as Extract<(typeof plan.ops)[number], { kind: 'conv2d' }>;
    const raw = model.getWeights().get('conv1.weight')!.data;
    const parts = unfoldedWeight(c1);
    // the model's own array, not a scaled copy, and bn1's factors: (planning and freezing read neither)
    expect(parts.weight).toBe(raw);
    // not scaled yet: a change to the model's array shows in the first read
    const first = raw[0];
    raw[0] = first + 1;
    const bn = ['weight', 'running_var'].map((k) => model.getWeights().get(`bn1.${k}`)!.data);
    expect(parts.scale![2]).toBe(bn[0][2] / Math.sqrt(bn[1][2] + 1e-5));
    // read, the weights are the folded ones: fround(w * s) per output channel (rows of 4 * 3 * 3)
    const folded = c1.weight;
    expect(folded).not.toBe(raw);
    expect(folded).toBe(c1.weight);
    for (let i = 0; i < raw.length; i += 7) expect(folded[i]).toBe(Math.fround(raw[i] * parts.scale![Math.floor(i / 36)]));
    raw[0] = first;
    // the unfolded parts still describe the same weights after the read
    expect(unfoldedWeight(c1).weight).toBe(raw);
    // a layer without a folded affine has no factors (fc: a linear layer without batch norm)
    const fc = plan.ops[3] as Extract<(typeof plan.ops)[number], { kind: 'linear' }>;
    expect(unfoldedWeight(fc)).toEqual({ weight: fc.weight });
    expect(Object.isFrozen(c1)).toBe(true);
  });

  it('leaves weights decoded for this compile alone unscaled too: a read scales into a new array', () => {
    const model = new Model(block).useGeneratedWeights();
    const fresh = new Map([...model.getWeights()].map(([k, t]) => [k, { shape: t.shape, data: t.data.slice(), fresh: true }]));
    const raw = fresh.get('conv2.weight')!.data;
    const before = raw.slice();
    const plan = lowerGraph(buildGraph(block, block.inputShape), fresh, { batch: 1, outputs: ['logits'] });
    const c2 = plan.ops[1] as Extract<(typeof plan.ops)[number], { kind: 'conv2d' }>;
    const { weight, scale } = unfoldedWeight(c2);
    expect(weight).toBe(raw);
    expect(c2.weight).not.toBe(raw);
    expect([...raw]).toEqual([...before]);
    expect(c2.weight[5]).toBe(Math.fround(before[5] * scale![0]));
  });

  it('keeps a tapped value materialised and returns taps without running the head', async () => {
    const backend = recorder();
    await new Model(block).useGeneratedWeights().compile(backend, { outputs: ['stage'] });
    expect(backend.plan!.ops.map((o) => o.kind)).toEqual(['conv2d', 'conv2d']);
    expect(backend.plan!.outputs[0].shape).toEqual([1, 6, 6, 4]);
  });

  it('permutes linear columns so NHWC flatten matches torch.flatten order', () => {
    const plan = new Model(block).useGeneratedWeights().plan();
    const fc = plan.ops[3] as Extract<(typeof plan.ops)[number], { kind: 'linear' }>;
    const m = new Model(block).useGeneratedWeights();
    const original = m.getWeights().get('fc.weight')!.data;
    // torch column c*9 + p  ->  ours p*4 + c (c channels = 4, p pixels = 3x3)
    expect(fc.weight[2 * 4 + 1]).toBe(original[1 * 9 + 2]);
  });

  it('reuses arena memory between values whose lifetimes do not overlap', () => {
    // a chain a -> b -> c -> d: a and c can share, b and d can share
    const offsets = planArena([100, 100, 100, 100], [-1, 0, 1, 2], [0, 1, 2, Infinity]);
    expect(new Set(offsets).size).toBe(2);
    const plan = new Model(block).useGeneratedWeights().plan({ batch: 2 });
    const total = [plan.input, ...plan.ops.map((o) => o.output)].reduce((a, s) => a + s.size, 0);
    expect(plan.arenaSize).toBeLessThan(total);
  });

  it('rejects wrong input shapes with what it expected', async () => {
    const runner = await new Model(block).useGeneratedWeights().compile(recorder());
    await expect(runner.run(new Tensor([1, 3, 6, 6]))).rejects.toThrow(/expected 4 input channel\(s\), got 3/);
    await expect(runner.run(new Tensor([1, 4, 8, 8]))).rejects.toThrow(/compiled for 6x6 images, got 8x8 \(compile with \{ inputSize: \[8, 8\] \}\)/);
    await expect(runner.run(new Tensor([2, 4, 6, 6]))).rejects.toThrow(/compiled for batch 1, got batch 2/);
    await expect(runner.run(new Float32Array(5))).rejects.toThrow(ShapeError);
  });

  it('needs weights before compiling and names unknown outputs', () => {
    expect(() => new Model(block).plan()).toThrow(/load weights before compiling/);
    expect(() => new Model(block).useGeneratedWeights().plan({ outputs: ['layer9'] })).toThrow(/unknown output 'layer9'; this network has 'stage', 'logits'/);
  });

  it('refuses something that is not a backend with a typed error, before lowering', async () => {
    const model = new Model(block).useGeneratedWeights();
    for (const notBackend of [null, {}, { name: 'x' }, new Map()]) {
      await expect(model.compile(notBackend as unknown as Backend)).rejects.toThrow(ShapeError);
    }
    await expect(model.compile({} as Backend)).rejects.toThrow(/expected a backend \(an object with a name and compile\(plan\).*got a(n)? Object/);
  });
});
