// Inception v3 (Szegedy et al. 2016, "Rethinking the Inception Architecture for Computer
// Vision") as torchvision builds it: modules A-E with factorised n x 1 / 1 x n convolutions,
// grid reductions B and D, and the auxiliary classifier on the 17x17 grid.
import { ReductionTaps, viewConcatInputs, type Architecture, type GraphBuilder, type ModelMetadata, type Value } from '@cnn/core';
import { basicConv2d, ignoreHead, transformInput } from './basic-conv.js';
import type { InceptionOptions } from './googlenet.js';

/** 3x3 average pooling, stride 1, padding 1, zeros counted: every pool branch starts with it. */
function poolBranch(b: GraphBuilder, x: Value, name: string, out: number): Value {
  const pooled = b.avgPool2d(x, { kernelSize: 3, stride: 1, padding: 1 });
  return basicConv2d(b, pooled, name, out, { kernelSize: 1 });
}

/** 35x35 module (figure 5): 1x1, 5x5, double 3x3 and pool branches. */
export function inceptionA(b: GraphBuilder, x: Value, name: string, poolFeatures: number): Value {
  const branch1x1 = basicConv2d(b, x, `${name}.branch1x1`, 64, { kernelSize: 1 });
  let branch5x5 = basicConv2d(b, x, `${name}.branch5x5_1`, 48, { kernelSize: 1 });
  branch5x5 = basicConv2d(b, branch5x5, `${name}.branch5x5_2`, 64, { kernelSize: 5, padding: 2 });
  let dbl = basicConv2d(b, x, `${name}.branch3x3dbl_1`, 64, { kernelSize: 1 });
  dbl = basicConv2d(b, dbl, `${name}.branch3x3dbl_2`, 96, { kernelSize: 3, padding: 1 });
  dbl = basicConv2d(b, dbl, `${name}.branch3x3dbl_3`, 96, { kernelSize: 3, padding: 1 });
  return b.concat([branch1x1, branch5x5, dbl, poolBranch(b, x, `${name}.branch_pool`, poolFeatures)]);
}

/** Grid reduction 35 -> 17: strided 3x3, strided double 3x3, strided max pool. */
export function inceptionB(b: GraphBuilder, x: Value, name: string): Value {
  const branch3x3 = basicConv2d(b, x, `${name}.branch3x3`, 384, { kernelSize: 3, stride: 2 });
  let dbl = basicConv2d(b, x, `${name}.branch3x3dbl_1`, 64, { kernelSize: 1 });
  dbl = basicConv2d(b, dbl, `${name}.branch3x3dbl_2`, 96, { kernelSize: 3, padding: 1 });
  dbl = basicConv2d(b, dbl, `${name}.branch3x3dbl_3`, 96, { kernelSize: 3, stride: 2 });
  return b.concat([branch3x3, dbl, b.maxPool2d(x, { kernelSize: 3, stride: 2 })]);
}

const ROW: { kernelSize: [number, number]; padding: [number, number] } = { kernelSize: [1, 7], padding: [0, 3] };
const COLUMN: { kernelSize: [number, number]; padding: [number, number] } = { kernelSize: [7, 1], padding: [3, 0] };

/** 17x17 module (figure 6): 7x7 convolutions factorised into 1x7 and 7x1, c7 channels inside. */
export function inceptionC(b: GraphBuilder, x: Value, name: string, c7: number): Value {
  const branch1x1 = basicConv2d(b, x, `${name}.branch1x1`, 192, { kernelSize: 1 });
  let branch7x7 = basicConv2d(b, x, `${name}.branch7x7_1`, c7, { kernelSize: 1 });
  branch7x7 = basicConv2d(b, branch7x7, `${name}.branch7x7_2`, c7, ROW);
  branch7x7 = basicConv2d(b, branch7x7, `${name}.branch7x7_3`, 192, COLUMN);
  let dbl = basicConv2d(b, x, `${name}.branch7x7dbl_1`, c7, { kernelSize: 1 });
  dbl = basicConv2d(b, dbl, `${name}.branch7x7dbl_2`, c7, COLUMN);
  dbl = basicConv2d(b, dbl, `${name}.branch7x7dbl_3`, c7, ROW);
  dbl = basicConv2d(b, dbl, `${name}.branch7x7dbl_4`, c7, COLUMN);
  dbl = basicConv2d(b, dbl, `${name}.branch7x7dbl_5`, 192, ROW);
  return b.concat([branch1x1, branch7x7, dbl, poolBranch(b, x, `${name}.branch_pool`, 192)]);
}

/** Grid reduction 17 -> 8. */
export function inceptionD(b: GraphBuilder, x: Value, name: string): Value {
  let branch3x3 = basicConv2d(b, x, `${name}.branch3x3_1`, 192, { kernelSize: 1 });
  branch3x3 = basicConv2d(b, branch3x3, `${name}.branch3x3_2`, 320, { kernelSize: 3, stride: 2 });
  let branch7x7x3 = basicConv2d(b, x, `${name}.branch7x7x3_1`, 192, { kernelSize: 1 });
  branch7x7x3 = basicConv2d(b, branch7x7x3, `${name}.branch7x7x3_2`, 192, ROW);
  branch7x7x3 = basicConv2d(b, branch7x7x3, `${name}.branch7x7x3_3`, 192, COLUMN);
  branch7x7x3 = basicConv2d(b, branch7x7x3, `${name}.branch7x7x3_4`, 192, { kernelSize: 3, stride: 2 });
  return b.concat([branch3x3, branch7x7x3, b.maxPool2d(x, { kernelSize: 3, stride: 2 })]);
}

