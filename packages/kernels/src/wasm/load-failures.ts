// What went wrong when the kernel binary could not be loaded or given memory, and what to do about
// it. Imported by loader.ts and executable.ts only on failure, so apps do not download these
// explanations with the backend.

export function notWasm(bytes: Uint8Array, from: string): Error {
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return new Error(
    `The kernel binary from ${from} is not a WebAssembly binary: expected the header 00 61 73 6d 01 00 00 00, got ` +
      `${bytes.length} bytes starting [${head}]${head.startsWith('3c') ? ' (text: a server answering with an HTML page?)' : ''}.`,
  );
}

export function invalidModule(bytes: Uint8Array, from: string, cause: Error): Error {
  return new Error(
    `The kernel binary from ${from} (${bytes.length} bytes) is not a valid WebAssembly module (truncated or corrupt?): ${cause.message}.`,
  );
}

export function noScriptUrl(file: string, cause: Error): Error {
  return new Error(
    `Cannot locate ${file}: no import.meta.url (${cause.message}) in a classic script, e.g. esbuild ` +
      'without --format=esm. Bundle as an ES module, or pass createWasmBackend({ wasm }) its URL or bytes.',
  );
}

/** `packaged`: the default location was tried (no options.wasm). */
export function unreadable(file: string, failures: readonly string[], packaged: boolean): Error {
  return new Error(
    `Could not read ${file}. Tried:\n  ${failures.join('\n  ')}\n` +
      (packaged
        ? 'It is loaded from beside the script holding the wasm backend: Vite and webpack 5 emit it there; ' +
          'with esbuild or plain Rollup, copy node_modules/@cnn/kernels/dist/*.wasm beside the bundle, or ' +
          'pass createWasmBackend({ wasm }) its URL or bytes.'
        : 'Pass createWasmBackend({ wasm }) a path (Node), URL or bytes that exist.'),
  );
}

export function notKernels(from: string, abi: number, missing: readonly string[], exported: readonly string[]): Error {
  return new Error(
    `${from} is not the cnn_kernels module this loader expects (ABI ${abi}): ` +
      `missing exports ${missing.join(', ')}; it exports ${exported.join(', ') || 'nothing'}.`,
  );
}

export function unexpectedImports(from: string, imports: readonly WebAssembly.ModuleImportDescriptor[]): Error {
  const names = imports.map((i) => `${i.module}.${i.name}`);
  return new Error(`${from}: expected a module with no imports (or only env.memory), got imports ${names.join(', ')}.`);
}

/** `needBytes`, `weightBytes`, `arenaBytes`: what the executable asked for; `cause`: the engine's refusal. */
export function memoryRefused(needBytes: number, weightBytes: number, arenaBytes: number, cause: Error): Error {
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  return new Error(
    `The wasm backend needs ${mib(needBytes)} MiB of wasm memory (weights ${mib(weightBytes)} MiB, arena ` +
      `${mib(arenaBytes)} MiB), more than this engine grants (wasm32 allows at most 4 GiB): ${cause.message}`,
  );
}

export function threadedDataTooLong(heapBase: number, limit: number): Error {
  return new Error(`The threaded kernel binary's data ends at ${heapBase} bytes, past the ${limit} it is laid out for.`);
}

/** `reason`: why this engine cannot share memory between threads (sharedMemoryUnavailable). */
export function noSharedMemory(reason: string): Error {
  return new Error(`This kernel binary is a threaded one, which needs shared memory, but ${reason}.`);
}
