// @cnn/labels: class names by logit index. Import a sub-path (@cnn/labels/imagenet) to bundle one set only.
export { IMAGENET_LABELS } from './imagenet.js';
export { MNIST_LABELS, FASHION_MNIST_LABELS } from './mnist.js';