/** 8x8 module (figure 7): the 3x3 branches split into parallel 1x3 and 3x1 outputs. */
export function inceptionE(b: GraphBuilder, x: Value, name: string): Value {
  const split = (y: Value, prefix: string) =>
    b.concat([
      basicConv2d(b, y, `${prefix}a`, 384, { kernelSize: [1, 3], padding: [0, 1] }),
      basicConv2d(b, y, `${prefix}b`, 384, { kernelSize: [3, 1], padding: [1, 0] }),
    ]);
  const branch1x1 = basicConv2d(b, x, `${name}.branch1x1`, 320, { kernelSize: 1 });
  const branch3x3 = split(basicConv2d(b, x, `${name}.branch3x3_1`, 384, { kernelSize: 1 }), `${name}.branch3x3_2`);
  let dbl = basicConv2d(b, x, `${name}.branch3x3dbl_1`, 448, { kernelSize: 1 });
  dbl = split(basicConv2d(b, dbl, `${name}.branch3x3dbl_2`, 384, { kernelSize: 3, padding: 1 }), `${name}.branch3x3dbl_3`);
  return b.concat([branch1x1, branch3x3, dbl, poolBranch(b, x, `${name}.branch_pool`, 192)]);
}

/** The auxiliary classifier on Mixed_6e (needs a 17x17 grid, i.e. a 299x299 input). */
export function inceptionV3Aux(b: GraphBuilder, x: Value, name: string, numClasses: number): Value {
  let y = b.avgPool2d(x, { kernelSize: 5, stride: 3 });
  y = basicConv2d(b, y, `${name}.conv0`, 128, { kernelSize: 1 });
  y = basicConv2d(b, y, `${name}.conv1`, 768, { kernelSize: 5 });
  y = b.flatten(b.adaptiveAvgPool2d(y, 1));
  return b.linear(y, `${name}.fc`, numClasses);
}

/** Feature taps: the last module on the 35x35, 17x17 and 8x8 grids (strides 8, 16, 32). */
export const INCEPTION_V3_TAPS = ['Mixed_5d', 'Mixed_6e', 'Mixed_7c'] as const;
/** Taps by reduction: Conv2d_2b_3x3 (2), Conv2d_4a_3x3 (4), Mixed_5d (8), Mixed_6e (16), Mixed_7c (32). */
export const INCEPTION_V3_STRIDE_TAPS = ['stride2', 'stride4', 'stride8', 'stride16', 'stride32'] as const;

export function inceptionV3Architecture(name: string, options: InceptionOptions, metadata: ModelMetadata): Architecture {
  const numClasses = options.numClasses ?? 1000;
  return {
    name,
    inputShape: [3, 299, 299],
    metadata,
    // concatenated branch outputs become channel views of one buffer, not copies
    planPasses: [viewConcatInputs],
    define(b, input) {
      const taps = new ReductionTaps(b);
      let x = (options.transformInput ?? true) ? transformInput(b, input) : input;
      x = taps.layer('Conv2d_1a_3x3', basicConv2d(b, x, 'Conv2d_1a_3x3', 32, { kernelSize: 3, stride: 2 }), 2);
      x = basicConv2d(b, x, 'Conv2d_2a_3x3', 32, { kernelSize: 3 });
      x = taps.layer('Conv2d_2b_3x3', basicConv2d(b, x, 'Conv2d_2b_3x3', 64, { kernelSize: 3, padding: 1 }));
      x = taps.layer('maxpool1', b.maxPool2d(x, { kernelSize: 3, stride: 2 }), 2);
      x = basicConv2d(b, x, 'Conv2d_3b_1x1', 80, { kernelSize: 1 });
      x = taps.layer('Conv2d_4a_3x3', basicConv2d(b, x, 'Conv2d_4a_3x3', 192, { kernelSize: 3 }));
      x = taps.layer('maxpool2', b.maxPool2d(x, { kernelSize: 3, stride: 2 }), 2);
      x = inceptionA(b, x, 'Mixed_5b', 32);
      x = inceptionA(b, x, 'Mixed_5c', 64);
      x = taps.module('Mixed_5d', inceptionA(b, x, 'Mixed_5d', 64));
      x = taps.layer('Mixed_6a', inceptionB(b, x, 'Mixed_6a'), 2);
      x = inceptionC(b, x, 'Mixed_6b', 128);
      x = inceptionC(b, x, 'Mixed_6c', 160);
      x = inceptionC(b, x, 'Mixed_6d', 160);
      x = taps.module('Mixed_6e', inceptionC(b, x, 'Mixed_6e', 192));
      if (options.auxLogits) b.output('aux', inceptionV3Aux(b, x, 'AuxLogits', numClasses));
      else ignoreHead(b, [768, 17, 17], (s, v) => inceptionV3Aux(s, v, 'AuxLogits', numClasses));
      x = taps.layer('Mixed_7a', inceptionD(b, x, 'Mixed_7a'), 2);
      x = inceptionE(b, x, 'Mixed_7b');
      x = taps.module('Mixed_7c', inceptionE(b, x, 'Mixed_7c'));
      taps.declare();
      x = b.flatten(b.dropout(b.adaptiveAvgPool2d(x, 1)));
      b.output('logits', b.linear(x, 'fc', numClasses));
    },
  };
}
