// ConvNeXt's block and downsampling layer (Liu et al. 2022), named as torchvision's modules so
// that parameter keys are its state_dict keys.
import type { GraphBuilder, Value } from '@cnn/core';

/** ConvNeXt normalises with LayerNorm at eps 1e-6 everywhere (LayerNorm2d over channels). */
export const LAYER_NORM_EPS = 1e-6;

/**
 * CNBlock: depthwise 7x7 (`block.0`) → LayerNorm over channels (`block.2`) → Linear to 4C
 * (`block.3`) → GELU → Linear back to C (`block.5`) → layer scale → + input. torchvision's
 * permutes (`block.1`, `block.6`) are free here: pointwise linears act on channels directly.
 * Stochastic depth is the identity at inference.
 */
export function cnBlock(b: GraphBuilder, x: Value, name: string): Value {
  const dim = x.shape[0];
  let out = b.conv2d(x, `${name}.block.0`, { outChannels: dim, kernelSize: 7, padding: 3, groups: dim, bias: true });
  out = b.layerNorm2d(out, `${name}.block.2`, LAYER_NORM_EPS);
  out = b.activation(b.pointwiseLinear(out, `${name}.block.3`, 4 * dim), 'gelu');
  out = b.pointwiseLinear(out, `${name}.block.5`, dim);
  out = b.layerScale(out, `${name}.layer_scale`);
  return b.add(b.dropout(out), x);
}

/** Between stages: LayerNorm2d (`${name}.0`), then a 2x2 stride-2 convolution (`${name}.1`). */
export function downsample(b: GraphBuilder, x: Value, name: string, outChannels: number): Value {
  const y = b.layerNorm2d(x, `${name}.0`, LAYER_NORM_EPS);
  return b.conv2d(y, `${name}.1`, { outChannels, kernelSize: 2, stride: 2, bias: true });
}
