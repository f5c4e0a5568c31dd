// @cnn/inception: GoogLeNet (Inception v1) and Inception v3 with torchvision's keys, and the 2014 paper's GoogLeNet.
import type { Model } from '@cnn/core';
import { inception } from './inception.js';
import type { InceptionOptions } from './googlenet.js';
import type { GoogLeNet2014Options } from './googlenet2014.js';

export { inception, inceptionArchitecture, INCEPTION_VARIANTS } from './inception.js';
export type { InceptionConfig, InceptionVariant, InceptionVariantOptions } from './inception.js';
export { googlenetArchitecture, googlenetAux, inceptionModule, GOOGLENET_STAGES, GOOGLENET_TAPS, GOOGLENET_STRIDE_TAPS } from './googlenet.js';
export type { InceptionOptions, InceptionWidths } from './googlenet.js';
export { googlenet2014Architecture, inceptionModule2014, GOOGLENET2014_LRN, GOOGLENET2014_TAPS } from './googlenet2014.js';
export type { GoogLeNet2014Options } from './googlenet2014.js';
export { inceptionV3Architecture, inceptionA, inceptionB, inceptionC, inceptionD, inceptionE, inceptionV3Aux, INCEPTION_V3_TAPS, INCEPTION_V3_STRIDE_TAPS } from './inception-v3.js';
export { basicConv2d, transformInput } from './basic-conv.js';
export type { BasicConvOptions } from './basic-conv.js';

/** GoogLeNet; options: { transformInput (default true), auxLogits (default false), numClasses }. */
export const googlenet = (o?: InceptionOptions): Model => inception('googlenet', o);
/** GoogLeNet as the 2014 paper built it: true 5x5 branches, no batch norm, LRN; options: { numClasses }. */
export const googlenet2014 = (o?: GoogLeNet2014Options): Model => inception('googlenet2014', o);
/** Inception v3 at 299x299; options: { transformInput (default true), auxLogits (default false), numClasses }. */
export const inception_v3 = (o?: InceptionOptions): Model => inception('inception_v3', o);
