// The public doors to the weight readers. Each imports weights-decode.ts when called, so no bundle
// links the readers statically: they stay a chunk fetched the first time weights are read, with
// every bundler (esbuild keeps a module that is imported both ways in the first load).
import type { ByteSource } from './byte-source.js';
import type { ReadSourceOptions } from './source.js';
import type { DecodeSourceOptions, DecodedWeights, LoadWeightsOptions, WeightsSource } from './weights.js';

const readers = () => import('./weights-decode.js');

/** Decodes weights from bytes (.safetensors or torch.save, sniffed), a URL, a file path (Node), a weights name or tensors. */
export async function decodeWeights(source: WeightsSource, options: LoadWeightsOptions = {}, handOver = false): Promise<DecodedWeights> {
  return (await readers()).decodeWeights(source, options, handOver);
}

/** Decodes the bytes of a .safetensors or PyTorch checkpoint file (sniffed). */
export async function decodeWeightBytes(bytes: Uint8Array, options: { verifyCrc?: boolean } = {}): Promise<DecodedWeights> {
  return (await readers()).decodeWeightBytes(bytes, options);
}

/** Decodes a .safetensors or PyTorch checkpoint from bytes in memory or a file read on demand. */
export async function decodeWeightSource(source: ByteSource, options: DecodeSourceOptions = {}): Promise<DecodedWeights> {
  return (await readers()).decodeWeightSource(source, options);
}

/** The bytes of a URL (progress, abort, SHA-256, cache) or a file path (Node). */
export async function readSource(source: URL | string, options: ReadSourceOptions = {}): Promise<Uint8Array> {
  return (await readers()).readSource(source, options);
}
