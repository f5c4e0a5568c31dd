// Where @cnn/train's kernel binaries lie and how they load. They are built from kernels-wasm with
// its cargo feature `train` (packages/train/build.sh) and ship in this package only, so an app
// that only runs inference never downloads them. One literal `new URL(file, import.meta.url)` per
// binary, so bundlers emit the files; in the sources they are in packages/train/wasm/, and
// tsup.config.ts rewrites '../../wasm/' to './' for dist/, where the build copies them.
import { readSource } from '@cnn/core';

/** Training kernel exports every binary has; the threaded one adds the pool's (./wasm.ts). */
export const TRAIN_FUNCTIONS = [
  'cnn_kernels_abi_version',
  'train_gemm_f32_4x8',
  'train_tanh_f32',
  'train_im2col_f32',
  'train_transpose_group_f32',
] as const;

/** Where a binary or its bytes come from: bytes, a URL, or a path/URL string (paths need Node). */
export type TrainWasmSource = BufferSource | URL | string;

export function trainBinaryUrl(threads: boolean): URL {
  return threads ? new URL('../../wasm/cnn_train-threads.wasm', import.meta.url) : new URL('../../wasm/cnn_train.wasm', import.meta.url);
}

/** Fetches (or reads) and compiles a training binary, checking that it has the training exports. */
export async function loadTrainModule(source: TrainWasmSource | undefined, threads: boolean): Promise<WebAssembly.Module> {
  const from = source === undefined ? trainBinaryUrl(threads) : source;
  const label = typeof from === 'string' || from instanceof URL ? String(from) : 'the bytes passed as options.wasm';
  let bytes: Uint8Array;
  if (typeof from === 'string' || from instanceof URL) {
    try {
      bytes = await readSource(from, { cache: false });
    } catch (e) {
      throw new Error(`cannot read the training kernels from ${label}: ${(e as Error).message}; build them with packages/train/build.sh`);
    }
  } else {
    bytes = ArrayBuffer.isView(from) ? new Uint8Array(from.buffer, from.byteOffset, from.byteLength) : new Uint8Array(from);
  }
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error(`${label} is not a WebAssembly binary (expected the bytes '\\0asm', got ${bytes.length} bytes starting ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')})`);
  }
  const module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  const exports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const missing = TRAIN_FUNCTIONS.filter((name) => !exports.has(name));
  if (missing.length > 0) {
    throw new Error(`${label} is not a @cnn/train kernel binary: missing exports ${missing.join(', ')} (the inference binaries of @cnn/kernels carry no training kernels; build packages/train/build.sh)`);
  }
  return module;
}
