// The pieces of DenseNet-BC (Huang et al. 2017), named as torchvision's modules so that parameter
// keys are its state_dict keys: the bottleneck dense layer (BN-ReLU-1x1 conv-BN-ReLU-3x3 conv),
// the dense block that concatenates every layer's output, and the compressing transition.
import type { GraphBuilder, Value } from '@cnn/core';

export interface DenseConfig {
  /** k: channels each dense layer adds */
  growthRate: number;
  /** the 1x1 bottleneck has bnSize * k channels (4 in the paper) */
  bnSize: number;
}

/** One dense layer: reads the concatenation of every earlier feature map, returns k new channels. */
export function denseLayer(b: GraphBuilder, inputs: readonly Value[], name: string, { growthRate, bnSize }: DenseConfig): Value {
  const x = inputs.length === 1 ? inputs[0] : b.concat(inputs);
  let out = b.relu(b.batchNorm2d(x, `${name}.norm1`));
  out = b.conv2d(out, `${name}.conv1`, { outChannels: bnSize * growthRate, kernelSize: 1, bias: false });
  out = b.relu(b.batchNorm2d(out, `${name}.norm2`));
  return b.conv2d(out, `${name}.conv2`, { outChannels: growthRate, kernelSize: 3, padding: 1, bias: false });
}

/** `layers` dense layers (denselayer1..N); the output is the input and every new map, concatenated. */
export function denseBlock(b: GraphBuilder, x: Value, name: string, layers: number, config: DenseConfig): Value {
  const features = [x];
  for (let i = 1; i <= layers; i++) features.push(denseLayer(b, features, `${name}.denselayer${i}`, config));
  return b.concat(features);
}

/** BN-ReLU-1x1 conv to `outChannels` (half, the paper's compression 0.5), then 2x2 average pooling. */
export function transition(b: GraphBuilder, x: Value, name: string, outChannels: number): Value {
  const out = b.relu(b.batchNorm2d(x, `${name}.norm`));
  return b.avgPool2d(b.conv2d(out, `${name}.conv`, { outChannels, kernelSize: 1, bias: false }), { kernelSize: 2, stride: 2 });
}
