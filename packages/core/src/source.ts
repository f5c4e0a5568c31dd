// Where weight bytes come from: a URL (streamed into one buffer, with progress, abort, integrity
// check and a cache), a file path in Node, or a URL relative to the page in browsers.
import { WeightsError } from './errors.js';
import { memorySource, type ByteSource } from './byte-source.js';

export interface FetchProgress {
  /** bytes received so far */
  readonly received: number;
  /** the Content-Length, when the server sent one */
  readonly total: number | undefined;
  readonly url: string;
}

export interface ReadSourceOptions {
  /** called as bytes arrive (and once when a cached copy is used) */
  onProgress?: (progress: FetchProgress) => void;
  /** cancels the download; nothing is written to the cache */
  signal?: AbortSignal;
  /** expected SHA-256 as hex, whole or a prefix (torchvision's file names carry 8-10 digits) */
  sha256?: string;
  /**
   * cache downloads: true (default) uses Cache Storage in browsers and a directory in Node
   * (CNN_CACHE_DIR, else ~/.cache/cnn); a string is that directory (Node) or cache name (browser); false never caches
   */
  cache?: boolean | string;
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** The one door to Node-only code: a dynamic import that browser bundles never follow. */
export async function nodeHelpers(): Promise<typeof import('./node/index.js') | undefined> {
  return isNode ? import('#core/node') : undefined;
}

const toUrl = (source: URL | string) => resolveWeightsUrl(source, isNode, (globalThis as { location?: { href: string } }).location?.href);

/**
 * Resolves a string the way the platform means it: an absolute URL as it is; otherwise in Node a
 * file path (undefined), in a browser a URL relative to the page (`base`).
 */
export function resolveWeightsUrl(source: URL | string, node: boolean, base: string | undefined): URL | undefined {
  if (source instanceof URL) return source;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return new URL(source);
  if (node) return undefined;
  if (base === undefined) throw new WeightsError(`'${source}' is neither an absolute URL nor resolvable: no page location to resolve it against`);
  return new URL(source, base);
}

/**
 * Opens weights for random access. In Node a file path, or a URL once downloaded into the cache,
 * is read piece by piece from disk, so the whole file is never held; otherwise the bytes are in memory.
 */
export async function openSource(source: URL | string, options: ReadSourceOptions = {}): Promise<ByteSource> {
  const url = toUrl(source);
  const node = await nodeHelpers();
  if (node && (url === undefined || url.protocol === 'file:')) {
    const path = url ? node.fileURLToPath(url) : (source as string);
    if (options.sha256) await checkHex(await hashFile(node, path), options.sha256, path);
    return node.fileSource(path);
  }
  const cache = options.cache ?? true;
  if (node && url && cache !== false) {
    const dir = node.cacheDirectory(cache === true ? undefined : cache);
    const path = node.cachePath(dir, url.href);
    if (await node.exists(path)) {
      if (options.sha256) await checkHex(await hashFile(node, path), options.sha256, `${url.href} (cached copy ${path})`);
      options.onProgress?.({ received: node.fileSource(path).size, total: node.fileSource(path).size, url: url.href });
      return node.fileSource(path);
    }
    // download, verify, write to the cache, then let the downloaded bytes go and read the file
    await readSource(url, options);
    return node.fileSource(path);
  }
  const bytes = await readSource(source, options);
  return memorySource(bytes, url?.href ?? String(source));
}

async function hashFile(node: NonNullable<Awaited<ReturnType<typeof nodeHelpers>>>, path: string): Promise<string> {
  try {
    return await node.sha256File(path);
  } catch (e) {
    throw new WeightsError(`cannot read weights file '${path}': ${(e as Error).message}`, { code: 'io', cause: e });
  }
}

export async function readSource(source: URL | string, options: ReadSourceOptions = {}): Promise<Uint8Array> {
  const url = toUrl(source);
  if (url === undefined || url.protocol === 'file:') {
    const node = await nodeHelpers();
    if (!node) throw new WeightsError(`cannot read '${String(source)}': file paths need Node`);
    const bytes = await node.readFileBytes(url ?? (source as string));
    if (options.sha256) await checkSha256(bytes, options.sha256, url?.href ?? String(source));
    return bytes;
  }
  const href = url.href;
  const cache = options.cache ?? true;
  const cached = cache === false ? undefined : await cacheGet(href, cache);
  if (cached) {
    if (options.sha256) await checkSha256(cached, options.sha256, `${href} (cached copy)`);
    options.onProgress?.({ received: cached.length, total: cached.length, url: href });
    return cached;
  }
  const bytes = await download(href, options);
  if (options.sha256) await checkSha256(bytes, options.sha256, href);
  if (cache !== false) await cachePut(href, cache, bytes);
  return bytes;
}

async function download(href: string, options: ReadSourceOptions): Promise<Uint8Array> {
  const response = await openResponse(href, options);
  // Content-Length counts encoded bytes; with a Content-Encoding it is only a hint
  const lengthHeader = response.headers.get('content-length');
  const declared = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
  const exact = declared !== undefined && !response.headers.get('content-encoding') ? declared : undefined;
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const sink = new DownloadBuffer(exact ?? Math.max(declared ?? 0, 1 << 20));
  const progress = () => options.onProgress?.({ received: sink.received, total: declared, url: href });
  const byob = byobReader(response.body);
  try {
    if (byob) await readIntoBuffer(byob, sink, exact, progress);
    else await readChunks(response.body.getReader(), sink, progress);
  } catch (e) {
    const reason = (e as Error).name === 'AbortError' ? 'aborted' : (e as Error).message;
    throw new WeightsError(`fetching weights from ${href} failed after ${sink.received} bytes: ${reason}`, { code: 'io', cause: e });
  }
  if (exact !== undefined && sink.received !== exact) {
    throw new WeightsError(`fetching weights from ${href}: received ${sink.received} bytes, Content-Length said ${exact}`, { code: 'io' });
  }
  return sink.result();
}

/** fetch, with its failures (network, abort, HTTP status) as WeightsError naming the URL and the reason. */
async function openResponse(href: string, options: ReadSourceOptions): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(href, { signal: options.signal });
  } catch (e) {
    // fetch's own message ('fetch failed') names neither the URL nor the reason: its cause does
    const reason = (e as Error).name === 'AbortError' ? 'aborted' : (((e as Error).cause as Error | undefined)?.message ?? (e as Error).message);
    throw new WeightsError(`fetching weights from ${href} failed: ${reason}`, { code: 'io', cause: e });
  }
  if (!response.ok) throw new WeightsError(`fetching weights from ${href} failed: HTTP ${response.status} ${response.statusText}`, { code: 'io' });
  return response;
}

