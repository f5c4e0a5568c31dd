// What went wrong when the kernel binary could not be loaded, and what to do about it. Imported
// by loader.ts only on failure, so apps do not download these explanations with the backend.

export function notWasm(bytes: Uint8Array, from: string): Error {
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return new Error(
    `The kernel binary from ${from} is not a WebAssembly binary: expected the header ` +
      `00 61 73 6d 01 00 00 00 ("\\0asm", version 1), got ${bytes.length} bytes starting ` +
      `[${head}]${head.startsWith('3c') ? ' (text: a server answering with an HTML page instead of the file?)' : ''}.`,
  );
}

export function invalidModule(bytes: Uint8Array, from: string, cause: Error): Error {
  return new Error(
    `The kernel binary from ${from} (${bytes.length} bytes) is not a valid WebAssembly module ` +
      `(truncated or corrupt?): ${cause.message}.`,
  );
}

export function noScriptUrl(file: string, cause: Error): Error {
  return new Error(
    `Cannot locate ${file}: this script has no import.meta.url (${cause.message}); ` +
      'it was bundled as a classic script, e.g. esbuild without --format=esm. Bundle it as an ES module, ' +
      'or pass createWasmBackend({ wasm }) the URL or bytes of the binary.',
  );
}

/** `packaged`: the default location was tried (no options.wasm). */
export function unreadable(file: string, failures: readonly string[], packaged: boolean): Error {
  return new Error(
    `Could not read ${file}. Tried:\n  ${failures.join('\n  ')}\n` +
      (packaged
        ? `@cnn/kernels ships it as @cnn/kernels/wasm/${file} (node_modules/@cnn/kernels/dist/${file}) and ` +
          'loads it from beside the script that holds the wasm backend: Vite and webpack 5 emit it there by ' +
          'themselves; with esbuild or plain Rollup, copy node_modules/@cnn/kernels/dist/*.wasm next to the ' +
          'bundle, or pass createWasmBackend({ wasm }) its URL or bytes.'
        : 'Pass createWasmBackend({ wasm }) a path (Node), URL or bytes that exist.'),
  );
}
