// Pieces every MobileNet shares. Conv2dNormActivation, _make_divisible and SqueezeExcitation live
// in @cnn/core (EfficientNet uses them too); the stride taps are core's ReductionTaps.
export { convNormActivation, makeDivisible, squeezeExcitation } from '@cnn/core';
export type { ConvNormOptions, SqueezeExcitationOptions } from '@cnn/core';

/**
 * Tap names of every MobileNet: the last feature layer at each output stride (core's
 * ReductionTaps); each also answers to its module name, `features.N` (see featureInfo).
 */
export const MOBILENET_TAPS = ['stride2', 'stride4', 'stride8', 'stride16', 'stride32'] as const;
