// @cnn/vision/node: image files and bytes decoded in Node with pure-JS decoders (fast-png,
// jpeg-js), into the 8-bit pixels Pillow's Image.open gives. Browsers decode natively instead.
import { readFile } from 'node:fs/promises';
import { decode as decodePng, type DecodedPng } from 'fast-png';
import jpeg from 'jpeg-js';
import { ImageDecodeError } from './errors.js';
import type { Pixels } from './pixels.js';

export { ImageDecodeError } from './errors.js';

/** Largest image decoded, in megapixels (a 16-bit RGBA image this size takes 1.6 GB while decoding). */
const MAX_MEGAPIXELS = 200;

/** What the first bytes say the file is. */
export function sniffImageFormat(bytes: Uint8Array): 'png' | 'jpeg' | 'gif' | 'webp' | 'bmp' | 'tiff' | 'unknown' {
  const at = (i: number, ...values: number[]) => values.every((v, k) => bytes[i + k] === v);
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (at(0, 0xff, 0xd8, 0xff)) return 'jpeg';
  if (at(0, 0x47, 0x49, 0x46, 0x38)) return 'gif';
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return 'webp';
  if (at(0, 0x42, 0x4d)) return 'bmp';
  if (at(0, 0x49, 0x49, 0x2a, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2a)) return 'tiff';
  return 'unknown';
}

/** Decodes PNG or JPEG bytes to 8-bit pixels (gray, gray+alpha, RGB or RGBA, as stored). */
export function decodeImage(bytes: Uint8Array, name = 'image'): Pixels {
  if (!(bytes instanceof Uint8Array)) throw new ImageDecodeError(`${name}: expected image bytes as a Uint8Array, got ${typeof bytes}`);
  const format = sniffImageFormat(bytes);
  if (format === 'png') return decodePngPixels(bytes, name);
  if (format === 'jpeg') return decodeJpegPixels(bytes, name);
  const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new ImageDecodeError(
    format === 'unknown'
      ? `${name}: expected a PNG or JPEG file, got ${bytes.length} bytes starting ${head || '(empty)'}`
      : `${name}: expected a PNG or JPEG file, got ${format.toUpperCase()} (decode it in the browser, or convert it to PNG)`,
  );
}

/** Reads and decodes a PNG or JPEG file. */
export async function readImage(path: string): Promise<Pixels> {
  return decodeImage(new Uint8Array(await readFile(path)), path);
}

function checkSize(width: number, height: number, name: string): void {
  if (width < 1 || height < 1) throw new ImageDecodeError(`${name}: image has no pixels (${width}x${height})`);
  if (width * height > MAX_MEGAPIXELS * 1e6) {
    throw new ImageDecodeError(`${name}: ${width}x${height} is larger than the ${MAX_MEGAPIXELS} megapixels this decoder accepts`);
  }
}

function readPngHeader(bytes: Uint8Array, name: string): void {
  // IHDR is the first chunk: width and height at bytes 16..23, checked before fast-png allocates
  if (bytes.length < 33) throw new ImageDecodeError(`${name}: PNG is truncated (${bytes.length} bytes, the header alone takes 33)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  checkSize(view.getUint32(16), view.getUint32(20), name);
}

function decodePngPixels(bytes: Uint8Array, name: string): Pixels {
  readPngHeader(bytes, name);
  let png: DecodedPng;
  try {
    png = decodePng(bytes, { checkCrc: true });
  } catch (e) {
    throw new ImageDecodeError(`${name}: not a readable PNG (${(e as Error).message})`);
  }
  const { width, height, depth } = png;
  const n = width * height;
  if (png.palette && png.channels === 1) {
    // Pillow's convert('RGB') of a 'P' image looks each index up and drops tRNS transparency.
    const indices = unpackSamples(png.data, width, height, 1, depth, false);
    const out = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      const entry = png.palette[indices[i]];
      if (entry) out.set(entry.slice(0, 3), i * 3);
    }
    return { width, height, channels: 3, data: out };
  }
  const channels = png.channels as Pixels['channels'];
  if (depth === 16) {
    const data = png.data as Uint16Array;
    const out = new Uint8Array(n * channels);
    // Pillow opens 16-bit gray as mode 'I' and converting it clips at 255; 16-bit colour and
    // gray+alpha keep the most significant byte.
    if (channels === 1) for (let i = 0; i < n; i++) out[i] = Math.min(data[i], 255);
    else for (let i = 0; i < n * channels; i++) out[i] = data[i] >>> 8;
    return { width, height, channels, data: out };
  }
  if (depth < 8) return { width, height, channels: 1, data: unpackSamples(png.data, width, height, 1, depth, true) };
  const data = png.data instanceof Uint8Array ? png.data : new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length);
  return { width, height, channels, data };
}

/** Unpacks rows of 1, 2 or 4-bit samples; gray levels are scaled to 0..255 as Pillow's L;1/L;2/L;4 unpackers do. */
function unpackSamples(data: ArrayLike<number>, width: number, height: number, channels: number, depth: number, scale: boolean): Uint8Array {
  if (depth === 8) return data instanceof Uint8Array ? data : Uint8Array.from(data);
  const out = new Uint8Array(width * height * channels);
  const rowBytes = Math.ceil((width * channels * depth) / 8);
  const mask = (1 << depth) - 1;
  const factor = scale ? 255 / mask : 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width * channels; x++) {
      const bit = x * depth;
      const byte = data[y * rowBytes + (bit >> 3)];
      out[y * width * channels + x] = ((byte >> (8 - depth - (bit & 7))) & mask) * factor;
    }
  }
  return out;
}

function decodeJpegPixels(bytes: Uint8Array, name: string): Pixels {
  let image: { width: number; height: number; data: Uint8Array };
  try {
    image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: MAX_MEGAPIXELS, maxMemoryUsageInMB: 2048 });
  } catch (e) {
    throw new ImageDecodeError(`${name}: not a readable JPEG (${(e as Error).message ?? String(e)})`);
  }
  checkSize(image.width, image.height, name);
  const channels = image.data.length / (image.width * image.height);
  if (channels !== 3 && channels !== 1) throw new ImageDecodeError(`${name}: JPEG decoded to ${channels} bytes per pixel, expected 1 or 3`);
  return { width: image.width, height: image.height, channels: channels as 1 | 3, data: image.data };
}
