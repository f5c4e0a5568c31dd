import { describe, expect, it } from 'vitest';
import { GraphBuilder } from './graph.js';
import { Model, type Architecture } from './model.js';
import { writeSafetensors } from './safetensors.js';
import { WeightsError } from './errors.js';
import { loadWeights } from './model-weights.js';

const tiny: Architecture = {
  name: 'tiny',
  inputShape: [2, 4, 4],
  metadata: { parameters: 0 },
  define(b, x) {
    x = b.relu(b.batchNorm2d(b.conv2d(x, 'conv', { outChannels: 3, kernelSize: 3, padding: 1, bias: false }), 'bn'));
    b.output('logits', b.linear(b.flatten(b.adaptiveAvgPool2d(x, 1)), 'fc', 2));
  },
};

function weights(overrides: Record<string, { shape: number[]; data: Float32Array } | null> = {}) {
  const m = new Model(tiny).useGeneratedWeights();
  const map = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const p of m.parameters) map.set(p.key, { shape: p.shape, data: new Float32Array(p.shape.reduce((a, b) => a * b, 1)).fill(0.5) });
  for (const [k, v] of Object.entries(overrides)) {
    if (v === null) map.delete(k);
    else map.set(k, v);
  }
  return map;
}

function withCounter(bytes: Uint8Array, key: string): Uint8Array {
  // Append an I64 entry, as torch writes num_batches_tracked.
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  const dataLength = bytes.length - 8 - headerLength;
  header[key] = { dtype: 'I64', shape: [], data_offsets: [dataLength, dataLength + 8] };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataLength + 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(bytes.subarray(8 + headerLength), 8 + json.length);
  return out;
}

