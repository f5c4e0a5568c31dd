// What `#core/node` resolves to outside Node (package.json "imports", any condition but
// "node"): the same exports as ./index.ts, each throwing a WeightsError that says why.
// Core calls them only when it detects Node, so a browser bundle carries these lines instead
// of node:fs. twins.test.ts keeps the two export lists equal.
import { WeightsError } from '../errors.js';

function nodeOnly(what: string): WeightsError {
  return new WeightsError(
    `${what} needs Node, but this build of @cnn/core is the browser one (the bundler did not set ` +
      `the "node" export condition); in a browser, pass the weights as a URL or bytes.`,
  );
}

export async function readFileBytes(pathOrUrl: string | URL): Promise<Uint8Array> {
  throw nodeOnly(`reading the file '${String(pathOrUrl)}'`);
}
