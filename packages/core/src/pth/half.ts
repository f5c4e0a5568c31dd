// float16 bit patterns to float32 values: one table shared by the .pth and .safetensors readers.
let halfTable: Float32Array | undefined;
/** float16 bits -> float32 value, for all 65536 patterns */
export function float16Table(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    halfTable[h] = exp === 0 ? sign * frac * 2 ** -24 : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return halfTable;
}

/**
 * A float tensor as float32: a view into the file when it is contiguous, float32 and aligned
 * (no copy), a new array otherwise (strided views are gathered element by element).
 */
