// What `#core/node` resolves to outside Node (package.json "imports", any condition but
// "node"): the same exports as ./index.ts, each throwing a WeightsError that says why.
// Core calls them only when it detects Node, so a browser bundle carries these lines instead
// of node:fs. twins.test.ts keeps the two export lists equal.
import { WeightsError } from '../errors.js';
import type { ByteSource } from '../byte-source.js';
import type { WeightsReader } from '../weights.js';

function nodeOnly(what: string): WeightsError {
  return new WeightsError(
    `${what} needs Node, but this build of @cnn/core is the browser one (the bundler did not set ` +
      `the "node" export condition); in a browser, pass the weights as a URL or bytes.`,
  );
}

export async function readFileBytes(pathOrUrl: string | URL): Promise<Uint8Array> {
  throw nodeOnly(`reading the file '${String(pathOrUrl)}'`);
}

export function cacheDirectory(_option?: string): string {
  throw nodeOnly('a cache directory');
}

export function cachePath(_dir: string, _url: string): string {
  throw nodeOnly('a cache directory');
}

export async function exists(path: string): Promise<boolean> {
  throw nodeOnly(`looking for the file '${path}'`);
}

export async function cacheGet(_dir: string, url: string): Promise<Uint8Array | undefined> {
  throw nodeOnly(`the file cache of ${url}`);
}

export async function cachePut(_dir: string, url: string, _bytes: Uint8Array): Promise<string> {
  throw nodeOnly(`the file cache of ${url}`);
}

export function fileSource(path: string): ByteSource {
  throw nodeOnly(`reading the file '${path}'`);
}

export async function sha256File(path: string): Promise<string> {
  throw nodeOnly(`hashing the file '${path}'`);
}

export function fileURLToPath(url: string | URL): string {
  throw nodeOnly(`the file URL ${String(url)}`);
}

/** Outside Node the torch.save reader is opt-in ('@cnn/core/pth'): loadWeights then names it. */
export const pthReader: WeightsReader | undefined = undefined;
