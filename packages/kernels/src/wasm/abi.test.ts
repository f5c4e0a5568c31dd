import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ACTIVATIONS } from '@cnn/core';
// @ts-expect-error: a plain .mjs build script without types
import { generate, parseFormula, print, RUST_PATH, TS_PATH } from '../../abi/generate.mjs';
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

  describe('formulas (one expression printed into both languages)', () => {
    const known = { values: new Set(['a', 'b', 'NR']), formulas: new Map([['twice', 1]]) };
    const both = (text: string) => {
      const tree = parseFormula('f', text, known);
      return [print(tree, 'rust'), print(tree, 'ts')];
    };

    it('keeps precedence and integer division in both languages', () => {
      expect(both('a - b / align_up(a, 4) * NR')).toEqual(['a - ((b / (a.div_ceil(4) * 4)) * NR)', 'a - (Math.floor(b / (Math.ceil(a / 4) * 4)) * NR)']);
      expect(both('if_zero(b, a, twice(b)) + ceil_div(a, 2)')).toEqual([
        '(if b == 0 { a } else { twice(b) }) + a.div_ceil(2)',
        '(b === 0 ? a : twice(b)) + Math.ceil(a / 2)',
      ]);
      expect(both('min(8, a)')).toEqual(['8usize.min(a)', 'Math.min(8, a)']);
    });

    it('refuses unknown names, unknown or later functions, wrong arity and stray tokens', () => {
      expect(() => parseFormula('f', 'a + c', known)).toThrow('formula f: unknown name "c"');
      expect(() => parseFormula('f', 'later(a)', known)).toThrow('unknown function "later"');
      expect(() => parseFormula('f', 'clamp(a, b)', known)).toThrow('clamp takes 3 arguments, got 2');
      expect(() => parseFormula('f', 'a b', known)).toThrow('unexpected "b"');
      expect(() => parseFormula('f', 'a % b', known)).toThrow('cannot read');
    });
  });
});
