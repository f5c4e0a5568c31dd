// Old DenseNet checkpoints (the Lua-ported files torchvision downloads) name dense-layer modules
// `norm.1`, `conv.1`, `norm.2`, `conv.2`; torchvision renames them on load to norm1/conv1/norm2/conv2,
// the keys a state_dict() of a torchvision model (and so our parameters) carries.
const LEGACY_DENSE_LAYER_KEY = /^(.*denselayer\d+\.(?:norm|relu|conv))\.([12]\.(?:weight|bias|running_mean|running_var))$/;

/** The torchvision key for a legacy DenseNet key (`...denselayer3.norm.1.weight` -> `...denselayer3.norm1.weight`); other keys unchanged. */
export function modernDenseNetKey(key: string): string {
  const m = LEGACY_DENSE_LAYER_KEY.exec(key);
  return m ? m[1] + m[2] : key;
}

/** Renames every legacy key of a weight map, as torchvision's DenseNet loader does. */
export function renameLegacyDenseNetKeys<T>(weights: ReadonlyMap<string, T>): Map<string, T> {
  return new Map([...weights].map(([key, value]) => [modernDenseNetKey(key), value]));
}
