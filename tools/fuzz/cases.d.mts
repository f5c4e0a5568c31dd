// Types for cases.mjs (used from the TypeScript property tests).
export interface Rng {
  int(n: number): number;
  range(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
  bytes(n: number): Uint8Array;
}
export interface ValidCase {
  readonly model: unknown;
  readonly bytes: Uint8Array;
}
export interface MutatedCase {
  readonly mutation: string;
  readonly bytes: Uint8Array;
}
export function rng(seed: number): Rng;
export function validSafetensors(r: Rng): ValidCase;
export function mutateSafetensors(r: Rng, valid: ValidCase): MutatedCase;
export function validNpy(r: Rng): ValidCase;
export function mutateNpy(r: Rng, valid: ValidCase): MutatedCase;
