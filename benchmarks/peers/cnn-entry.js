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

// The int8 race (peers.mjs, engine cnn-wasm-int8): torch's quantised model in @cnn's int8 file
// (tools/quant/torch_int8.py) on the int8 kernel binaries.
export { Model, decodeQuantizedModel, parseNpy, useInt8 } from '@cnn/core';
export { createInt8WasmBackend } from '@cnn/kernels/wasm/q8';
import { Model } from '@cnn/core';

/**
 * Torchvision's quantisable MobileNetV2 swaps ReLU6 for ReLU (its _replace_relu), and the int8
 * file holds that model's scales: ours is built the same way (as packages/cli/src/quantize.test.ts).
 */
const reluForRelu6 = (arch) => ({
  ...arch,
  define(b, input) {
    const wrapped = new Proxy(b, {
      get(target, key) {
        if (key === 'activation') return (x, fn) => target.activation(x, fn === 'relu6' ? 'relu' : fn);
        const v = Reflect.get(target, key, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    arch.define(wrapped, input);
  },
});

/** torchvision quantisable builder name -> { the @cnn model its int8 file fits, the logits layer's name } */
export const INT8_MODELS = {
  resnet18: { model: () => resnet18(), logits: 'fc' },
  mobilenet_v2: { model: () => new Model(reluForRelu6(mobilenet_v2().architecture)), logits: 'classifier.1' },
};
