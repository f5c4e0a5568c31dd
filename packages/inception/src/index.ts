// @cnn/inception: GoogLeNet (Inception v1) and Inception v3 with torchvision's keys.
import type { Model } from '@cnn/core';
import { inception } from './inception.js';
import type { InceptionOptions } from './googlenet.js';

export { inception, INCEPTION_VARIANTS } from './inception.js';
export type { InceptionVariant } from './inception.js';
export { googlenetArchitecture, googlenetAux, inceptionModule, GOOGLENET_STAGES, GOOGLENET_TAPS } from './googlenet.js';
export type { InceptionOptions, InceptionWidths } from './googlenet.js';
export { inceptionV3Architecture, inceptionA, inceptionB, inceptionC, inceptionD, inceptionE, inceptionV3Aux, INCEPTION_V3_TAPS } from './inception-v3.js';
export { basicConv2d, transformInput } from './basic-conv.js';
export type { BasicConvOptions } from './basic-conv.js';

/** GoogLeNet; options: { transformInput (default true), auxLogits (default false), numClasses }. */
export const googlenet = (o?: InceptionOptions): Model => inception('googlenet', o);
/** Inception v3 at 299x299; options: { transformInput (default true), auxLogits (default false), numClasses }. */
export const inception_v3 = (o?: InceptionOptions): Model => inception('inception_v3', o);
