// @cnn/vision: images in, labels out. Browser-safe; Node file decoding is in @cnn/vision/node.
export { createClassifier, ImageClassifier, topClasses, withEmbeddingOutput, EMBEDDING_OUTPUT } from './classifier.js';
export type { Classification, ClassifierOptions, ClassifyOptions } from './classifier.js';
export { imageToPixels } from './image-input.js';
export type { ImageInput } from './image-input.js';
export { toPixels, toRgb, toGray } from './pixels.js';
export type { Pixels, PixelsInput } from './pixels.js';
export { resizePixels } from './resample.js';
export type { Interpolation } from './resample.js';
export { preprocessBatch, resizeAndCrop, centerCrop, shorterSideSize, normalizeInto, presetFor } from './preprocess.js';
export { ImageDecodeError } from './errors.js';
