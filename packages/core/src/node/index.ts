// Node-only helpers (reading files). Nothing outside this folder imports node: modules; core
// reaches this file only through `import('#core/node')`, which package.json "imports" maps to
// it under the "node" condition and to ./browser.ts everywhere else, so browser bundles never
// see it.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { WeightsError } from '../errors.js';

/** Reads a whole file (a path or a file: URL). */
export async function readFileBytes(pathOrUrl: string | URL): Promise<Uint8Array> {
  const path = pathOrUrl instanceof URL ? fileURLToPath(pathOrUrl) : pathOrUrl;
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new WeightsError(`cannot read weights file '${path}': ${(e as Error).message}`, { code: 'io', cause: e });
  }
}
