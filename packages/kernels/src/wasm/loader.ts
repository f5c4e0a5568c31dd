// Finds, fetches, checks and compiles cnn_kernels.wasm, and types its raw C ABI.
//
// Where the binary is by default: packages/kernels/wasm/cnn_kernels.wasm (written by build.sh).
// The bundle lives at dist/wasm.js, where that file is `../wasm/cnn_kernels.wasm`; the sources
// (run directly by vitest or a TS-aware bundler) live at src/wasm/*.ts, where it is
// `../../wasm/cnn_kernels.wasm`. Both candidates are written as `new URL(literal,
// import.meta.url)` so bundlers can see them, and they are tried in that order.

/** Bumped with any change to an export's signature or a packed layout (see kernels-wasm). */
export const KERNELS_ABI_VERSION = 1;

type Ptr = number;
type U32 = number;

/** The raw exports of cnn_kernels.wasm. Pointers are byte offsets into `memory`. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  readonly __heap_base: WebAssembly.Global;
  cnn_kernels_abi_version(): number;
  conv2d_packed_len(outC: U32, inCPerGroup: U32, kernelH: U32, kernelW: U32, groups: U32): number;
  conv2d_pack_weights(
    dst: Ptr, weight: Ptr, bias: Ptr,
    outC: U32, inCPerGroup: U32, kernelH: U32, kernelW: U32, groups: U32,
  ): void;
  conv2d_nhwc_f32(
    x: Ptr, y: Ptr, residual: Ptr, packed: Ptr, zeros: Ptr,
    n: U32, inH: U32, inW: U32, inC: U32, outH: U32, outW: U32, outC: U32,
    kernelH: U32, kernelW: U32, strideH: U32, strideW: U32, padTop: U32, padLeft: U32,
    dilationH: U32, dilationW: U32, groups: U32, activation: U32,
  ): void;
  dwconv2d_packed_len(channels: U32, kernelH: U32, kernelW: U32): number;
  dwconv2d_pack_weights(dst: Ptr, weight: Ptr, bias: Ptr, channels: U32, kernelH: U32, kernelW: U32): void;
  dwconv2d_nhwc_f32(
    x: Ptr, y: Ptr, residual: Ptr, packed: Ptr,
    n: U32, inH: U32, inW: U32, channels: U32, outH: U32, outW: U32,
    kernelH: U32, kernelW: U32, strideH: U32, strideW: U32, padTop: U32, padLeft: U32,
    dilationH: U32, dilationW: U32, activation: U32,
  ): void;
  linear_f32(
    x: Ptr, y: Ptr, residual: Ptr, weight: Ptr, bias: Ptr,
    n: U32, inF: U32, outF: U32, activation: U32,
  ): void;
  maxpool2d_nhwc(
    x: Ptr, y: Ptr, n: U32, inH: U32, inW: U32, channels: U32, outH: U32, outW: U32,
    kernelH: U32, kernelW: U32, strideH: U32, strideW: U32, padTop: U32, padLeft: U32,
    activation: U32,
  ): void;
  avgpool2d_nhwc(
    x: Ptr, y: Ptr, n: U32, inH: U32, inW: U32, channels: U32, outH: U32, outW: U32,
    kernelH: U32, kernelW: U32, strideH: U32, strideW: U32, padTop: U32, padLeft: U32,
    countIncludePad: U32, activation: U32,
  ): void;
  adaptive_avgpool2d_nhwc(
    x: Ptr, y: Ptr, n: U32, inH: U32, inW: U32, channels: U32, outH: U32, outW: U32,
  ): void;
  add_f32(a: Ptr, b: Ptr, y: Ptr, len: U32, activation: U32): void;
  channel_affine_f32(x: Ptr, y: Ptr, scale: Ptr, shift: Ptr, pixels: U32, channels: U32, activation: U32): void;
  activation_f32(x: Ptr, y: Ptr, len: U32, activation: U32): void;
  copy_channels_nhwc(x: Ptr, y: Ptr, pixels: U32, inC: U32, outC: U32, channelOffset: U32): void;
  scale_channels_f32(x: Ptr, scale: Ptr, y: Ptr, n: U32, pixels: U32, channels: U32): void;
  layer_norm_f32(
    x: Ptr, y: Ptr, gamma: Ptr, beta: Ptr, pixels: U32, channels: U32, eps: number, activation: U32,
  ): void;
  local_response_norm_f32(
    x: Ptr, y: Ptr, pixels: U32, channels: U32, size: U32, alpha: number, beta: number, k: number,
  ): void;
}

const REQUIRED_FUNCTIONS = [
  'cnn_kernels_abi_version',
  'conv2d_packed_len',
  'conv2d_pack_weights',
  'conv2d_nhwc_f32',
  'dwconv2d_packed_len',
  'dwconv2d_pack_weights',
  'dwconv2d_nhwc_f32',
  'linear_f32',
  'maxpool2d_nhwc',
  'avgpool2d_nhwc',
  'adaptive_avgpool2d_nhwc',
  'add_f32',
  'channel_affine_f32',
  'activation_f32',
  'copy_channels_nhwc',
  'scale_channels_f32',
  'layer_norm_f32',
  'local_response_norm_f32',
] as const;

/** Where to get the kernels: bytes, a URL, or a path/URL string (paths are read from disk in Node). */
export type WasmSource = BufferSource | URL | string;

// (module (func (result v128) i32.const 0 i8x16.splat))
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03,
  0x02, 0x01, 0x00, 0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x00, 0xfd, 0x0f, 0x0b,
]);

