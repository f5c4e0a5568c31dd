// Node-only helpers (files, the download cache directory). Nothing outside this folder imports
// node: modules; core reaches this file through one dynamic import in ../source.ts, so browser
// bundles never see it.
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash, randomBytes } from 'node:crypto';
import { WeightsError } from '../errors.js';
import type { ByteSource } from '../byte-source.js';

/** Reads a whole file into one buffer of its exact size. */
export async function readFileBytes(pathOrUrl: string | URL): Promise<Uint8Array> {
  const path = pathOrUrl instanceof URL ? fileURLToPath(pathOrUrl) : pathOrUrl;
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const bytes = new Uint8Array(size);
      let done = 0;
      while (done < size) {
        const { bytesRead } = await handle.read(bytes, done, size - done, done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done === size ? bytes : bytes.subarray(0, done);
    } finally {
      await handle.close();
    }
  } catch (e) {
    throw new WeightsError(`cannot read weights file '${path}': ${(e as Error).message}`, { code: 'io', cause: e });
  }
}

/** ~/.cache/cnn unless the option or CNN_CACHE_DIR says otherwise. */
export function cacheDirectory(option?: string): string {
  return option ?? process.env.CNN_CACHE_DIR ?? join(homedir(), '.cache', 'cnn');
}

/** Cache file for a URL: a hash of the URL (so different hosts never collide) and its file name. */
export function cachePath(dir: string, url: string): string {
  const base = (new URL(url).pathname.split('/').pop() || 'weights').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
  return join(dir, `${createHash('sha256').update(url).digest('hex').slice(0, 16)}-${base}`);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export async function cacheGet(dir: string, url: string): Promise<Uint8Array | undefined> {
  const path = cachePath(dir, url);
  try {
    await stat(path);
  } catch {
    return undefined;
  }
  return readFileBytes(path);
}

/** Writes to a temporary name and renames, so a failure never leaves a partial cache entry. */
export async function cachePut(dir: string, url: string, bytes: Uint8Array): Promise<string> {
  const path = cachePath(dir, url);
  const temp = `${path}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await mkdir(dir, { recursive: true });
    const handle = await open(temp, 'w');
    try {
      let done = 0;
      while (done < bytes.length) done += (await handle.write(bytes, done, bytes.length - done)).bytesWritten;
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    return path;
  } catch (e) {
    await rm(temp, { force: true });
    throw new WeightsError(`cannot write the weights cache '${path}': ${(e as Error).message}`);
  }
}

/**
 * A file read piece by piece: each read opens, reads and closes, so nothing stays open and only
 * the pieces asked for are ever in memory.
 */
export function fileSource(path: string): ByteSource {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new WeightsError(`cannot read weights file '${path}': ${(e as Error).message}`, { code: 'io', cause: e });
  }
  const source: ByteSource = {
    name: path,
    size,
    inMemory: false,
    read(offset, length) {
      const out = new Uint8Array(length);
      source.readInto!(offset, out);
      return out;
    },
    readInto(offset, out) {
      const length = out.length;
      let fd: number | undefined;
      try {
        fd = openSync(path, 'r');
        let done = 0;
        while (done < length) {
          const n = readSync(fd, out, done, length - done, offset + done);
          if (n === 0) throw new Error(`file ends at byte ${offset + done}, expected ${length} bytes from ${offset} (changed since it was opened?)`);
          done += n;
        }
      } catch (e) {
        throw new WeightsError(`cannot read weights file '${path}': ${(e as Error).message}`, { code: 'io', cause: e });
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    },
  };
  return source;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export { fileURLToPath };

/** In Node every weights format is built in: the torch.save reader comes with this folder. */
export { pthReader } from '../pth-reader.js';
