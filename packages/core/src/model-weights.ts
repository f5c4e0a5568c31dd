// Model.loadWeights past its first line: resolve a torchvision weights name, read and decode the
// source, and check the tensors against the model (naming the sibling variant a file was made
// for). Imported on demand by model.ts, so this and the readers stay out of an app's first load.
// It imports nothing from the modules every app loads but what it must (model.ts passes in what
// it needs): each module shared with a lazy chunk becomes one more file in esbuild's first load.
import type { Graph } from './graph.js';
import type { LoadWeightsOptions, VariantParameters, WeightMap, WeightsFormat, WeightsSource } from './weights.js';
import { isWeightsName, validateWeights } from './weights.js';

export interface LoadedWeights {
  weights: WeightMap;
  info: { readonly format: WeightsFormat; readonly notes: readonly string[]; readonly source?: string };
}

export async function loadModelWeights(
  name: string,
  graph: Graph,
  /** the family's other variants, to name the one a file that does not fit was made for */
  variants: (() => Iterable<VariantParameters>) | undefined,
  source: WeightsSource,
  options: LoadWeightsOptions,
): Promise<LoadedWeights> {
  let url: string | undefined;
  if (typeof source === 'string' && isWeightsName(source)) {
    // the manifest is its own chunk: apps that never name weights never download it
    const { torchvisionWeights } = await import('./torchvision-weights.js');
    const entry = torchvisionWeights(name, source, options.weightsBaseUrl);
    url = entry.url;
    options = { sha256: entry.sha256Prefix, ...options };
    source = entry.url;
  }
  const { decodeWeights } = await import('./weights-decode.js');
  const decoded = await decodeWeights(source, options, !options.keepWeights);
  const weights = validateWeights(graph.parameters, graph.ignoredKeys, decoded, options, variants, name);
  const from = url ?? (typeof source === 'string' ? source : source instanceof URL ? source.href : undefined);
  return { weights, info: { format: decoded.format, notes: decoded.notes, ...(from === undefined ? {} : { source: from }) } };
}
