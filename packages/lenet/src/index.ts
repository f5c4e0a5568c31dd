// LeNet-5 as LeCun, Bottou, Bengio and Haffner describe it in "Gradient-Based Learning Applied
// to Document Recognition" (1998): 32x32 grayscale in, C1-S2-C3-S4-C5-F6 with tanh, 10 outputs.
//
// Differences from the paper, stated plainly: C3 is fully connected to S2's six maps (the paper
// wires each C3 map to a subset), S2/S4 are plain 2x2 average pooling (the paper adds a
// trainable coefficient and bias), and the output layer is linear instead of Euclidean RBF units.
import { Model, type Architecture } from '@cnn/core';

export const lenet5Architecture: Architecture = {
  name: 'lenet5',
  inputShape: [1, 32, 32],
  metadata: {
    parameters: 61_706,
    paper: 'LeCun et al., Gradient-Based Learning Applied to Document Recognition, Proc. IEEE 1998',
    weights: 'Fashion-MNIST, trained by cnn train (@cnn/lenet/weights)',
    // How the shipped weights saw their images (packages/train's FASHION_MNIST_PREPROCESSING):
    // grayscale 28x28, zero-padded to 32x32, (x / 255 - 0.2860) / 0.3530. As a torchvision preset
    // that is Resize(28) then CenterCrop(32), whose padding is the zero background; any other
    // image (colour, any size) is converted to grayscale and brought to 28 on its shorter side.
    preprocessing: { resizeSize: 28, cropSize: 32, interpolation: 'bilinear', mean: [0.286, 0.286, 0.286], std: [0.353, 0.353, 0.353] },
  },
  define(b, input) {
    const c1 = b.output('c1', b.tanh(b.conv2d(input, 'c1', { outChannels: 6, kernelSize: 5 })));
    const s2 = b.output('s2', b.avgPool2d(c1, { kernelSize: 2 }));
    const c3 = b.tanh(b.conv2d(s2, 'c3', { outChannels: 16, kernelSize: 5 }));
    const s4 = b.avgPool2d(c3, { kernelSize: 2 });
    const c5 = b.output('c5', b.tanh(b.conv2d(s4, 'c5', { outChannels: 120, kernelSize: 5 })));
    const f6 = b.tanh(b.linear(b.flatten(c5), 'f6', 84));
    b.output('logits', b.linear(f6, 'output', 10));
  },
};

/** LeNet-5 (architecture only; load or generate weights before compiling). */
export function lenet5(): Model {
  return new Model(lenet5Architecture);
}
