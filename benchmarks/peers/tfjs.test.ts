// The two tfjs peers (tf.layers in tfjs-models.mjs, tfjs-core fused ops in tfjs-fused.mjs) compute
// torchvision's networks: checked against a committed torchvision fixture, and against each other on
// every architecture that runs at 64x64, on tfjs-backend-wasm (the backend bench:peers times).
// The 224x224 check against the ONNX exports' logits is peers.test.ts's --quick run.
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { counterInput, counterParameter } from '@cnn/core';
import { buildTfjsModel } from './tfjs-models.mjs';
import { buildTfjsFusedModel } from './tfjs-fused.mjs';

const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs-core');
const tfl = require('@tensorflow/tfjs-layers');
require('@tensorflow/tfjs-backend-wasm');

const SEED = 1;
const param = (key: string, shape: number[]) => counterParameter(key, shape, SEED);

function nhwcInput(h: number, w: number) {
  const nchw = counterInput([1, 3, h, w], SEED);
  const nhwc = new Float32Array(nchw.length);
  for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) nhwc[i * 3 + c] = nchw[c * h * w + i];
  return tf.tensor4d(nhwc, [1, h, w, 3]);
}

/** max|a - b| / max|b|, NaN-safe (a NaN gives Infinity) */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>) {
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    diff = Math.max(diff, Number.isNaN(d) ? Infinity : d);
    ref = Math.max(ref, Math.abs(b[i]));
  }
  return diff / ref;
}

async function logitsOf(form: 'layers' | 'fused', name: string, size: number) {
  const x = nhwcInput(size, size);
  const input = [size, size, 3];
  if (form === 'fused') {
    const m = buildTfjsFusedModel(tf, name, param, { input });
    const before = tf.memory().numTensors;
    const y = m.predict(x);
    const data = await y.data();
    y.dispose();
    const leaked = tf.memory().numTensors - before;
    m.dispose();
    x.dispose();
    return { data, macs: m.macs, leaked };
  }
  const { model, macs } = buildTfjsModel(tf, tfl, name, param, { input });
  const y = model.predict(x);
  const data = await y.data();
  y.dispose();
  model.dispose();
  x.dispose();
  return { data, macs, leaked: 0 };
}

describe('tfjs peers on tfjs-backend-wasm', () => {
  beforeAll(async () => {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    expect(await tf.setBackend('wasm')).toBe(true);
    await tf.ready();
  });

  it('both forms match torchvision on ConvNeXt-T at 64x64 (LayerNorm, GELU, layer scale, 7x7 depthwise)', async () => {
    const fx = JSON.parse(readFileSync(fileURLToPath(new URL('../../packages/convnext/fixtures/convnext_tiny_64.json', import.meta.url)), 'utf8'));
    expect(fx.calibration.keys).toBe(0); // plain generated weights, as here
    expect(fx.seed).toBe(SEED);
    for (const form of ['layers', 'fused'] as const) {
      const { data, macs } = await logitsOf(form, 'convnext_tiny', 64);
      expect(macs, form).toBe(fx.macs);
      expect(relativeError(data, fx.logits.data), form).toBeLessThan(1e-4);
    }
  }, 60_000);

  // vgg16 and alexnet need 224x224 (their adaptive pools are the identity only there)
  it.each(['mobilenet_v3_large', 'mobilenet_v2', 'efficientnet_b0', 'googlenet', 'densenet121', 'resnet50', 'resnet18'])(
    'the fused graph computes what the tf.layers model does: %s at 64x64, and frees every intermediate',
    async (name) => {
      const layers = await logitsOf('layers', name, 64);
      const fused = await logitsOf('fused', name, 64);
      expect(fused.macs).toBe(layers.macs);
      expect(relativeError(fused.data, layers.data)).toBeLessThan(1e-5);
      expect(fused.leaked).toBe(0);
    },
    60_000,
  );

  it('names what it does not know', () => {
    expect(() => buildTfjsFusedModel(tf, 'lenet6', param)).toThrow(/no tfjs architecture for 'lenet6'; known: resnet50/);
  });
});
