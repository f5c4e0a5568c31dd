// @cnn/kernels/wasm: the WebAssembly SIMD backend (Rust kernels in kernels-wasm, loaded by hand).
export { createWasmBackend } from './backend.js';
export type { WasmBackend, WasmBackendOptions, WasmExecutable, WasmMemoryStats } from './backend.js';
export {
  assertWasmSimdSupport,
  hasRelaxedSimd,
  loadKernelModule,
  sharedMemoryUnavailableReason,
  variantFileName,
  KERNELS_ABI_VERSION,
} from './loader.js';
export type { KernelExports, WasmSource, WasmVariant } from './loader.js';
