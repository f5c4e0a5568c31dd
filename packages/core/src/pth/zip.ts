// A read-only zip central-directory reader for PyTorch's archive format: stored entries come back
// as views into the file's bytes (no copy) or read from the file on demand, checked against their CRC-32.
//
// Why not a zip library: torch writes only stored (uncompressed) entries, aligned to 64 bytes so
// tensors can be mapped in place. Libraries such as fflate copy every entry into a new buffer,
// which would hold a 500 MB checkpoint twice; the part we need (central directory, zip64
// records, local header skip, CRC-32) is about 150 lines.
import { WeightsError } from '../errors.js';
import { memorySource, type ByteSource } from '../byte-source.js';

export interface ZipEntry {
  readonly name: string;
  /** where the entry's bytes start in the archive, and how many */
  readonly offset: number;
  readonly size: number;
  readonly crc32: number;
  /** the entry's bytes (a view for archives in memory), checked against the CRC-32 when verifying */
  read(): Uint8Array;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/**
 * Reads the central directory. With `verify` (default), entries of an archive in memory are
 * checked against their CRC-32 now; entries of a file source when they are read.
 */
export function readZip(input: Uint8Array | ByteSource, options: { verify?: boolean } = {}): Map<string, ZipEntry> {
  const source = input instanceof Uint8Array ? memorySource(input) : input;
  const verify = options.verify ?? true;
  const { count, cdSize, cdOffset } = locateCentralDirectory(source);
  if (cdOffset + cdSize > source.size) {
    throw new WeightsError(`zip: central directory (bytes ${cdOffset}..${cdOffset + cdSize}) runs past the end of the ${source.size}-byte file (truncated?)`);
  }
  const cd = source.read(cdOffset, cdSize);
  const view = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const entries = new Map<string, ZipEntry>();
  const decoder = new TextDecoder();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdSize || view.getUint32(p, true) !== CENTRAL) {
      throw new WeightsError(`zip: central directory entry ${i} of ${count} at byte ${cdOffset + p} is malformed`);
    }
    const record = readCentralRecord(view, p, i, decoder);
    p = record.next;
    const entry = storedEntry(source, record, verify);
    entries.set(entry.name, entry);
  }
  return entries;
}

interface DirectoryLocation {
  count: number;
  cdSize: number;
  cdOffset: number;
}

/** Finds the central directory from the end-of-directory record, or its zip64 twin when present. */
function locateCentralDirectory(source: ByteSource): DirectoryLocation {
  const size = source.size;
  const tailStart = Math.max(0, size - 65557 - 20);
  const tail = source.read(tailStart, size - tailStart);
  const tailView = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  const eocdInTail = findEndOfCentralDirectory(tailView);
  const eocd = tailStart + eocdInTail;
  if (!(eocdInTail >= 20 && tailView.getUint32(eocdInTail - 20, true) === ZIP64_LOCATOR)) {
    return {
      count: tailView.getUint16(eocdInTail + 10, true),
      cdSize: tailView.getUint32(eocdInTail + 12, true),
      cdOffset: tailView.getUint32(eocdInTail + 16, true),
    };
  }
  const z64 = readU64(tailView, eocdInTail - 20 + 8, 'zip64 end-of-directory offset');
  if (z64 + 56 > eocd) throw new WeightsError(`zip: the zip64 end-of-directory record at byte ${z64} is missing or truncated (file of ${size} bytes)`);
  const record = source.read(z64, 56);
  const rv = new DataView(record.buffer, record.byteOffset, 56);
  if (rv.getUint32(0, true) !== ZIP64_EOCD) throw new WeightsError(`zip: no zip64 end-of-directory record at byte ${z64}`);
  return {
    count: readU64(rv, 32, 'zip64 entry count'),
    cdSize: readU64(rv, 40, 'zip64 directory size'),
    cdOffset: readU64(rv, 48, 'zip64 directory offset'),
  };
}

interface CentralRecord {
  name: string;
  method: number;
  crc: number;
  compressed: number;
  uncompressed: number;
  localOffset: number;
  /** where the next record starts in the directory */
  next: number;
}

/** One central-directory record at `p` (its signature already checked), zip64 sizes applied. */
function readCentralRecord(view: DataView, p: number, i: number, decoder: TextDecoder): CentralRecord {
  const nameLength = view.getUint16(p + 28, true);
  const extraLength = view.getUint16(p + 30, true);
  const commentLength = view.getUint16(p + 32, true);
  if (p + 46 + nameLength + extraLength > view.byteLength) throw new WeightsError(`zip: central directory entry ${i} runs past the directory`);
  const record: CentralRecord = {
    name: decoder.decode(new Uint8Array(view.buffer, view.byteOffset + p + 46, nameLength)),
    method: view.getUint16(p + 10, true),
    crc: view.getUint32(p + 16, true),
    compressed: view.getUint32(p + 20, true),
    uncompressed: view.getUint32(p + 24, true),
    localOffset: view.getUint32(p + 42, true),
    next: p + 46 + nameLength + extraLength + commentLength,
  };
  applyZip64Extra(view, p + 46 + nameLength, p + 46 + nameLength + extraLength, record);
  return record;
}

