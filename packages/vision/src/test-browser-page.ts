// Browser page for browser.test.ts: loads ResNet-18 weights over HTTP and classifies skimage
// photographs given as an <img>, a Blob,
// an ImageBitmap, a canvas, an OffscreenCanvas, a VideoFrame and ImageData, and publishes the top classes and the network's
// 8-bit input (after resize and crop) as `cnnResult`.
import { createWasmBackend } from '@cnn/kernels/wasm';
import { IMAGENET_LABELS } from '@cnn/labels/imagenet';
import { resnet18 } from '@cnn/resnet';
import { createClassifier, imageToPixels, resizeAndCrop, type ImageInput } from './index.js';
import { loadWeights } from '@cnn/core';
import { pthReader } from '@cnn/core/pth';

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function main() {
  // torch-written .pth, by a URL relative to the page (outside Node the .pth reader is opt-in)
  const model = await loadWeights(resnet18(), '/weights/resnet18-discriminative.pth', { readers: [pthReader] });
  const clf = await createClassifier(model, { backend: await createWasmBackend({ relaxedSimd: false }), labels: IMAGENET_LABELS });
  const img = new Image();
  img.src = '/images/chelsea.png';
  await img.decode();
  const png = await (await fetch('/images/chelsea.png')).blob();
  const jpeg = await (await fetch('/images/rocket.jpg')).blob();
  const bitmap = await createImageBitmap(png, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  const imageData = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const offscreen = new OffscreenCanvas(bitmap.width, bitmap.height);
  offscreen.getContext('2d')!.drawImage(bitmap, 0, 0);
  const frame = new VideoFrame(bitmap, { timestamp: 0 });
  const inputs: Record<string, ImageInput> = { img, url: 'images/chelsea.png', pngBlob: png, jpegBlob: jpeg, bitmap, canvas, offscreen, frame, imageData };
  const results: Record<string, unknown> = {};
  for (const [name, input] of Object.entries(inputs)) {
    const started = performance.now();
    const top = await clf.classify(input, { topK: 5 });
    const ms = performance.now() - started;
    const crop = resizeAndCrop(await imageToPixels(input), clf.preprocessing);
    results[name] = { top, ms, crop: base64(crop.data) };
  }
  const batch = await clf.classify([img, jpeg], { topK: 5 });
  frame.close();
  clf.dispose();
  return { results, batch };
}

(globalThis as { cnnResult?: Promise<unknown> }).cnnResult = main().catch((e: Error) => ({ error: `${e.message}\n${e.stack}` }));
