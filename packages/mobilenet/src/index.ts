// @cnn/mobilenet: MobileNet v1 (paper), v2 and v3 small/large (torchvision keys).
export { MOBILENET_VARIANTS, mobilenet, mobilenetArchitecture, mobilenet_v1, mobilenet_v2, mobilenet_v3_large, mobilenet_v3_small } from './mobilenet.js';
export type { MobileNetConfig, MobileNetOptions, MobileNetVariant } from './mobilenet.js';
export { MOBILENET_TAPS, convNormActivation, makeDivisible, squeezeExcitation } from './conv-norm.js';
export type { ConvNormOptions, SqueezeExcitationOptions } from './conv-norm.js';
export { MOBILENET_V1_LAYERS, MOBILENET_V1_PAPER, depthwiseSeparable, mobilenetV1Architecture, mobilenetV1Channels } from './mobilenet-v1.js';
export type { MobileNetV1Options } from './mobilenet-v1.js';
export { MOBILENET_V2_SETTING, invertedResidualV2, mobilenetV2Architecture } from './mobilenet-v2.js';
export type { MobileNetV2Options } from './mobilenet-v2.js';
export { MOBILENET_V3_LARGE, MOBILENET_V3_SMALL, invertedResidualV3, mobilenetV3Architecture } from './mobilenet-v3.js';
export type { BneckConfig, MobileNetV3ArchitectureConfig, MobileNetV3Config, MobileNetV3Options } from './mobilenet-v3.js';
