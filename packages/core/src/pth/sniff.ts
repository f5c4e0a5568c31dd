// Recognises weight-file formats from their first bytes, so a file given to the wrong reader is
// named ("this looks like a PyTorch zip checkpoint") instead of misread.
import { WeightsError } from '../errors.js';

export type SniffedFormat =
  | 'pytorch-zip'
  | 'pytorch-legacy'
  | 'pickle'
  | 'safetensors'
  | 'npy'
  | 'gzip'
  | 'tar'
  | 'zip'
  | 'hdf5'
  | 'html'
  | 'json'
  | 'unknown';

export const FORMAT_NAMES: Record<SniffedFormat, string> = {
  'pytorch-zip': 'a PyTorch checkpoint (zip, torch >= 1.6)',
  'pytorch-legacy': 'a PyTorch checkpoint (legacy pickle stream)',
  pickle: 'a Python pickle',
  safetensors: 'a .safetensors file',
  npy: 'a NumPy .npy array',
  gzip: 'a gzip stream',
  tar: 'a tar archive (PyTorch < 0.4 checkpoints are tar files)',
  zip: 'a zip archive',
  hdf5: 'an HDF5 file (Keras .h5?)',
  html: 'an HTML page (a download that returned an error page?)',
  json: 'a JSON document',
  unknown: 'an unknown format',
};

/** The legacy torch.save magic number, as pickle protocol 2 writes it (LONG1 of 10 bytes). */
const LEGACY_PREFIX = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/** `size` is the whole file's length when `bytes` are only its start. */
export function sniffFormat(bytes: Uint8Array, size = bytes.length): SniffedFormat {
  const starts = (sig: readonly number[], at = 0) => bytes.length >= at + sig.length && sig.every((b, i) => bytes[at + i] === b);
  if (starts([0x50, 0x4b, 0x03, 0x04]) || starts([0x50, 0x4b, 0x05, 0x06])) {
    // torch's archives always hold <name>/data.pkl; the name sits in the first local header
    const probe = new TextDecoder('latin1').decode(bytes.subarray(0, Math.min(bytes.length, 4096)));
    return probe.includes('data.pkl') ? 'pytorch-zip' : 'zip';
  }
  if (starts(LEGACY_PREFIX)) return 'pytorch-legacy';
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5) return 'pickle';
  if (starts([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59])) return 'npy';
  if (starts([0x1f, 0x8b])) return 'gzip';
  if (starts([0x75, 0x73, 0x74, 0x61, 0x72], 257)) return 'tar';
  if (starts([0x89, 0x48, 0x44, 0x46])) return 'hdf5';
  if (bytes.length >= 9) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headerLength = view.getBigUint64(0, true);
    if (headerLength <= BigInt(size - 8) && bytes[8] === 0x7b) return 'safetensors';
  }
  let i = 0;
  while (i < bytes.length && i < 64 && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09 || bytes[i] === 0xef || bytes[i] === 0xbb || bytes[i] === 0xbf)) i++;
  if (bytes[i] === 0x3c) return 'html';
  if (bytes[i] === 0x7b || bytes[i] === 0x5b) return 'json';
  return 'unknown';
}

/** Formats whose magic bytes cannot start a safetensors file (its first 8 bytes are a small length). */
const DISTINCT: ReadonlySet<SniffedFormat> = new Set(['pytorch-zip', 'pytorch-legacy', 'pickle', 'npy', 'gzip', 'tar', 'zip', 'hdf5']);

/** Throws when `bytes` are clearly another format than .safetensors, naming it. */
export function refuseOtherFormat(bytes: Uint8Array): void {
  const format = sniffFormat(bytes);
  if (DISTINCT.has(format)) {
    const hint = format.startsWith('pytorch') ? ' (loadWeights and decodeWeights read it directly; `cnn convert` turns it into .safetensors)' : '';
    throw new WeightsError(`expected a .safetensors file, got what looks like ${FORMAT_NAMES[format]}${hint}`);
  }
}
