// Pass 7: the buffers the surviving values need (a flatten shares its source's), and when each
// is live (a channel view's is its base's): from the op that first writes it to the last that reads it (the input from before
// the first op, the outputs to the end).
import { opRefs, type Draft } from './draft.js';

export interface Buffers {
  /** per value id: its buffer, or -1 for a value a pass removed */
  readonly bufferOf: readonly number[];
  /** per buffer: floats, first and last op index that touches it (Infinity/-Infinity: never) */
  readonly size: readonly number[];
  readonly start: readonly number[];
  readonly end: readonly number[];
}

export function bufferLiveness(draft: Draft): Buffers {
  const bufferOf = assignBuffers(draft);
  const count = Math.max(-1, ...bufferOf) + 1;
  const size = new Array<number>(count).fill(0);
  draft.values.forEach((v, id) => {
    if (v) size[bufferOf[id]] = Math.max(size[bufferOf[id]], v.shape.reduce((a, b) => a * b, 1));
  });
  const lives = lifetimes(
    bufferOf[draft.input],
    draft.ops.map((op) => opRefs(op).map((ref) => bufferOf[ref])),
    draft.outputs.map((v) => bufferOf[v]),
  );
  const start = size.map((_, b) => lives.get(b)?.first ?? Infinity);
  const end = size.map((_, b) => lives.get(b)?.last ?? -Infinity);
  return { bufferOf, size, start, end };
}

export interface Lifetime {
  /** the first op index that touches it (-1: the input, live before the first op) */
  readonly first: number;
  /** the last op index that touches it (Infinity: an output, live to the end) */
  readonly last: number;
}

/** When each key (a buffer, a slot) is live, given the keys each op touches: the one liveness rule. */
export function lifetimes<K>(input: K, touched: readonly (readonly K[])[], outputs: readonly K[]): Map<K, Lifetime> {
  const lives = new Map<K, { first: number; last: number }>();
  const touch = (key: K, i: number) => {
    const life = lives.get(key);
    if (life) life.last = Math.max(life.last, i);
    else lives.set(key, { first: i, last: i });
  };
  touch(input, -1);
  touched.forEach((keys, i) => keys.forEach((key) => touch(key, i)));
  for (const key of outputs) touch(key, Infinity);
  return lives;
}

/**
 * One buffer per surviving value in id order, shared down flatten aliases and by channel views
 * with their base (so any view being live keeps the whole base alive).
 */
function assignBuffers(draft: Draft): number[] {
  const bufferOf = new Array<number>(draft.values.length).fill(-1);
  let count = 0;
  draft.values.forEach((v, id) => {
    if (v && v.aliasOf === undefined && !v.viewOf) bufferOf[id] = count++;
  });
  draft.values.forEach((v, id) => {
    if (v?.viewOf) bufferOf[id] = bufferOf[v.viewOf.base];
    else if (v?.aliasOf !== undefined) bufferOf[id] = bufferOf[v.aliasOf];
  });
  return bufferOf;
}
