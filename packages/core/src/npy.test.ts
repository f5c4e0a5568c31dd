import { describe, expect, it } from 'vitest';
import { parseNpy, writeNpy } from './npy.js';
import { Tensor } from './tensor.js';

describe('npy', () => {
  it('round-trips float32 tensors with 64-byte aligned headers', () => {
    const t = new Tensor([2, 3], [1, 2, 3, 4, 5, 6]);
    const bytes = writeNpy(t);
    const headerLength = new DataView(bytes.buffer).getUint16(8, true);
    expect((10 + headerLength) % 64).toBe(0);
    const back = parseNpy(bytes);
    expect(back.shape).toEqual([2, 3]);
    expect([...back.data]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('explains what is wrong with a bad file', () => {
    expect(() => parseNpy(new Uint8Array([1, 2, 3]))).toThrow(/not a .npy file/);
    const bytes = writeNpy(new Tensor([4], [1, 2, 3, 4]));
    expect(() => parseNpy(bytes.subarray(0, bytes.length - 4))).toThrow(/data truncated: shape \(4\) needs 16 bytes, file has 12/);
    const int = writeNpy(new Tensor([1], [1]));
    const at = new TextDecoder().decode(int).indexOf("'<f4'");
    int.set(new TextEncoder().encode("'<i4'"), at); // same length, so the header stays valid
    expect(() => parseNpy(int)).toThrow(/dtype '<i4' is not supported/);
  });
});
