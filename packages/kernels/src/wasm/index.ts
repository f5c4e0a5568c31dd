// @cnn/kernels/wasm: the WebAssembly SIMD backend (Rust kernels in kernels-wasm, loaded by hand).
export { createWasmBackend } from './backend.js';
export type { WasmBackendOptions } from './backend.js';
export { assertWasmSimdSupport, loadKernelModule, KERNELS_ABI_VERSION } from './loader.js';
export type { KernelExports, WasmSource } from './loader.js';
