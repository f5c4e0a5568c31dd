// GoogLeNet as Szegedy et al. (2014, "Going Deeper with Convolutions", Table 1 and the released
// Caffe definition) built it, where torchvision departs from it: the 5x5 branch is a true 5x5
// convolution, convolutions carry biases and no batch norm, and local response normalisation
// follows the first pool and the third convolution. No published weights; for study and parity.
import { ReductionTaps, viewConcatInputs, type Architecture, type GraphBuilder, type ModelMetadata, type Value } from '@cnn/core';
import { GOOGLENET_STAGES, type InceptionWidths } from './googlenet.js';

/** LRN as in the released network: 5 channels, alpha 1e-4 (divided by the size, as torch and Caffe do), beta 0.75, k 1. */
export const GOOGLENET2014_LRN = { size: 5, alpha: 1e-4, beta: 0.75, k: 1 } as const;

export interface GoogLeNet2014Options {
  /** classifier outputs; default 1000 (ImageNet) */
  numClasses?: number;
}

interface ConvOptions {
  kernelSize: number;
  stride?: number;
  padding?: number;
}

/** Convolution with bias, then ReLU: keys `${name}.conv.weight` and `${name}.conv.bias`. */
function convRelu(b: GraphBuilder, x: Value, name: string, outChannels: number, o: ConvOptions): Value {
  return b.relu(b.conv2d(x, `${name}.conv`, { outChannels, kernelSize: o.kernelSize, stride: o.stride, padding: o.padding, bias: true }));
}

/** The paper's Inception module (figure 2b): 1x1; 1x1 then 3x3; 1x1 then 5x5; 3x3 max pool then 1x1. */
export function inceptionModule2014(b: GraphBuilder, x: Value, name: string, [c1, c3r, c3, c5r, c5, pool]: InceptionWidths): Value {
  const branch1 = convRelu(b, x, `${name}.branch1`, c1, { kernelSize: 1 });
  const branch2 = convRelu(b, convRelu(b, x, `${name}.branch2.0`, c3r, { kernelSize: 1 }), `${name}.branch2.1`, c3, { kernelSize: 3, padding: 1 });
  const branch3 = convRelu(b, convRelu(b, x, `${name}.branch3.0`, c5r, { kernelSize: 1 }), `${name}.branch3.1`, c5, { kernelSize: 5, padding: 2 });
  const pooled = b.maxPool2d(x, { kernelSize: 3, stride: 1, padding: 1, ceilMode: true });
  return b.concat([branch1, branch2, branch3, convRelu(b, pooled, `${name}.branch4.1`, pool, { kernelSize: 1 })]);
}

/** Feature taps: conv1, the two LRN outputs and the last module of each stage (strides 2, 4, 8, 16, 32). */
export const GOOGLENET2014_TAPS = ['conv1', 'norm1', 'norm2', 'inception3b', 'inception4e', 'inception5b'] as const;

export function googlenet2014Architecture(name: string, options: GoogLeNet2014Options, metadata: ModelMetadata): Architecture {
  return {
    name,
    inputShape: [3, 224, 224],
    metadata,
    // concatenated branch outputs become channel views of one buffer, not copies
    planPasses: [viewConcatInputs],
    define(b, input) {
      const { size, alpha, beta, k } = GOOGLENET2014_LRN;
      const lrn = (x: Value) => b.localResponseNorm(x, size, alpha, beta, k);
      const taps = new ReductionTaps(b);
      // every max pool is 3x3 / 2 with Caffe's ceil rounding (torchvision's fourth pool is 2x2)
      const pool = (x: Value, module: string) => taps.layer(module, b.maxPool2d(x, { kernelSize: 3, stride: 2, ceilMode: true }), 2);
      let x = taps.module('conv1', convRelu(b, input, 'conv1', 64, { kernelSize: 7, stride: 2, padding: 3 }), 2);
      x = taps.module('norm1', lrn(pool(x, 'maxpool1')));
      x = convRelu(b, x, 'conv2', 64, { kernelSize: 1 });
      x = convRelu(b, x, 'conv3', 192, { kernelSize: 3, padding: 1 });
      x = pool(taps.module('norm2', lrn(x)), 'maxpool2');
      GOOGLENET_STAGES.forEach((stage, i) => {
        if (i > 0) x = pool(x, `maxpool${i + 2}`);
        for (const [module, widths] of stage) x = inceptionModule2014(b, x, module, widths);
        taps.module(stage[stage.length - 1][0], x);
      });
      taps.declare();
      // the paper's 7x7 average pool, made global so that other input sizes work; dropout 40%
      x = b.dropout(b.flatten(b.adaptiveAvgPool2d(x, 1)));
      b.output('logits', b.linear(x, 'fc', options.numClasses ?? 1000));
    },
  };
}