/** zip64 extra field: the 64-bit values appear only for the 32-bit fields that are saturated. */
function applyZip64Extra(view: DataView, e: number, extraEnd: number, r: CentralRecord): void {
  for (; e + 4 <= extraEnd; e += 4 + view.getUint16(e + 2, true)) {
    if (view.getUint16(e, true) !== 0x0001) continue;
    let q = e + 4;
    if (r.uncompressed === 0xffffffff) (r.uncompressed = readU64(view, q, `'${r.name}' size`)), (q += 8);
    if (r.compressed === 0xffffffff) (r.compressed = readU64(view, q, `'${r.name}' size`)), (q += 8);
    if (r.localOffset === 0xffffffff) r.localOffset = readU64(view, q, `'${r.name}' offset`);
  }
}

/** Checks a record is a stored entry inside the file, skips its local header, and wraps its bytes. */
function storedEntry(source: ByteSource, r: CentralRecord, verify: boolean): ZipEntry {
  const { name, crc } = r;
  const fileSize = source.size;
  if (r.method !== 0) {
    throw new WeightsError(`zip: entry '${name}' uses compression method ${r.method}; PyTorch writes stored entries (method 0) only`);
  }
  if (r.compressed !== r.uncompressed) throw new WeightsError(`zip: stored entry '${name}' has compressed size ${r.compressed} but size ${r.uncompressed}`);
  if (r.localOffset + 30 > fileSize) {
    throw new WeightsError(`zip: local header of '${name}' at byte ${r.localOffset} is past the end of the ${fileSize}-byte file (truncated?)`);
  }
  const local = source.read(r.localOffset, 30);
  const lv = new DataView(local.buffer, local.byteOffset, 30);
  if (lv.getUint32(0, true) !== LOCAL) throw new WeightsError(`zip: local header of '${name}' at byte ${r.localOffset} is missing`);
  const start = r.localOffset + 30 + lv.getUint16(26, true) + lv.getUint16(28, true);
  const length = r.uncompressed;
  if (start + length > fileSize) {
    throw new WeightsError(`zip: entry '${name}' (bytes ${start}..${start + length}) runs past the end of the ${fileSize}-byte file (truncated?)`);
  }
  const check = (data: Uint8Array) => {
    const actual = crc32(data);
    if (actual !== crc) throw new WeightsError(`zip: CRC-32 of '${name}' is ${hex(actual)}, the directory records ${hex(crc)} (file corrupted)`);
  };
  const entry: ZipEntry = {
    name,
    offset: start,
    size: length,
    crc32: crc,
    read() {
      const data = source.read(start, length);
      if (verify && !source.inMemory) check(data);
      return data;
    },
  };
  if (verify && source.inMemory) check(entry.read());
  return entry;
}

function findEndOfCentralDirectory(view: DataView): number {
  // the record is 22 bytes plus a comment of at most 65535 bytes, so it sits in the last 65557
  const stop = Math.max(0, view.byteLength - 65557);
  for (let p = view.byteLength - 22; p >= stop; p--) {
    if (view.getUint32(p, true) === EOCD) return p;
  }
  throw new WeightsError(`zip: no end-of-central-directory record in the last ${Math.min(view.byteLength, 65557)} bytes (file truncated?)`);
}

function readU64(view: DataView, offset: number, what: string): number {
  if (offset + 8 > view.byteLength) throw new WeightsError(`zip: ${what} at byte ${offset} runs past the end of the file (truncated?)`);
  const v = view.getBigUint64(offset, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new WeightsError(`zip: ${what} ${v} is too large`);
  return Number(v);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

let crcTables: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3), slicing by 4 bytes at a time. */
export function crc32(data: Uint8Array): number {
  if (!crcTables) {
    crcTables = new Uint32Array(4 * 256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTables[n] = c >>> 0;
    }
    for (let n = 0; n < 256; n++) {
      for (let t = 1; t < 4; t++) crcTables[t * 256 + n] = (crcTables[(t - 1) * 256 + n] >>> 8) ^ crcTables[crcTables[(t - 1) * 256 + n] & 0xff];
    }
  }
  const T = crcTables;
  let c = 0xffffffff;
  const n = data.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    c ^= data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    c = T[768 + (c & 0xff)] ^ T[512 + ((c >>> 8) & 0xff)] ^ T[256 + ((c >>> 16) & 0xff)] ^ T[c >>> 24];
  }
  for (; i < n; i++) c = T[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