/** Throws unless this engine has WebAssembly with fixed-width SIMD (simd128). */
export function assertWasmSimdSupport(): void {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.validate !== 'function') {
    throw new Error('The wasm backend needs WebAssembly, but this JavaScript engine has none.');
  }
  if (!WebAssembly.validate(SIMD_PROBE)) {
    throw new Error(
      'The wasm backend needs WebAssembly SIMD (simd128), but this engine rejected a SIMD module; ' +
        'use a current browser or Node >= 16.4, or the js backend.',
    );
  }
}

function defaultLocations(): URL[] {
  return [
    new URL('../wasm/cnn_kernels.wasm', import.meta.url),
    new URL('../../wasm/cnn_kernels.wasm', import.meta.url),
  ];
}

const isNode =
  typeof process === 'object' && process !== null && typeof process.versions?.node === 'string';

function toBytes(source: BufferSource): Uint8Array {
  if (source instanceof Uint8Array) return source;
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  return new Uint8Array(source);
}

async function readFileUrlOrPath(target: URL | string): Promise<Uint8Array> {
  const fs = await import('node:fs/promises');
  return new Uint8Array(await fs.readFile(target));
}

function looksLikeUrl(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(s) && !/^[a-z]:[\\/]/i.test(s); // not a Windows drive path
}

type Fetched = { module: WebAssembly.Module } | { bytes: Uint8Array };

/** Reads (or, over HTTP with the right MIME type, stream-compiles) one location. */
async function fetchFrom(location: URL | string, from: string): Promise<Fetched> {
  if (typeof location === 'string' && !looksLikeUrl(location) && isNode) {
    return { bytes: await readFileUrlOrPath(location) };
  }
  const url = typeof location === 'string' && looksLikeUrl(location) ? new URL(location) : location;
  if (url instanceof URL && url.protocol === 'file:' && isNode) return { bytes: await readFileUrlOrPath(url) };
  const response = await fetch(url);
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
  const streaming = typeof WebAssembly.compileStreaming === 'function' &&
    (response.headers.get('content-type') ?? '').startsWith('application/wasm');
  if (streaming) {
    try {
      assertWasmSimdSupport();
      const module = await WebAssembly.compileStreaming(response.clone());
      checkKernelModule(module, from);
      return { module };
    } catch {
      // Fall through: compiling the bytes again produces the precise error message.
    }
  }
  return { bytes: new Uint8Array(await response.arrayBuffer()) };
}

function describe(location: URL | string): string {
  return typeof location === 'string' ? location : location.href;
}

/** Compiles bytes after checking the header, so a wrong file gets a message that says so. */
export async function compileKernelBytes(bytes: Uint8Array, from: string): Promise<WebAssembly.Module> {
  const magic = [0x00, 0x61, 0x73, 0x6d];
  if (bytes.length < 8 || magic.some((b, i) => bytes[i] !== b)) {
    const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(
      `cnn_kernels.wasm from ${from} is not a WebAssembly binary: expected the header ` +
        `00 61 73 6d 01 00 00 00 ("\\0asm", version 1), got ${bytes.length} bytes starting ` +
        `[${head}]. Rebuild it with packages/kernels/build.sh.`,
    );
  }
  assertWasmSimdSupport();
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw new Error(
      `cnn_kernels.wasm from ${from} (${bytes.length} bytes) is not a valid WebAssembly module ` +
        `(truncated or corrupt?): ${(e as Error).message}. Rebuild it with packages/kernels/build.sh.`,
    );
  }
  checkKernelModule(module, from);
  return module;
}

/** Checks that a compiled module has every export this loader calls. */
export function checkKernelModule(module: WebAssembly.Module, from: string): void {
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  const missing = REQUIRED_FUNCTIONS.filter((name) => exports.get(name) !== 'function');
  if (exports.get('memory') !== 'memory') missing.unshift('memory' as never);
  if (missing.length > 0) {
    throw new Error(
      `${from} is not the cnn_kernels module this loader expects (ABI ${KERNELS_ABI_VERSION}): ` +
        `missing exports ${missing.join(', ')}; it exports ${[...exports.keys()].join(', ') || 'nothing'}.`,
    );
  }
  if (WebAssembly.Module.imports(module).length > 0) {
    const names = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`);
    throw new Error(`${from}: expected a module with no imports, got imports ${names.join(', ')}.`);
  }
}

/** Loads and compiles the kernels from `source`, or from the default locations. */
export async function loadKernelModule(source?: WasmSource): Promise<WebAssembly.Module> {
  if (source !== undefined && typeof source !== 'string' && !(source instanceof URL)) {
    return compileKernelBytes(toBytes(source), 'the bytes passed as options.wasm');
  }
  const locations = source === undefined ? defaultLocations() : [source];
  const failures: string[] = [];
  for (const location of locations) {
    const from = describe(location);
    let fetched: Fetched;
    try {
      fetched = await fetchFrom(location, from);
    } catch (e) {
      failures.push(`${from}: ${(e as Error).message}`);
      continue;
    }
    return 'module' in fetched ? fetched.module : compileKernelBytes(fetched.bytes, from);
  }
  throw new Error(
    `Could not read cnn_kernels.wasm. Tried:\n  ${failures.join('\n  ')}\n` +
      'Build it with packages/kernels/build.sh, or pass createWasmBackend({ wasm }) a path, URL or bytes.',
  );
}

/** Instantiates a compiled kernel module: each instance owns its own memory. */
export function instantiateKernels(module: WebAssembly.Module): KernelExports {
  const instance = new WebAssembly.Instance(module, {});
  const exports = instance.exports as unknown as KernelExports;
  const abi = exports.cnn_kernels_abi_version();
  if (abi !== KERNELS_ABI_VERSION) {
    throw new Error(`cnn_kernels.wasm has ABI version ${abi}, but this loader expects ${KERNELS_ABI_VERSION}.`);
  }
  return exports;
}
