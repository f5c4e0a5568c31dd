// Error types with messages that say what was expected and what came.

/** Raised for any malformed weight file, missing or unexpected key, or shape/dtype mismatch. */
export class WeightsError extends Error {
  override name = 'WeightsError';
}

/** Raised when an input tensor or compile option does not fit the network. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Raised when a pickled checkpoint names a global outside the state-dict whitelist (e.g. os.system). */
export class UnsafeCheckpointError extends WeightsError {
  override name = 'UnsafeCheckpointError';
  constructor(
    /** the refused global, as `module.name` (os.system pickles as `posix.system`) */
    readonly global: string,
    where: string,
  ) {
    super(`${where}: refused global '${global}': a state dict only needs OrderedDict, tensor rebuild calls and storage types, so nothing else is imported or run`);
  }
}
