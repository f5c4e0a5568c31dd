// PyTorch checkpoints written by Debian's torch, read back without Python; hostile and broken files refused.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTorch, writeTorchCheckpoints } from '../testing.js';
import { UnsafeCheckpointError, WeightsError } from '../errors.js';
import { LazyWeightTensor } from '../weights.js';
import { decodeWeightBytes, decodeWeights } from '../weights-decode.js';
import { parseSafetensors } from '../safetensors.js';
import { crc32, readZip } from './zip.js';
import { pthToFloat32, readPth } from './index.js';
import { sniffFormat } from './sniff.js';

interface Expected {
  tensors: Record<string, { shape: number[]; dtype: string; values: number[] }>;
}

const torch = hasTorch();
if (!torch) console.warn('SKIPPED: /usr/bin/python3 cannot import torch and torchvision (apt-get install python3-torch python3-torchvision)');

describe.skipIf(!torch)('PyTorch checkpoints written by torch.save', () => {
  let dir = '';
  let expected: Expected;
  const file = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
  beforeAll(() => {
    dir = writeTorchCheckpoints('formats');
    expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function expectAllTensors(tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>, integerKeys: ReadonlySet<string>) {
    for (const [key, t] of Object.entries(expected.tensors)) {
      if (t.dtype === 'int64') {
        expect(integerKeys.has(key), key).toBe(true);
        continue;
      }
      const got = tensors.get(key);
      expect(got, key).toBeDefined();
      expect(got!.shape, key).toEqual(t.shape);
      // torch's values are exact in their own dtype; float32 holds every f16/bf16 value exactly
      expect(Array.from(got!.data), key).toEqual(t.values.map((v) => Math.fround(v)));
    }
  }

  it.each(['zip.pth', 'legacy.pth'])('reads every dtype, strided and offset views of %s', async (name) => {
    const decoded = await decodeWeights(file(name));
    expect(decoded.format).toBe(name === 'zip.pth' ? 'pytorch-zip' : 'pytorch-legacy');
    expect(decoded.notes).toEqual([]);
    expectAllTensors(decoded.tensors, decoded.integerKeys);
    expect(new DataView(decoded.integers.get('bn.num_batches_tracked')!.bytes.slice().buffer).getBigInt64(0, true)).toBe(17n);
  });

  it('maps float32 tensors of bytes in memory as views, and reads a path piece by piece on demand', async () => {
    const bytes = file('zip.pth');
    const inMemory = await decodeWeights(bytes);
    expect(inMemory.tensors.get('conv.weight')!.data.buffer).toBe(bytes.buffer);
    const { writeFileSync } = await import('node:fs');
    for (const name of ['zip.pth', 'legacy.pth']) {
      const copy = join(dir, `copy-${name}`);
      writeFileSync(copy, file(name));
      const fromDisk = await decodeWeights(copy);
      expect(fromDisk.tensors.get('conv.weight')).toBeInstanceOf(LazyWeightTensor);
      expectAllTensors(fromDisk.tensors, fromDisk.integerKeys);
      // the file is read again at each access, and a zip entry's CRC-32 is checked then
      const corrupt = file(name);
      const at = readZipOffset(name, corrupt);
      corrupt[at] ^= 0x40;
      writeFileSync(copy, corrupt);
      if (name === 'zip.pth') expect(() => fromDisk.tensors.get('conv.weight')!.data).toThrow(/CRC-32 of '.*' is 0x/);
      else expect(fromDisk.tensors.get('conv.weight')!.data[0]).not.toBe(Math.fround(expected.tensors['conv.weight'].values[0]));
    }
  });

  /** a byte inside conv.weight's storage */
  function readZipOffset(name: string, bytes: Uint8Array): number {
    if (name === 'zip.pth') {
      const entries = readZip(bytes);
      // conv.weight is the first tensor pickled, so its storage is key '0'
      return [...entries.values()].find((e) => e.name.endsWith('/data/0'))!.offset + 2;
    }
    // legacy: storages follow in key order; find conv.weight's first float by value
    const first = new Float32Array([expected.tensors['conv.weight'].values[0]]);
    const needle = new Uint8Array(first.buffer);
    for (let i = 0; i + 4 <= bytes.length; i++) if (needle.every((b, j) => bytes[i + j] === b)) return i + 3;
    throw new Error('not found');
  }

  it('unwraps checkpoint["state_dict"] and the module. prefix, and says so', async () => {
    const decoded = await decodeWeights(file('nested.pth'));
    expect(decoded.notes).toEqual(["unwrapped checkpoint['state_dict']", "removed the key prefix 'module.'"]);
    expectAllTensors(decoded.tensors, decoded.integerKeys);
    const legacy = await decodeWeights(file('model_key_legacy.pth'));
    expect(legacy.notes).toEqual(["unwrapped checkpoint['model']"]);
    expectAllTensors(legacy.tensors, legacy.integerKeys);
  });

  it.each(['system.pth', 'system_legacy.pth'])('refuses a pickle that asks for os.system, by name (%s)', (name) => {
    const attempt = () => readPth(file(name));
    expect(attempt).toThrow(UnsafeCheckpointError);
    expect(attempt).toThrow(/refused global 'posix\.system'/);
  });

  it('checks every entry against its CRC-32', () => {
    const bytes = file('zip.pth');
    const entries = readZip(bytes);
    const storage = [...entries.values()].find((e) => e.name.endsWith('/data/0'))!;
    expect(crc32(storage.read())).toBe(storage.crc32);
    const corrupt = bytes.slice();
    corrupt[storage.offset + 3] ^= 0x40;
    expect(() => readPth(corrupt)).toThrow(/CRC-32 of '.*\/data\/0' is 0x[0-9a-f]{8}, the directory records 0x[0-9a-f]{8}/);
    // and reads it anyway when asked not to check
    expect(readPth(corrupt, { verifyCrc: false }).tensors.size).toBeGreaterThan(0);
  });

  it('refuses truncated files of both formats with a WeightsError', () => {
    for (const name of ['zip.pth', 'legacy.pth']) {
      const bytes = file(name);
      for (const keep of [10, 200, Math.floor(bytes.length / 2), bytes.length - 30, bytes.length - 1]) {
        expect(() => readPth(bytes.subarray(0, keep)), `${name} cut to ${keep}`).toThrow(WeightsError);
      }
    }
    expect(() => readPth(file('legacy.pth').subarray(0, file('legacy.pth').length - 4))).toThrow(/runs past the end .* \(truncated\?\)/);
  });

  it('raises only WeightsError for every truncation and for flipped bytes anywhere', async () => {
    for (const name of ['zip.pth', 'legacy.pth', 'nested.pth']) {
      const bytes = file(name);
      for (let keep = 0; keep < bytes.length; keep++) {
        await expect(decodeAll(bytes.subarray(0, keep)), `${name} cut to ${keep}`).rejects.toThrow(WeightsError);
      }
      if (name === 'nested.pth') continue;
      for (let at = 0; at < bytes.length; at++) {
        for (const mask of [0x01, 0xff]) {
          const flipped = bytes.slice();
          flipped[at] ^= mask;
          try {
            await decodeAll(flipped);
          } catch (e) {
            // a flip inside tensor data goes unnoticed in the legacy format (it has no checksum); anything noticed is a WeightsError
            if (!(e instanceof WeightsError)) throw new Error(`${name}: flipping byte ${at} with ${mask} raised ${(e as Error).name}: ${(e as Error).message}`);
          }
        }
      }
    }
  });

  it('names the format a file looks like when it is given to the wrong reader', async () => {
    expect(sniffFormat(file('zip.pth'))).toBe('pytorch-zip');
    expect(sniffFormat(file('legacy.pth'))).toBe('pytorch-legacy');
    expect(() => parseSafetensors(file('zip.pth'))).toThrow('expected a .safetensors file, got what looks like a PyTorch checkpoint (zip, torch >= 1.6)');
    expect(() => parseSafetensors(file('legacy.pth'))).toThrow(/looks like a PyTorch checkpoint \(legacy pickle stream\)/);
    const npy = new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
    await expect(decodeWeights(npy)).rejects.toThrow(/got what looks like a NumPy \.npy array/);
    await expect(decodeWeights(new TextEncoder().encode('<!DOCTYPE html><html>404</html>'))).rejects.toThrow(/looks like an HTML page/);
  });
});

describe('restricted pickle', () => {
  // hand-written pickles: no torch needed
  const pickle = (...parts: (number[] | string)[]) => {
    const bytes: number[] = [];
    for (const p of parts) bytes.push(...(typeof p === 'string' ? [...new TextEncoder().encode(p)] : p));
    return new Uint8Array(bytes);
  };
  const zipOf = (pkl: Uint8Array) => storedZip([['archive/data.pkl', pkl]]);

  it('refuses builtins.eval, even when never called', () => {
    const pkl = pickle([0x80, 2], 'cbuiltins\neval\n', [0x2e]);
    expect(() => readPth(zipOf(pkl))).toThrow("refused global 'builtins.eval'");
  });

  it('refuses STACK_GLOBAL of subprocess.Popen (protocol 4)', () => {
    const pkl = pickle([0x80, 4, 0x8c, 10], 'subprocess', [0x8c, 5], 'Popen', [0x93, 0x2e]);
    expect(() => readPth(zipOf(pkl))).toThrow("refused global 'subprocess.Popen'");
  });

  it('refuses opcodes a state dict never uses (INST), naming them', () => {
    const pkl = pickle([0x80, 2, 0x28], 'ios\nsystem\n', [0x2e]);
    expect(() => readPth(zipOf(pkl))).toThrow(/opcode 0x69 \('i'\) is not one a state dict uses/);
  });

  it('says what it found when the pickle holds no tensors', () => {
    const pkl = pickle([0x80, 2, 0x7d, 0x58, 1, 0, 0, 0], 'a', [0x4b, 1, 0x73, 0x2e]);
    expect(() => readPth(zipOf(pkl))).toThrow(/holds no tensors .*\(keys: a\)/);
  });

  it('gathers a strided float16 view', () => {
    const storage = new Uint8Array(new Uint16Array([0x3c00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600]).buffer); // 1..6
    const t = { key: 't', dtype: 'F16' as const, shape: [2, 2], stride: [1, 3], offset: 1, readStorage: () => storage };
    expect(Array.from(pthToFloat32(t))).toEqual([2, 5, 3, 6]);
  });
});

/** Reads a checkpoint and decodes every float tensor, as loading does. */
async function decodeAll(bytes: Uint8Array): Promise<void> {
  for (const t of (await decodeWeightBytes(bytes)).tensors.values()) void t.data;
}

/** A zip with stored entries (CRC filled), enough for the pickle tests. */
function storedZip(files: [string, Uint8Array][]): Uint8Array {
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    const n = enc.encode(name);
    const local = new Uint8Array(30 + n.length);
    const v = new DataView(local.buffer);
    v.setUint32(0, 0x04034b50, true);
    v.setUint32(14, crc32(data), true);
    v.setUint32(18, data.length, true);
    v.setUint32(22, data.length, true);
    v.setUint16(26, n.length, true);
    local.set(n, 30);
    const c = new Uint8Array(46 + n.length);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint32(16, crc32(data), true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, n.length, true);
    cv.setUint32(42, offset, true);
    c.set(n, 46);
    chunks.push(local, data);
    central.push(c);
    offset += local.length + data.length;
  }
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, files.length, true);
  ev.setUint16(10, files.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const all = [...chunks, ...central, end];
  const out = new Uint8Array(all.reduce((a, c) => a + c.length, 0));
  let p = 0;
  for (const c of all) (out.set(c, p), (p += c.length));
  return out;
}
