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
