// Error types for images that cannot be read.

/** Raised when image bytes or an image object cannot be turned into pixels. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
}
