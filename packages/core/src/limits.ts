// The one table of size limits: every reader and the compiler check these before allocating, and
// every refusal names the limit it hit, so a hostile or mistaken input fails fast and says why.

export const LIMITS = {
  /**
   * Bytes of a .safetensors JSON header. A torchvision checkpoint needs 5–60 kB; a
   * 100,000-tensor checkpoint at ~150 bytes per entry would need 15 MB. (The Rust reader allows
   * 100 MB, which lets a header of nested arrays cost gigabytes of memory to parse.)
   */
  safetensorsHeaderBytes: 16 * 1024 * 1024,
  /** Bytes of a .npy header: numpy's own default for np.load (max_header_size). */
  npyHeaderBytes: 10_000,
  /**
   * Nesting of brackets in a header. A safetensors header needs 3 levels (object, entry, shape
   * array) and a .npy header 2 (dict, shape tuple); the limit is checked by a scan before parsing,
   * so deep nesting can never exhaust the stack.
   */
  headerNesting: 16,
  /** Dimensions of one tensor (torchvision's weights have at most 4, inputs 4). */
  tensorRank: 16,
  /** Elements of one tensor decoded to float32 (2^30 = 4 GiB, the whole of a wasm32 memory). */
  tensorElements: 2 ** 30,
  /** Height or width of a compiled input image, in pixels. */
  inputSide: 16_384,
  /** Bytes of the activation arena one compiled runner may plan (2 GiB). */
  arenaBytes: 2 * 1024 ** 3,
} as const;

export type LimitName = keyof typeof LIMITS;

const MiB = 1024 * 1024;

/** A byte count for messages: exact bytes, with MiB/GiB beside it when large. */
export function formatBytes(n: number): string {
  if (n >= 1024 * MiB) return `${n} bytes (${(n / 1024 / MiB).toFixed(1)} GiB)`;
  if (n >= MiB) return `${n} bytes (${(n / MiB).toFixed(1)} MiB)`;
  return `${n} bytes`;
}
