// Error types with messages that say what was expected and what came.

/**
 * Why a failure happened, for callers that branch on it (and for the fuzz campaign's tallies):
 * 'format' a file breaks its format's rules; 'limit' an input exceeds a limit of ./limits.ts;
 * 'mismatch' a well-formed input does not fit the network (keys, shapes, dtypes); 'unsupported'
 * well-formed but not something we decode; 'io' a file or URL could not be read; 'disposed' an
 * executable or runner was used after dispose().
 */
export type ErrorCode = 'format' | 'limit' | 'mismatch' | 'unsupported' | 'io' | 'disposed';

export interface CnnErrorOptions {
  code?: ErrorCode;
  cause?: unknown;
}

/** Raised for any malformed weight file, missing or unexpected key, or shape/dtype mismatch. */
export class WeightsError extends Error {
  override name = 'WeightsError';
  readonly code: ErrorCode;
  constructor(message: string, options: CnnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? 'mismatch';
  }
}

/** Raised when an input tensor, a .npy file or a compile option does not fit the network. */
export class ShapeError extends Error {
  override name = 'ShapeError';
  readonly code: ErrorCode;
  constructor(message: string, options: CnnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? 'mismatch';
  }
}

/** Raised when an executable (or the runner around it) is run after dispose(), or disposed during a run. */
export class DisposedError extends Error {
  override name = 'DisposedError';
  readonly code: ErrorCode = 'disposed';
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** A short, bounded rendering of an untrusted value for an error message (never recursive). */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Map) return `an object with ${v.size} key(s)`;
  if (typeof v === 'string') return v.length > 40 ? `the string '${v.slice(0, 40)}...'` : `the string '${v}'`;
  if (typeof v === 'object') return v.constructor?.name ? `a ${v.constructor.name}` : 'an object';
  return `${typeof v} ${String(v)}`;
}

/** Raised when a pickled checkpoint names a global outside the state-dict whitelist (e.g. os.system). */
export class UnsafeCheckpointError extends WeightsError {
  override name = 'UnsafeCheckpointError';
  constructor(
    /** the refused global, as `module.name` (os.system pickles as `posix.system`) */
    readonly global: string,
    where: string,
  ) {
    super(`${where}: refused global '${global}': a state dict only needs OrderedDict, tensor rebuild calls and storage types, so nothing else is imported or run`, { code: 'unsupported' });
  }
}
