// GoogLeNet (Szegedy et al. 2015, "Going Deeper with Convolutions") as torchvision builds it:
// batch norm after every convolution, and the "5x5" branch uses a 3x3 kernel (torchvision
// issue #906), which the ported weights depend on.
import { ReductionTaps, viewConcatInputs, type Architecture, type GraphBuilder, type ModelMetadata, type Value } from '@cnn/core';
import { basicConv2d, ignoreHead, transformInput } from './basic-conv.js';

export interface InceptionOptions {
  /** classifier outputs; default 1000 (ImageNet) */
  numClasses?: number;
  /**
   * Re-normalise ImageNet-normalised input to the [-1, 1] convention the ported weights were
   * trained with, as torchvision does whenever pretrained weights are requested; default true.
   */
  transformInput?: boolean;
  /**
   * Declare the auxiliary classifiers (used in training) and expose their logits as named
   * outputs; default false, in which case their keys in a weights file are accepted and ignored.
   */
  auxLogits?: boolean;
}

/** One Inception module's widths, as in the paper's Table 1 (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj). */
export type InceptionWidths = readonly [number, number, number, number, number, number];

/** Four parallel branches concatenated along channels. */
export function inceptionModule(b: GraphBuilder, x: Value, name: string, [c1, c3r, c3, c5r, c5, pool]: InceptionWidths): Value {
  const branch1 = basicConv2d(b, x, `${name}.branch1`, c1, { kernelSize: 1 });
  let branch2 = basicConv2d(b, x, `${name}.branch2.0`, c3r, { kernelSize: 1 });
  branch2 = basicConv2d(b, branch2, `${name}.branch2.1`, c3, { kernelSize: 3, padding: 1 });
  let branch3 = basicConv2d(b, x, `${name}.branch3.0`, c5r, { kernelSize: 1 });
  branch3 = basicConv2d(b, branch3, `${name}.branch3.1`, c5, { kernelSize: 3, padding: 1 });
  const pooled = b.maxPool2d(x, { kernelSize: 3, stride: 1, padding: 1, ceilMode: true });
  const branch4 = basicConv2d(b, pooled, `${name}.branch4.1`, pool, { kernelSize: 1 });
  return b.concat([branch1, branch2, branch3, branch4]);
}

/** The auxiliary classifier on inception4a (aux1) and inception4d (aux2); dropout is the identity. */
export function googlenetAux(b: GraphBuilder, x: Value, name: string, numClasses: number): Value {
  let y = b.adaptiveAvgPool2d(x, 4);
  y = b.flatten(basicConv2d(b, y, `${name}.conv`, 128, { kernelSize: 1 }));
  y = b.relu(b.linear(y, `${name}.fc1`, 1024));
  return b.linear(b.dropout(y), `${name}.fc2`, numClasses);
}

/** Module widths per stage; a ceil-mode max pool (3/2, then 2/2 before stage 5) separates stages. */
export const GOOGLENET_STAGES: readonly (readonly [string, InceptionWidths])[][] = [
  [
    ['inception3a', [64, 96, 128, 16, 32, 32]],
    ['inception3b', [128, 128, 192, 32, 96, 64]],
  ],
  [
    ['inception4a', [192, 96, 208, 16, 48, 64]],
    ['inception4b', [160, 112, 224, 24, 64, 64]],
    ['inception4c', [128, 128, 256, 24, 64, 64]],
    ['inception4d', [112, 144, 288, 32, 64, 64]],
    ['inception4e', [256, 160, 320, 32, 128, 128]],
  ],
  [
    ['inception5a', [256, 160, 320, 32, 128, 128]],
    ['inception5b', [384, 192, 384, 48, 128, 128]],
  ],
];

/** Feature taps: the stem (stride 4) and the last module of each stage (strides 8, 16, 32). */
export const GOOGLENET_TAPS = ['conv3', 'inception3b', 'inception4e', 'inception5b'] as const;
/** Taps by reduction: conv1 (2), conv3 (4), inception3b (8), inception4e (16), inception5b (32). */
export const GOOGLENET_STRIDE_TAPS = ['stride2', 'stride4', 'stride8', 'stride16', 'stride32'] as const;

/** Where the auxiliary classifiers branch off, and their input channels. */
const AUX_HEADS = { inception4a: ['aux1', 512], inception4d: ['aux2', 528] } as const;

export function googlenetArchitecture(name: string, options: InceptionOptions, metadata: ModelMetadata): Architecture {
  const numClasses = options.numClasses ?? 1000;
  const auxLogits = options.auxLogits ?? false;
  return {
    name,
    inputShape: [3, 224, 224],
    metadata,
    // concatenated branch outputs become channel views of one buffer, not copies
    planPasses: [viewConcatInputs],
    define(b, input) {
      const taps = new ReductionTaps(b);
      let x = (options.transformInput ?? true) ? transformInput(b, input) : input;
      x = taps.layer('conv1', basicConv2d(b, x, 'conv1', 64, { kernelSize: 7, stride: 2, padding: 3 }), 2);
      x = taps.layer('maxpool1', b.maxPool2d(x, { kernelSize: 3, stride: 2, ceilMode: true }), 2);
      x = basicConv2d(b, x, 'conv2', 64, { kernelSize: 1 });
      x = taps.module('conv3', basicConv2d(b, x, 'conv3', 192, { kernelSize: 3, padding: 1 }));
      x = taps.layer('maxpool2', b.maxPool2d(x, { kernelSize: 3, stride: 2, ceilMode: true }), 2);
      GOOGLENET_STAGES.forEach((stage, i) => {
        if (i === 1) x = taps.layer('maxpool3', b.maxPool2d(x, { kernelSize: 3, stride: 2, ceilMode: true }), 2);
        if (i === 2) x = taps.layer('maxpool4', b.maxPool2d(x, { kernelSize: 2, stride: 2, ceilMode: true }), 2);
        for (const [name, widths] of stage) {
          x = inceptionModule(b, x, name, widths);
          if (name in AUX_HEADS) {
            const [head, channels] = AUX_HEADS[name as keyof typeof AUX_HEADS];
            if (auxLogits) b.output(head, googlenetAux(b, x, head, numClasses));
            else ignoreHead(b, [channels, 4, 4], (s, v) => googlenetAux(s, v, head, numClasses));
          }
        }
        taps.module(stage[stage.length - 1][0], x);
      });
      taps.declare();
      x = b.dropout(b.flatten(b.adaptiveAvgPool2d(x, 1)));
      b.output('logits', b.linear(x, 'fc', numClasses));
    },
  };
}
