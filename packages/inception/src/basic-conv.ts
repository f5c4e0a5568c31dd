// Pieces both Inception networks share: torchvision's BasicConv2d, the transform_input
// re-normalisation, and declaring a training-only head's keys as ignorable.
import { GraphBuilder, type Pair, type Value } from '@cnn/core';

export interface BasicConvOptions {
  kernelSize: number | Pair;
  stride?: number;
  padding?: number | Pair;
}

/** Convolution without bias, batch norm with eps 0.001, ReLU: `${name}.conv`, `${name}.bn`. */
export function basicConv2d(b: GraphBuilder, x: Value, name: string, outChannels: number, o: BasicConvOptions): Value {
  const conv = b.conv2d(x, `${name}.conv`, { outChannels, kernelSize: o.kernelSize, stride: o.stride, padding: o.padding, bias: false });
  return b.relu(b.batchNorm2d(conv, `${name}.bn`, 0.001));
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/**
 * torchvision's transform_input: the ported Google weights expect pixels in [-1, 1], i.e.
 * (p - 0.5) / 0.5, while the preset normalises with ImageNet's mean and std. Undoing one and
 * applying the other is the per-channel map x * std / 0.5 + (mean - 0.5) / 0.5.
 */
export function transformInput(b: GraphBuilder, x: Value): Value {
  return b.channelAffine(
    x,
    IMAGENET_STD.map((s) => s / 0.5),
    IMAGENET_MEAN.map((m) => (m - 0.5) / 0.5),
  );
}

/**
 * Declares every key a head would read as ignorable, by describing the head in a scratch
 * builder: the ignored keys are exactly the keys the head declares when it is built for real.
 */
export function ignoreHead(b: GraphBuilder, inputShape: readonly [number, number, number], head: (b: GraphBuilder, x: Value) => Value): void {
  const scratch = new GraphBuilder();
  scratch.output('logits', head(scratch, scratch.input(inputShape)));
  const graph = scratch.build();
  for (const p of graph.parameters) b.ignore(p.key);
  for (const key of graph.ignoredKeys) b.ignore(key);
}
