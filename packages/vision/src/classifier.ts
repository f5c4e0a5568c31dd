// An image classifier built from a model with weights, a backend and optional class names:
// classify (top-k softmax), embed (the final classifier's input) and feature taps, one runner.
import { Model, ShapeError, Tensor, buildGraph, loadWeights, type Architecture, type Backend, type GraphBuilder, type Preprocessing, type Runner, type Value } from '@cnn/core';
import { imageToPixels, type ImageInput } from './image-input.js';
import { preprocessBatch, presetFor } from './preprocess.js';
import type { Pixels } from './pixels.js';

/** Name of the output that carries the pooled features the last linear layer reads. */
export const EMBEDDING_OUTPUT = 'embedding';

export interface Classification {
  readonly index: number;
  /** the class name, or the index as text when no names were given */
  readonly label: string;
  readonly probability: number;
}

export interface ClassifierOptions {
  backend: Backend;
  /** class names by logit index, e.g. IMAGENET_LABELS from @cnn/labels/imagenet */
  labels?: readonly string[];
  /** overrides the preset from the architecture's metadata */
  preprocessing?: Preprocessing;
  /** feature taps to compute alongside the logits (see model.outputNames) */
  taps?: readonly string[];
  /** images per forward pass; a shorter last group is padded. Default 1 */
  batch?: number;
}

export interface ClassifyOptions {
  /** classes returned per image, most probable first; default 5 */
  topK?: number;
}

/**
 * The architecture with one more output: the input of the linear layer that produces the
 * logits. The builder is wrapped to remember each linear layer's input, so any architecture
 * whose 'logits' come from a linear layer gets it, without the model packages knowing.
 */
