// Random access to a weights file without holding it: bytes in memory (views), or a file in Node
// read piece by piece (node/index.ts), so decoding can fetch each tensor only when it is needed.

export interface ByteSource {
  /** for messages: the path, URL or 'bytes' */
  readonly name: string;
  readonly size: number;
  /** true when read() returns views into memory that is already held (no copy, no I/O) */
  readonly inMemory: boolean;
  /** bytes [offset, offset + length); the caller has checked the range against `size` */
  read(offset: number, length: number): Uint8Array;
  /** fills `target` from `offset` (file sources: lets decoding reuse one buffer) */
  readInto?(offset: number, target: Uint8Array): void;
}

const BLOCK_BYTES = 1 << 20;
let block: Uint8Array | undefined;

/**
 * Decodes `count` elements of `itemSize` bytes at `offset` into `out`: straight from memory, or
 * from a file a block at a time through one reused buffer, so a float16 or int8 file leaves no
 * file-sized garbage behind while the float32 result is built.
 */
export function decodeBlocks(
  source: ByteSource,
  offset: number,
  count: number,
  itemSize: number,
  decode: (bytes: Uint8Array, first: number) => void,
): void {
  if (source.inMemory || !source.readInto) {
    decode(source.read(offset, count * itemSize), 0);
    return;
  }
  block ??= new Uint8Array(BLOCK_BYTES);
  const per = Math.floor(BLOCK_BYTES / itemSize);
  for (let i = 0; i < count; i += per) {
    const n = Math.min(per, count - i);
    const chunk = block.subarray(0, n * itemSize);
    source.readInto(offset + i * itemSize, chunk);
    decode(chunk, i);
  }
}

export function memorySource(bytes: Uint8Array, name = 'bytes'): ByteSource {
  return { name, size: bytes.length, inMemory: true, read: (offset, length) => bytes.subarray(offset, offset + length) };
}

export function isByteSource(v: unknown): v is ByteSource {
  return v !== null && typeof v === 'object' && typeof (v as ByteSource).read === 'function' && typeof (v as ByteSource).size === 'number';
}
