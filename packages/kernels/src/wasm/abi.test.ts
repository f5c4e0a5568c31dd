import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ACTIVATIONS } from '@cnn/core';
// @ts-expect-error: a plain .mjs build script without types
import { generate, RUST_PATH, TS_PATH } from '../../abi/generate.mjs';
// @ts-expect-error: a plain .mjs build script without types
import * as spec from '../../abi/spec.mjs';

describe('wasm ABI (generated from packages/kernels/abi/spec.mjs)', () => {
  it('abi.rs and abi.ts are current: regenerate with node packages/kernels/abi/generate.mjs', () => {
    const { rust, ts } = generate() as { rust: string; ts: string };
    expect(readFileSync(RUST_PATH, 'utf8')).toBe(rust);
    expect(readFileSync(TS_PATH, 'utf8')).toBe(ts);
  });

  it("activation codes are @cnn/core's ACTIVATIONS order", () => {
    expect(spec.ACTIVATIONS).toEqual([...ACTIVATIONS]);
  });

  it('every argument struct fits a descriptor, and op codes are distinct', () => {
    for (const fields of Object.values(spec.STRUCTS) as unknown[][]) expect(fields.length).toBeLessThanOrEqual(spec.DESC_WORDS - spec.ARGS_WORD);
    const codes = (spec.OPS as [string, number, string][]).map(([, code]) => code);
    expect(new Set(codes).size).toBe(codes.length);
  });
});
