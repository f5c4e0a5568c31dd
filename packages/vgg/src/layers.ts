// The convolutional stack of Simonyan and Zisserman (2015), read from a configuration table the way
// torchvision's make_layers reads it: 3x3 convolutions (padding 1), each followed by ReLU (and batch
// norm first in the _bn variants), and 2x2 max pooling wherever the table says 'M'.
import { ReductionTaps, type GraphBuilder, type Value } from '@cnn/core';

export type VggLayer = number | 'M';

/** The paper's configurations by column letter (Table 1): A = VGG-11, B = 13, D = 16, E = 19. */
export const VGG_CONFIGS = {
  A: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  B: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  D: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  E: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
} as const satisfies Record<string, readonly VggLayer[]>;

export type VggConfigName = keyof typeof VGG_CONFIGS;

/**
 * Tap names in the paper's convention, in execution order: `convS_I` is the I-th convolution of
 * stage S after its ReLU, `poolS` the max pool closing stage S.
 */
export function vggTapNames(layers: readonly VggLayer[]): string[] {
  const names: string[] = [];
  let stage = 1;
  let conv = 0;
  for (const v of layers) {
    if (v === 'M') {
      names.push(`pool${stage}`);
      stage++;
      conv = 0;
    } else {
      names.push(`conv${stage}_${++conv}`);
    }
  }
  return names;
}

/**
 * torchvision's `features` Sequential: module indices count every layer (conv, [bn,] ReLU, pool),
 * so parameter keys are `features.N.weight` exactly as in its state_dict. Every layer is a tap
 * under its paper name; `stride2` ... `stride32` alias the last one at each reduction
 * (conv2_2 ... conv5_3 for VGG-16, and pool5).
 */
export function makeLayers(b: GraphBuilder, x: Value, layers: readonly VggLayer[], batchNorm: boolean): Value {
  const names = vggTapNames(layers);
  const taps = new ReductionTaps(b);
  let index = 0;
  layers.forEach((v, i) => {
    if (v === 'M') {
      x = b.maxPool2d(x, { kernelSize: 2, stride: 2 });
      index += 1;
    } else {
      x = b.conv2d(x, `features.${index}`, { outChannels: v, kernelSize: 3, padding: 1 });
      if (batchNorm) x = b.batchNorm2d(x, `features.${index + 1}`);
      x = b.relu(x);
      index += batchNorm ? 3 : 2;
    }
    taps.module(names[i], x, v === 'M' ? 2 : 1);
  });
  taps.declare();
  return x;
}
