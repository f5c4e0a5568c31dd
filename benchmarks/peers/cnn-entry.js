// What the @cnn worker needs, bundled from the packages' TypeScript sources by peers/bundle.mjs
// (so the benchmark measures the working tree as it is, with no `pnpm build` of the packages).
export { Tensor, counterInput, counterParameter, summarize } from '@cnn/core';
export { createWasmBackend } from '@cnn/kernels/wasm';
export { createJsBackend } from '@cnn/kernels/js';
import { resnet18, resnet50 } from '@cnn/resnet';
import { mobilenet_v2, mobilenet_v3_large } from '@cnn/mobilenet';
import { efficientnet_b0 } from '@cnn/efficientnet';
import { convnext_tiny } from '@cnn/convnext';
import { densenet121 } from '@cnn/densenet';
import { googlenet, inception_v3 } from '@cnn/inception';
import { vgg16 } from '@cnn/vgg';
import { alexnet } from '@cnn/alexnet';

/** torchvision builder name -> @cnn model factory */
export const MODELS = {
  resnet50, resnet18, mobilenet_v2, mobilenet_v3_large, efficientnet_b0, convnext_tiny,
  densenet121, googlenet, vgg16, alexnet: () => alexnet(), inception_v3,
};