describe('loadWeights', () => {
  it('loads safetensors bytes and ignores I64 num_batches_tracked', async () => {
    const bytes = withCounter(writeSafetensors(weights()), 'bn.num_batches_tracked');
    const m = await loadWeights(new Model(tiny), bytes);
    expect(m.hasWeights).toBe(true);
  });

  it('reports missing keys by name', async () => {
    await expect(loadWeights(new Model(tiny), writeSafetensors(weights({ 'bn.running_var': null })))).rejects.toThrow(
      /missing 1 key\(s\): 'bn.running_var'/,
    );
  });

  it('reports unexpected keys and lets the caller allow them', async () => {
    const bytes = writeSafetensors(weights({ 'aux.weight': { shape: [1], data: new Float32Array(1) } }));
    await expect(loadWeights(new Model(tiny), bytes)).rejects.toThrow(/unexpected 1 key\(s\): 'aux.weight' \(pass \{ allowUnexpected: true \}/);
    await expect(loadWeights(new Model(tiny), bytes, { allowUnexpected: true })).resolves.toBeInstanceOf(Model);
  });

  it('reports shape mismatches with expected and actual shapes', async () => {
    const bytes = writeSafetensors(weights({ 'fc.weight': { shape: [2, 4], data: new Float32Array(8) } }));
    await expect(loadWeights(new Model(tiny), bytes)).rejects.toThrow(/'fc.weight': expected shape \[2, 3\], got \[2, 4\]/);
  });

  it('refuses an integer tensor where a float parameter belongs', async () => {
    const bytes = withCounter(writeSafetensors(weights({ 'fc.bias': null })), 'fc.bias');
    await expect(loadWeights(new Model(tiny), bytes)).rejects.toThrow(/'fc.bias': expected a floating-point tensor \[2\], got dtype I64/);
  });

  it('reads a file path and says which file could not be read', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'cnn-weights-'));
    writeFileSync(join(dir, 'w.safetensors'), writeSafetensors(weights()));
    await expect(loadWeights(new Model(tiny), join(dir, 'w.safetensors'))).resolves.toBeInstanceOf(Model);
    await expect(loadWeights(new Model(tiny), join(dir, 'nope.safetensors'))).rejects.toThrow(WeightsError);
    await expect(loadWeights(new Model(tiny), join(dir, 'nope.safetensors'))).rejects.toThrow(/cannot read weights file '.*nope.safetensors'/);
  });

  it('fetches a URL and reports HTTP errors', async () => {
    const { createServer } = await import('node:http');
    const body = writeSafetensors(weights());
    const server = createServer((req, res) => {
      if (req.url === '/w.safetensors') res.end(Buffer.from(body));
      else res.writeHead(404, 'Not Found').end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      await expect(loadWeights(new Model(tiny), `http://127.0.0.1:${port}/w.safetensors`)).resolves.toBeInstanceOf(Model);
      await expect(loadWeights(new Model(tiny), new URL(`http://127.0.0.1:${port}/missing`))).rejects.toThrow(/HTTP 404/);
    } finally {
      server.close();
    }
  });

  it('builds graphs that reject impossible shapes up front', () => {
    const b = new GraphBuilder();
    const x = b.input([3, 4, 4]);
    expect(() => b.conv2d(x, 'big', { outChannels: 1, kernelSize: 7 })).toThrow(/big: input \[3, 4, 4\] is too small for a 7x7 convolution/);
    expect(() => b.conv2d(x, 'g', { outChannels: 4, kernelSize: 1, groups: 2 })).toThrow(/2 groups must divide in channels 3/);
  });

  it('says what a weights source must be when it is none of them', async () => {
    for (const bad of [null, undefined, 42, true, [1, 2]]) {
      await expect(loadWeights(new Model(tiny), bad as never)).rejects.toThrow(/weights must be .safetensors or .pth bytes .* got/);
    }
    await expect(loadWeights(new Model(tiny), null as never)).rejects.toBeInstanceOf(WeightsError);
  });

  it('checks every tensor of a map or record before using it', async () => {
    const map = (v: unknown) => new Map<string, never>([...weights()].map(([k, t]) => [k, (k === 'fc.bias' ? v : t) as never]));
    await expect(loadWeights(new Model(tiny), map(null))).rejects.toThrow(/'fc.bias': expected a tensor \{ shape, data: Float32Array \}, got null/);
    await expect(loadWeights(new Model(tiny), map({ shape: [2], data: [1, 2] }))).rejects.toThrow(/'fc.bias': data must be a Float32Array, got an array of 2/);
    await expect(loadWeights(new Model(tiny), map({ shape: 'x', data: new Float32Array(2) }))).rejects.toThrow(/'fc.bias': shape must be an array/);
    await expect(loadWeights(new Model(tiny), map({ shape: [3], data: new Float32Array(2) }))).rejects.toThrow(/'fc.bias': shape \[3\] needs 3 values, data has 2/);
    await expect(loadWeights(new Model(tiny), new Map([[7, { shape: [1], data: new Float32Array(1) }]]) as never)).rejects.toThrow(/keys must be strings/);
    await expect(loadWeights(new Model(tiny), { 'fc.bias': 3 } as never)).rejects.toThrow(/'fc.bias': expected a tensor/);
  });

  it('names the URL it could not reach', async () => {
    const { createServer } = await import('node:net');
    // a port that was just free: nothing listens there any more
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((r) => server.close(() => r()));
    const url = `http://127.0.0.1:${port}/w.safetensors`;
    const error = await loadWeights(new Model(tiny), url).catch((e: unknown) => e as WeightsError);
    expect(error).toBeInstanceOf(WeightsError);
    expect((error as WeightsError).code).toBe('io');
    expect((error as Error).message).toContain(`fetching weights from ${url} failed: `);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('refuses a seed that is not an integer', () => {
    expect(() => new Model(tiny).useGeneratedWeights(Number('abc'))).toThrow(/integer seed in 0..4294967295, got NaN/);
    expect(() => new Model(tiny).getWeights()).toThrow(WeightsError);
  });
});

describe('weights meant for another variant', () => {
  const variant = (name: string, blocks: number): Architecture => ({
    name,
    inputShape: [2, 4, 4],
    metadata: { parameters: 0 },
    define(b, x) {
      for (let i = 0; i < blocks; i++) x = b.relu(b.batchNorm2d(b.conv2d(x, `block${i}.conv`, { outChannels: 2, kernelSize: 3, padding: 1, bias: false }), `block${i}.bn`));
      b.output('logits', b.linear(b.flatten(b.adaptiveAvgPool2d(x, 1)), 'fc', 2));
    },
  });
  const family = { small: variant('small', 1), big: variant('big', 2) };
  const make = (name: 'small' | 'big') => new Model(family[name], { siblings: () => Object.values(family).filter((a) => a.name !== name) });
  const fileOf = (name: 'small' | 'big') => writeSafetensors(make(name).useGeneratedWeights().getWeights());

  it('names the variant a bigger file is for, even when unexpected keys are allowed', async () => {
    const message = /the weights are big's \(every key and shape matches it\), not small's \(5 unexpected\): load them into big/;
    await expect(loadWeights(make('small'), fileOf('big'))).rejects.toThrow(message);
    await expect(loadWeights(make('small'), fileOf('big'), { allowUnexpected: true })).rejects.toThrow(message);
  });

  it('names the variant a smaller file is for', async () => {
    await expect(loadWeights(make('big'), fileOf('small'))).rejects.toThrow(/the weights are small's .* not big's \(5 key\(s\) missing\)/);
  });

  it('keeps the plain message when no variant matches', async () => {
    const extra = new Map(make('small').useGeneratedWeights().getWeights());
    extra.set('head.weight', { shape: [1], data: new Float32Array(1) });
    await expect(loadWeights(make('small'), extra)).rejects.toThrow(/unexpected 1 key\(s\): 'head.weight'/);
    await expect(loadWeights(make('small'), extra, { allowUnexpected: true })).resolves.toBeInstanceOf(Model);
  });
});
