// What an app can hand the classifier: raw pixels anywhere, and in browsers the DOM's image
// objects and Blobs. DOM globals are only touched behind `typeof X !== 'undefined'` guards, so
// this module loads in Node, where only pixels are accepted.
import { ImageDecodeError } from './errors.js';
import { toPixels, type Pixels, type PixelsInput } from './pixels.js';

/** Anything that can be turned into 8-bit pixels. */
export type ImageInput =
  | PixelsInput
  | ImageData
  | HTMLImageElement
  | HTMLCanvasElement
  | HTMLVideoElement
  | OffscreenCanvas
  | ImageBitmap
  | VideoFrame
  | Blob
  /** browsers: a URL (relative to the page) fetched and decoded like a Blob */
  | URL
  | string;

type Drawable = HTMLImageElement | HTMLCanvasElement | HTMLVideoElement | OffscreenCanvas | ImageBitmap | VideoFrame;

const has = (name: string): boolean => typeof (globalThis as Record<string, unknown>)[name] !== 'undefined';

function isInstance<T>(name: string, v: unknown): v is T {
  return has(name) && v instanceof ((globalThis as Record<string, unknown>)[name] as abstract new (...args: never[]) => T);
}

/** Width and height of a drawable at its natural (decoded) size. */
function naturalSize(source: Drawable): [number, number] {
  if (isInstance<HTMLImageElement>('HTMLImageElement', source)) return [source.naturalWidth, source.naturalHeight];
  if (isInstance<HTMLVideoElement>('HTMLVideoElement', source)) return [source.videoWidth, source.videoHeight];
  if (isInstance<VideoFrame>('VideoFrame', source)) return [source.displayWidth, source.displayHeight];
  return [source.width, source.height];
}

type Context2D = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

function readable(source: Drawable, width: number, height: number): Context2D {
  const settings = { willReadFrequently: true } as const;
  if (has('OffscreenCanvas')) {
    const ctx = new OffscreenCanvas(width, height).getContext('2d', settings) as OffscreenCanvasRenderingContext2D | null;
    if (ctx) return ctx;
  }
  if (has('document')) {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d', settings) as CanvasRenderingContext2D | null;
    if (ctx) return ctx;
  }
  throw new ImageDecodeError(`reading pixels of a ${source.constructor?.name ?? 'image'} needs a 2D canvas, and none is available here`);
}

/** Draws a DOM image source at its natural size and reads back RGBA. */
async function drawablePixels(source: Drawable): Promise<Pixels> {
  if (isInstance<HTMLImageElement>('HTMLImageElement', source) && !(source.complete && source.naturalWidth > 0)) {
    try {
      await source.decode();
    } catch {
      throw new ImageDecodeError(`the <img> at ${source.currentSrc || source.src || '(no src)'} could not be decoded`);
    }
  }
  const [width, height] = naturalSize(source);
  if (!(width > 0 && height > 0)) throw new ImageDecodeError(`${source.constructor?.name ?? 'image'} has no pixels yet (${width}x${height})`);
  // A canvas can be read directly, without a copy through another canvas.
  const own = isInstance<HTMLCanvasElement>('HTMLCanvasElement', source) || isInstance<OffscreenCanvas>('OffscreenCanvas', source) ? source.getContext('2d') : null;
  const ctx = own && 'getImageData' in own ? (own as Context2D) : readable(source, width, height);
  if (ctx !== own) ctx.drawImage(source as CanvasImageSource, 0, 0);
  let image: ImageData;
  try {
    image = ctx.getImageData(0, 0, width, height);
  } catch (e) {
    throw new ImageDecodeError(
      `the pixels of this ${source.constructor?.name ?? 'image'} cannot be read (${(e as Error).message}); an image from another origin needs CORS: crossOrigin = 'anonymous' and an Access-Control-Allow-Origin header`,
    );
  }
  return toPixels({ data: image.data, width, height, channels: 4 });
}

const NODE_HINT = 'in Node use readImage(path) or decodeImage(bytes) from @cnn/vision/node';

async function fetchImage(input: string | URL): Promise<Blob> {
  if (!has('createImageBitmap')) throw new ImageDecodeError(`a URL is fetched and decoded only in browsers; ${NODE_HINT}`);
  const url = new URL(input, has('location') ? location.href : undefined);
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new ImageDecodeError(`fetching the image ${url.href} failed: ${(e as Error).message}`);
  }
  if (!response.ok) throw new ImageDecodeError(`fetching the image ${url.href} failed: HTTP ${response.status} ${response.statusText}`);
  return response.blob();
}

async function blobPixels(blob: Blob): Promise<Pixels> {
  if (!has('createImageBitmap')) throw new ImageDecodeError(`decoding a Blob needs createImageBitmap (a browser); ${NODE_HINT}`);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch (e) {
    throw new ImageDecodeError(`a Blob of type '${blob.type || 'unknown'}' (${blob.size} bytes) could not be decoded: ${(e as Error).message}`);
  }
  try {
    return await drawablePixels(bitmap);
  } finally {
    bitmap.close();
  }
}

/**
 * Turns an image into 8-bit pixels. Browsers decode Blobs with createImageBitmap (no colour-space
 * conversion, so the stored values are read as Pillow reads them); a canvas keeps colours
 * premultiplied by alpha, so fully transparent pixels read back black where Pillow keeps their colour.
 */
export async function imageToPixels(input: ImageInput): Promise<Pixels> {
  if (typeof input === 'string' || input instanceof URL) return blobPixels(await fetchImage(input));
  if (input === null || typeof input !== 'object') throw new ImageDecodeError(`expected an image, got ${input === null ? 'null' : typeof input}`);
  if (isInstance<Blob>('Blob', input)) return blobPixels(input);
  for (const name of ['HTMLImageElement', 'HTMLCanvasElement', 'HTMLVideoElement', 'OffscreenCanvas', 'ImageBitmap', 'VideoFrame']) {
    if (isInstance<Drawable>(name, input)) return drawablePixels(input);
  }
  if ('data' in input && 'width' in input && 'height' in input) return toPixels(input as PixelsInput);
  throw new ImageDecodeError(
    `expected pixels { data, width, height, channels? } or a browser image (HTMLImageElement, canvas, ImageBitmap, ImageData, VideoFrame, Blob, URL), got ${input.constructor?.name ?? 'an object'}`,
  );
}