function byobReader(body: ReadableStream<Uint8Array>): ReadableStreamBYOBReader | undefined {
  try {
    return body.getReader({ mode: 'byob' });
  } catch {
    return undefined; // not a byte stream: read chunks and copy them
  }
}

/** The bytes received so far, in a buffer sized by Content-Length and grown when that was wrong or absent. */
class DownloadBuffer {
  buffer: Uint8Array<ArrayBuffer>;
  received = 0;
  constructor(size: number) {
    this.buffer = new Uint8Array(size);
  }
  grow(extra: number): void {
    // the server sent more than announced, or announced nothing: grow geometrically
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.received + extra));
    grown.set(this.buffer.subarray(0, this.received));
    this.buffer = grown;
  }
  /** gives back slack from growing, but avoids a copy when the buffer is nearly full */
  result(): Uint8Array {
    const { buffer, received } = this;
    return received === buffer.length ? buffer : received > buffer.length * 0.875 ? buffer.subarray(0, received) : buffer.slice(0, received);
  }
}

/**
 * The stream writes straight into our buffer (each read hands its memory back), so no chunk is
 * allocated and dropped along the way. With an exact length, only the end of the stream may
 * follow the announced bytes.
 */
async function readIntoBuffer(byob: ReadableStreamBYOBReader, sink: DownloadBuffer, exact: number | undefined, progress: () => void): Promise<void> {
  for (;;) {
    if (sink.received === sink.buffer.length) {
      if (exact !== undefined) {
        const end = await byob.read(new Uint8Array(1));
        if (!end.done) throw new Error(`the server sent more than its Content-Length of ${exact} bytes`);
        return;
      }
      sink.grow(1 << 20);
    }
    const { done, value } = await byob.read(new Uint8Array(sink.buffer.buffer, sink.received, Math.min(sink.buffer.length - sink.received, 1 << 22)));
    if (value) sink.buffer = new Uint8Array(value.buffer);
    if (done) return;
    sink.received += value!.length;
    progress();
  }
}

async function readChunks(reader: ReadableStreamDefaultReader<Uint8Array>, sink: DownloadBuffer, progress: () => void): Promise<void> {
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    if (sink.received + value.length > sink.buffer.length) sink.grow(value.length);
    sink.buffer.set(value, sink.received);
    sink.received += value.length;
    progress();
  }
}

async function checkSha256(bytes: Uint8Array, expected: string, where: string): Promise<void> {
  if (!/^[0-9a-f]{1,64}$/i.test(expected)) throw new WeightsError(`sha256 must be hex digits, got '${expected}'`);
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new WeightsError(`cannot check the SHA-256 of ${where}: WebCrypto (crypto.subtle) is unavailable (insecure context?)`);
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  await checkHex(Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''), expected, where);
}

async function checkHex(hex: string, expected: string, where: string): Promise<void> {
  if (!/^[0-9a-f]{1,64}$/i.test(expected)) throw new WeightsError(`sha256 must be hex digits, got '${expected}'`);
  if (!hex.startsWith(expected.toLowerCase())) {
    throw new WeightsError(`SHA-256 of ${where} is ${hex}, expected it to start with ${expected.toLowerCase()} (corrupted or different file)`);
  }
}

const BROWSER_CACHE = 'cnn-weights';

async function cacheGet(href: string, cache: true | string): Promise<Uint8Array | undefined> {
  const node = await nodeHelpers();
  if (node) return node.cacheGet(node.cacheDirectory(cache === true ? undefined : cache), href);
  const storage = (globalThis as { caches?: CacheStorage }).caches;
  if (!storage) return undefined;
  const hit = await (await storage.open(cache === true ? BROWSER_CACHE : cache)).match(href);
  return hit ? new Uint8Array(await hit.arrayBuffer()) : undefined;
}

async function cachePut(href: string, cache: true | string, bytes: Uint8Array): Promise<void> {
  const node = await nodeHelpers();
  if (node) {
    await node.cachePut(node.cacheDirectory(cache === true ? undefined : cache), href, bytes);
    return;
  }
  const storage = (globalThis as { caches?: CacheStorage }).caches;
  if (!storage) return;
  // Cache Storage commits a put only once the whole body is stored
  await (await storage.open(cache === true ? BROWSER_CACHE : cache)).put(href, new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-length': String(bytes.length) } }));
}
