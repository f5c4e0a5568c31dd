// Pieces every MobileNet shares: stride-named feature taps, and the shared conv + norm block.
import type { GraphBuilder, Value } from '@cnn/core';

// Conv2dNormActivation and _make_divisible live in @cnn/core (EfficientNet uses them too).
export { convNormActivation, makeDivisible } from '@cnn/core';
export type { ConvNormOptions } from '@cnn/core';

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