export function withEmbeddingOutput(architecture: Architecture): Architecture {
  return {
    ...architecture,
    define(b, input) {
      const linearInputs = new Map<number, Value>();
      const wrapped = new Proxy(b, {
        get(target, key) {
          if (key === 'linear') {
            return (x: Value, ...rest: unknown[]) => {
              const y = (target.linear as (x: Value, ...r: unknown[]) => Value)(x, ...rest);
              linearInputs.set(y.id, x);
              return y;
            };
          }
          if (key === 'output') {
            return (name: string, x: Value) => {
              const y = target.output(name, x);
              const features = linearInputs.get(x.id);
              if (name === 'logits' && features) target.output(EMBEDDING_OUTPUT, features);
              return y;
            };
          }
          const value = Reflect.get(target, key, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }) as GraphBuilder;
      architecture.define(wrapped, input);
    },
  };
}

function softmax(logits: Float32Array, offset: number, count: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < count; i++) max = Math.max(max, logits[offset + i]);
  const out = new Float64Array(count);
  let sum = 0;
  for (let i = 0; i < count; i++) sum += out[i] = Math.exp(logits[offset + i] - max);
  for (let i = 0; i < count; i++) out[i] /= sum;
  return out;
}

/** The k most probable classes of one row of logits. */
export function topClasses(logits: Float32Array, offset: number, count: number, topK: number, labels?: readonly string[]): Classification[] {
  const p = softmax(logits, offset, count);
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
  return order.slice(0, Math.min(topK, count)).map((index) => ({ index, label: labels?.[index] ?? String(index), probability: p[index] }));
}

export class ImageClassifier {
  private constructor(
    readonly modelName: string,
    private readonly runner: Runner,
    readonly preprocessing: Preprocessing,
    /** 1 (grayscale, Pillow's 'L') or 3 (RGB) */
    readonly channels: 1 | 3,
    readonly numClasses: number,
    readonly labels: readonly string[] | undefined,
    readonly taps: readonly string[],
    readonly hasEmbedding: boolean,
  ) {}

  /** Compiles `model` (its weights must be loaded) for `backend`, with the logits, embedding and taps as outputs. */
  static async create(model: Model, options: ClassifierOptions): Promise<ImageClassifier> {
    if (!model.hasWeights) throw new Error(`${model.name}: load weights before creating a classifier (loadWeights or useGeneratedWeights)`);
    const batch = options.batch ?? 1;
    if (!Number.isSafeInteger(batch) || batch < 1) throw new ShapeError(`batch must be a positive integer, got ${batch}`);
    const architecture = model.architecture;
    const channels = architecture.inputShape[0];
    if (channels !== 1 && channels !== 3) throw new ShapeError(`${model.name}: images give 1 or 3 channels, the model takes ${channels}`);
    const preprocessing = options.preprocessing ?? presetFor(architecture);
    const taps = options.taps ?? [];
    const unknown = taps.filter((t) => !model.outputNames.includes(t) || t === 'logits');
    if (unknown.length > 0) {
      const known = model.outputNames.filter((n) => n !== 'logits');
      throw new ShapeError(`${model.name}: unknown feature tap(s) ${unknown.map((t) => `'${t}'`).join(', ')}; expected some of ${known.join(', ') || '(none)'}`);
    }
    const graph = buildGraph(architecture);
    const numClasses = graph.nodes[graph.outputs.get('logits')!].shape[0];
    const labels = checkLabels(model.name, options.labels, numClasses);
    // the same weights (shared, not copied) under an architecture with the embedding as an output
    const extended = new Model(withEmbeddingOutput(architecture));
    await loadWeights(extended, model.getWeights());
    // e.g. an int8 model's: its weights are placeholders, the lowering carries its parameters
    extended.lowering = model.lowering;
    const hasEmbedding = extended.outputNames.includes(EMBEDDING_OUTPUT);
    const outputs = ['logits', ...(hasEmbedding ? [EMBEDDING_OUTPUT] : []), ...taps];
    const size = preprocessing.cropSize;
    const runner = await extended.compile(options.backend, { batch, inputSize: [size, size], outputs });
    return new ImageClassifier(model.name, runner, preprocessing, channels, numClasses, labels, taps, hasEmbedding);
  }

  /** Images per forward pass. */
  get batch(): number {
    return this.runner.inputShape[0];
  }

  /** The network input for these images: [n, channels, crop, crop] float32, as torchvision's preset makes it. */
  async preprocess(images: readonly ImageInput[]): Promise<Tensor> {
    const pixels: Pixels[] = [];
    for (const image of images) pixels.push(await imageToPixels(image));
    return preprocessBatch(pixels, this.preprocessing, this.channels);
  }

  /** Every output (logits, embedding, taps) for each image, NCHW or [n, f], batch by batch. */
  async features(images: ImageInput | readonly ImageInput[]): Promise<Record<string, Tensor>[]> {
    const list = Array.isArray(images) ? (images as readonly ImageInput[]) : [images as ImageInput];
    if (list.length === 0) return [];
    const input = await this.preprocess(list);
    const perImage = input.data.length / list.length;
    const results: Record<string, Tensor>[] = [];
    for (let start = 0; start < list.length; start += this.batch) {
      const count = Math.min(this.batch, list.length - start);
      const chunk = new Float32Array(perImage * this.batch);
      chunk.set(input.data.subarray(start * perImage, (start + count) * perImage));
      const outputs = await this.runner.runAll(chunk);
      for (let i = 0; i < count; i++) {
        const one: Record<string, Tensor> = {};
        for (const [name, t] of Object.entries(outputs)) one[name] = sliceBatch(t, i);
        results.push(one);
      }
    }
    return results;
  }

  /** The topK most probable classes, softmax over the logits; one list per image for an array. */
  async classify(image: ImageInput, options?: ClassifyOptions): Promise<Classification[]>;
  async classify(images: readonly ImageInput[], options?: ClassifyOptions): Promise<Classification[][]>;
  async classify(images: ImageInput | readonly ImageInput[], options: ClassifyOptions = {}): Promise<Classification[] | Classification[][]> {
    const topK = options.topK ?? 5;
    if (!Number.isSafeInteger(topK) || topK < 1) throw new ShapeError(`topK must be a positive integer, got ${topK}`);
    const results = (await this.features(images)).map((o) => topClasses(o.logits.data, 0, o.logits.data.length, topK, this.labels));
    return Array.isArray(images) ? results : results[0];
  }

  /** The pooled feature vector the final linear layer reads (e.g. 2048 values for ResNet-50). */
  async embed(image: ImageInput): Promise<Float32Array>;
  async embed(images: readonly ImageInput[]): Promise<Float32Array[]>;
  async embed(images: ImageInput | readonly ImageInput[]): Promise<Float32Array | Float32Array[]> {
    if (!this.hasEmbedding) throw new ShapeError(`${this.modelName}: its logits do not come from a linear layer, so it has no embedding`);
    const results = (await this.features(images)).map((o) => o[EMBEDDING_OUTPUT].data);
    return Array.isArray(images) ? results : results[0];
  }

  /** Frees the backend memory of the compiled model. */
  dispose(): void {
    this.runner.dispose();
  }
}

function sliceBatch(t: Tensor, index: number): Tensor {
  const per = t.data.length / t.shape[0];
  return new Tensor([1, ...t.shape.slice(1)], t.data.slice(index * per, (index + 1) * per));
}

function checkLabels(model: string, labels: readonly string[] | undefined, numClasses: number): readonly string[] | undefined {
  if (labels === undefined) return undefined;
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string')) throw new ShapeError(`${model}: labels must be an array of strings`);
  if (labels.length !== numClasses) throw new ShapeError(`${model}: expected ${numClasses} labels, one per class, got ${labels.length}`);
  return labels;
}

/** Builds a classifier: `const clf = await createClassifier(model, { backend, labels })`. */
export function createClassifier(model: Model, options: ClassifierOptions): Promise<ImageClassifier> {
  return ImageClassifier.create(model, options);
}
