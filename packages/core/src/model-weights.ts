// loadWeights: resolve a torchvision weights name, read and decode the source, check the tensors
// against the model (naming the sibling variant a file was made for) and give them to it. A
// function rather than a Model method, so that an app that never reads a file (generated
// weights, a demo) bundles none of this with any bundler, code splitting or not; the readers
// and the torchvision manifest are still on-demand chunks where the bundler splits code.
import { WeightsError, describeValue } from './errors.js';
import { Model, adoptWeights, buildGraph, modelInternals, type Architecture } from './model.js';
import type { LoadWeightsOptions, VariantParameters, WeightsSource } from './weights.js';
import { isWeightsName, validateWeights } from './weights.js';

/**
 * Loads and validates a model's weights: .safetensors or torch.save bytes, a URL, a file path
 * (Node), a tensor map, or a torchvision weights name ('DEFAULT', 'IMAGENET1K_V1', ...) fetched
 * from torchvision's URL and checked against the SHA-256 prefix in its file name. Resolves to
 * the model: `const model = await loadWeights(resnet50(), 'DEFAULT')`.
 */
export async function loadWeights<M extends Model>(model: M, source: WeightsSource, options: LoadWeightsOptions = {}): Promise<M> {
  if (!(model instanceof Model)) {
    throw new WeightsError(`loadWeights: expected a Model (e.g. resnet18()) as the first argument, got ${describeValue(model)}`);
  }
  const { graph, siblings } = modelInternals(model);
  let url: string | undefined;
  if (typeof source === 'string' && isWeightsName(source)) {
    // the manifest is its own chunk: apps that never name weights never download it
    const { torchvisionWeights } = await import('./torchvision-weights.js');
    const entry = torchvisionWeights(model.name, source, options.weightsBaseUrl);
    url = entry.url;
    options = { sha256: entry.sha256Prefix, ...options };
    source = entry.url;
  }
  const { decodeWeights } = await import('./weights-decode.js');
  const decoded = await decodeWeights(source, options, !options.keepWeights);
  const variants = siblings && (() => siblingParameters(siblings()));
  const weights = validateWeights(graph.parameters, graph.ignoredKeys, decoded, options, variants, model.name);
  const from = url ?? (typeof source === 'string' ? source : source instanceof URL ? source.href : undefined);
  adoptWeights(model, weights, { format: decoded.format, notes: decoded.notes, ...(from === undefined ? {} : { source: from }) }, options.keepWeights ?? false);
  return model;
}

function* siblingParameters(architectures: Iterable<Architecture>): Iterable<VariantParameters> {
  for (const arch of architectures) {
    const g = buildGraph(arch);
    yield { name: arch.name, shapes: new Map(g.parameters.map((p) => [p.key, p.shape])), ignoredKeys: g.ignoredKeys };
  }
}
