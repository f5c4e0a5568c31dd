// Where each kernel binary lies: one literal `new URL(file, import.meta.url)` per variant, in
// the branch that picks it, so that bundlers (Vite, webpack 5, Rollup with an import.meta
// assets plugin) emit the four files and an app downloads only the one its device runs.
// In the sources the binaries are in packages/kernels/wasm/; the published build keeps a copy in
// dist/, and tsup.config.ts rewrites '../../wasm/' in this file to '../' (ESM, dist/wasm/) or
// './' (the CommonJS chunks in dist/).
import type { WasmVariant } from './loader.js';

export function kernelBinaryUrl(variant: WasmVariant): URL {
  switch (variant) {
    case 'simd':
      return new URL('../../wasm/cnn_kernels.wasm', import.meta.url);
    case 'relaxed-simd':
      return new URL('../../wasm/cnn_kernels-relaxed-simd.wasm', import.meta.url);
    case 'simd-threads':
      return new URL('../../wasm/cnn_kernels-simd-threads.wasm', import.meta.url);
    case 'relaxed-simd-threads':
      return new URL('../../wasm/cnn_kernels-relaxed-simd-threads.wasm', import.meta.url);
  }
}
