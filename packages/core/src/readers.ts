// The public doors to the synchronous readers (.pth, .safetensors, in-memory byte sources), defined here rather than
// re-exported: the lazy weights chunk (weights-decode.ts) uses the same modules, and esbuild with
// code splitting puts every module that a module in the first load imports, re-exports included,
// into the first load once a lazy chunk also needs it. A module of unused functions is dropped
// whole, with its imports, so an app that never calls these downloads the readers on demand.
import * as byteSource from './byte-source.js';
import * as pth from './pth/index.js';
import * as sniff from './pth/sniff.js';
import * as safetensors from './safetensors.js';

/** Reads a torch.save file (zip or legacy); tensors stay descriptions over the source's bytes. */
export const readPth: typeof pth.readPth = (input, options) => pth.readPth(input, options);
/** A checkpoint tensor's values as float32 (any float or integer storage, any strides). */
export const pthToFloat32: typeof pth.pthToFloat32 = (t) => pth.pthToFloat32(t);
/** What a file's first bytes say it is; `size` is the whole file's length when `bytes` are only its start. */
export const sniffFormat: typeof sniff.sniffFormat = (bytes, size) => sniff.sniffFormat(bytes, size);
/** Parses a .safetensors file, checking its header against every rule of the format. */
export const parseSafetensors: typeof safetensors.parseSafetensors = (input) => safetensors.parseSafetensors(input);
/** Decodes a floating-point entry to float32 (copying, so unaligned offsets are fine). */
export const readFloat32: typeof safetensors.readFloat32 = (file, entry) => safetensors.readFloat32(file, entry);
/** Writes a safetensors file from float32 tensors (used by the CLI and tests). */
export const writeSafetensors: typeof safetensors.writeSafetensors = (tensors, metadata) => safetensors.writeSafetensors(tensors, metadata);
/** A byte source over bytes already in memory. */
export const memorySource: typeof byteSource.memorySource = (...args) => byteSource.memorySource(...args);
