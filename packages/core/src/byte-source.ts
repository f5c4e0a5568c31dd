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
}

export function memorySource(bytes: Uint8Array, name = 'bytes'): ByteSource {
  return { name, size: bytes.length, inMemory: true, read: (offset, length) => bytes.subarray(offset, offset + length) };
}

export function isByteSource(v: unknown): v is ByteSource {
  return v !== null && typeof v === 'object' && typeof (v as ByteSource).read === 'function' && typeof (v as ByteSource).size === 'number';
}
