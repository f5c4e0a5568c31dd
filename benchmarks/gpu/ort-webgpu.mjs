// onnxruntime-web's WebGPU execution provider in Node on Dawn (the 'webgpu' package), on the
// weight-free exports of benchmarks/gpu/export_onnx.py: the weights are regenerated here by
// torchvision key with @cnn's counter generator (the same values as useGeneratedWeights(seed)), and
// folded batch norms are recomputed from their recipe, so both WebGPU engines run the same weights.
//
// Two things make ort-web's browser build run in Node: navigator.gpu must exist (Node 20 has no
// navigator), and Dawn's Node binding rejects GPUQueue.writeBuffer from a view of a
// SharedArrayBuffer ("Invalid argument", or a crash), which ort-web passes because its wasm memory is
// shared; browsers accept it. installWebGpuGlobals() provides both: the data is copied into an
// unshared buffer first (a copy browsers do not need; it is counted in ort's times).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Makes `gpu` (Dawn's GPU object) navigator.gpu and lets GPUQueue.writeBuffer take shared views. Idempotent. */
export function installWebGpuGlobals(gpu) {
  if (typeof globalThis.navigator === 'undefined') globalThis.navigator = {};
  if (!globalThis.navigator.gpu) Object.defineProperty(globalThis.navigator, 'gpu', { value: gpu, configurable: true });
  const proto = globalThis.GPUQueue?.prototype;
  if (!proto) throw new Error("no GPUQueue global: assign the 'webgpu' package's globals to globalThis first");
  if (proto.writeBuffer.cnnUnshares) return;
  const writeBuffer = proto.writeBuffer;
  const patched = function (buffer, offset, data, ...rest) {
    const shared = ArrayBuffer.isView(data) && typeof SharedArrayBuffer !== 'undefined' && data.buffer instanceof SharedArrayBuffer;
    return writeBuffer.call(this, buffer, offset, shared ? data.slice() : data, ...rest);
  };
  patched.cnnUnshares = true;
  proto.writeBuffer = patched;
}

/** weights.bin of an export, from its recipe: state_dict keys, and conv + batch-norm folds */
export function regenerateWeights(manifest, counterParameter) {
  const bytes = new Uint8Array(manifest.weightsBytes);
  const seed = manifest.seed;
  for (const e of manifest.external) {
    const n = e.dims.reduce((a, d) => a * d, 1);
    let values;
    if (e.key) {
      values = counterParameter(e.key, e.dims, seed);
    } else if (e.fold) {
      const out = e.fold === 'weight' ? e.dims[0] : n;
      const param = (k) => counterParameter(k, [out], seed);
      const [gamma, beta, mean, variance] = [e.gamma, e.beta, e.mean, e.var].map(param);
      const scale = Float64Array.from(gamma, (g, o) => g / Math.sqrt(variance[o] + e.eps));
      values = new Float32Array(n);
      if (e.fold === 'weight') {
        const w = counterParameter(e.weight, e.dims, seed);
        const per = n / out;
        for (let i = 0; i < n; i++) values[i] = w[i] * scale[Math.floor(i / per)];
      } else {
        const b = e.bias ? counterParameter(e.bias, [out], seed) : new Float32Array(out);
        for (let o = 0; o < out; o++) values[o] = (b[o] - mean[o]) * scale[o] + beta[o];
      }
    } else {
      throw new Error(`${manifest.model}: external initializer ${e.name} has no recipe`);
    }
    if (values.length !== n || values.byteLength !== e.length) throw new Error(`${manifest.model}: ${e.name} regenerated ${values.byteLength} bytes, the graph wants ${e.length}`);
    bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), e.offset);
  }
  return bytes;
}

/** the export of `name` at `size` in `dir`: { manifest, graph (bytes) }, or a clear error naming the command that makes it */
export function readExport(dir, name, size) {
  const stem = join(dir, `${name}_${size}`);
  try {
    return { manifest: JSON.parse(readFileSync(`${stem}.json`, 'utf8')), graph: new Uint8Array(readFileSync(`${stem}.onnx`)) };
  } catch (e) {
    throw new Error(`no ONNX export ${stem}.onnx/.json (${e.code ?? e.message}): run /usr/bin/python3 benchmarks/gpu/export_onnx.py --models ${name} --size ${size}`);
  }
}

/**
 * An onnxruntime-web session on `executionProvider` ('webgpu', or 'wasm' for a CPU cross-check) for
 * an export, with its weights regenerated. Returns { session, run(nchw Float32Array, batch) -> logits }.
 */
export async function createOrtSession(ort, { manifest, graph }, counterParameter, { executionProvider = 'webgpu' } = {}) {
  const weights = regenerateWeights(manifest, counterParameter);
  const session = await ort.InferenceSession.create(graph, {
    executionProviders: [executionProvider],
    graphOptimizationLevel: 'all',
    externalData: [{ path: 'weights.bin', data: weights }],
  });
  const run = async (input, batch) => {
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input, [batch, ...manifest.input]) };
    const out = await session.run(feeds);
    const logits = out[session.outputNames[0]];
    const data = logits.data;
    logits.dispose?.();
    return data;
  };
  return { session, run };
}
