// LeNet-5 as LeCun, Bottou, Bengio and Haffner describe it in "Gradient-Based Learning Applied
// to Document Recognition" (1998): 32x32 grayscale in, C1-S2-C3-S4-C5-F6 with tanh, 10 outputs.
//
// Differences from the paper, stated plainly: C3 is fully connected to S2's six maps (the paper
// wires each C3 map to a subset), S2/S4 are plain 2x2 average pooling (the paper adds a
// trainable coefficient and bias), and the output layer is linear instead of Euclidean RBF units.
import { ReductionTaps, modelFamily, type Architecture, type Model, type ModelMetadata } from '@cnn/core';

export interface LeNetConfig {
  /** outputs; default 10 */
  numClasses?: number;
}
export type LeNetOptions = LeNetConfig;

/** Taps by reduction: stride2 = c3 (after tanh; S2 pooled by 2), stride4 = c5 (after tanh; 1x1 at 32x32). */
export const LENET_STRIDE_TAPS = ['stride2', 'stride4'] as const;

export function lenetArchitecture(name: string, config: LeNetConfig, metadata: ModelMetadata): Architecture {
  return {
    name,
    inputShape: [1, 32, 32],
    metadata,
    define(b, input) {
      const taps = new ReductionTaps(b);
      const c1 = taps.module('c1', b.tanh(b.conv2d(input, 'c1', { outChannels: 6, kernelSize: 5 })));
      const s2 = taps.module('s2', b.avgPool2d(c1, { kernelSize: 2 }), 2);
      const c3 = taps.layer('c3', b.tanh(b.conv2d(s2, 'c3', { outChannels: 16, kernelSize: 5 })));
      const s4 = taps.layer('s4', b.avgPool2d(c3, { kernelSize: 2 }), 2);
      const c5 = taps.module('c5', b.tanh(b.conv2d(s4, 'c5', { outChannels: 120, kernelSize: 5 })));
      taps.declare();
      const f6 = b.tanh(b.linear(b.flatten(c5), 'f6', 84));
      b.output('logits', b.linear(f6, 'output', config.numClasses ?? 10));
    },
  };
}

/** The variant table (one network): the paper's LeNet-5. */
export const LENET_VARIANTS = {
  lenet5: {
    config: {},
    metadata: {
      parameters: 61_706,
      paper: 'LeCun et al., Gradient-Based Learning Applied to Document Recognition, Proc. IEEE 1998',
    },
  },
} as const satisfies Record<string, { config: LeNetConfig; metadata: ModelMetadata }>;
export type LeNetVariant = keyof typeof LENET_VARIANTS;

/** LeNet-5's architecture, as @cnn/train builds trainable networks from it. */
export const lenet5Architecture: Architecture = lenetArchitecture('lenet5', {}, LENET_VARIANTS.lenet5.metadata);

/** The family builder (architecture only; load or generate weights before compiling). */
export const lenet: (variant: LeNetVariant, options?: LeNetOptions) => Model = modelFamily('LeNet', LENET_VARIANTS, lenetArchitecture);

/** LeNet-5 (architecture only; load or generate weights before compiling). */
export const lenet5 = (options?: LeNetOptions): Model => lenet('lenet5', options);
