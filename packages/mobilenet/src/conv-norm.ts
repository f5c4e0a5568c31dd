// Pieces every MobileNet shares: torchvision's Conv2dNormActivation and _make_divisible.
import type { Activation, GraphBuilder, Value } from '@cnn/core';

export interface ConvNormOptions {
  kernelSize?: number;
  stride?: number;
  groups?: number;
  /** applied after batch norm; 'none' for the linear bottleneck projections */
  activation: Activation;
  /** batch norm epsilon: PyTorch's 1e-5 by default, 0.001 in MobileNet v3 */
  eps?: number;
}

/** Convolution (no bias, "same" padding) + batch norm + activation: keys `${name}.0`, `${name}.1`. */
export function convNormActivation(b: GraphBuilder, x: Value, name: string, outChannels: number, o: ConvNormOptions): Value {
  const kernelSize = o.kernelSize ?? 3;
  const conv = b.conv2d(x, `${name}.0`, { outChannels, kernelSize, stride: o.stride ?? 1, padding: (kernelSize - 1) >> 1, groups: o.groups ?? 1, bias: false });
  const y = b.batchNorm2d(conv, `${name}.1`, o.eps ?? 1e-5);
  return o.activation === 'none' ? y : b.activation(y, o.activation);
}

/**
 * The channel rounding of the TensorFlow MobileNet code that torchvision reproduces: the nearest
 * multiple of `divisor` (at least `minValue`), bumped up one step if that loses more than 10%.
 */
export function makeDivisible(v: number, divisor = 8, minValue = divisor): number {
  let rounded = Math.max(minValue, Math.floor(Math.floor(v + divisor / 2) / divisor) * divisor);
  if (rounded < 0.9 * v) rounded += divisor;
  return rounded;
}

/**
 * Collects feature taps named by output stride: after each feature layer, `stride${s}` is
 * overwritten, so each name ends on the last layer at that stride. Declared once at the end.
 */
export class StrideTaps {
  private readonly taps = new Map<string, Value>();
  private stride = 1;

  /** Records a feature layer's output; `layerStride` is the layer's own stride. */
  after(x: Value, layerStride: number): Value {
    this.stride *= layerStride;
    this.taps.set(`stride${this.stride}`, x);
    return x;
  }

  declare(b: GraphBuilder): void {
    for (const [name, x] of this.taps) b.output(name, x);
  }
}

/** Tap names of every MobileNet: the last feature layer at each output stride. */
export const MOBILENET_TAPS = ['stride2', 'stride4', 'stride8', 'stride16', 'stride32'] as const;
