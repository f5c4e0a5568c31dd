// A parser for the small part of Python's literal grammar a .npy header uses (what numpy reads
// with ast.literal_eval): dicts with string keys, tuples, lists, strings, decimal integers,
// True, False and None. Anything else is refused rather than guessed at, duplicate dict keys
// included (Python would silently keep the last one), and nesting is bounded before each descent.

export type PyValue = null | boolean | number | string | PyTuple | PyValue[] | PyDict;
export type PyDict = Map<string, PyValue>;

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

export class PyLiteralError extends Error {
  override name = 'PyLiteralError';
  constructor(
    message: string,
    readonly offset: number,
    readonly depthExceeded = false,
  ) {
    super(`${message} at character ${offset}`);
  }
}

/** Parses one literal filling `text` (surrounding whitespace allowed). */
export function parsePyLiteral(text: string, maxDepth: number): PyValue {
  const p = new PyParser(text, maxDepth);
  p.skipSpace();
  const v = p.value(0);
  p.skipSpace();
  if (p.pos !== text.length) throw new PyLiteralError(`unexpected ${p.describe()} after the literal`, p.pos);
  return v;
}

/** Space, tab, form feed and newlines: what Python allows between tokens inside brackets. */
const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const ESCAPES: ReadonlyMap<string, string> = new Map([
  ['\\', '\\'], ["'", "'"], ['"', '"'], ['n', '\n'], ['t', '\t'], ['r', '\r'],
]);

class PyParser {
  pos = 0;
  constructor(
    readonly text: string,
    readonly maxDepth: number,
  ) {}

  describe(): string {
    return this.pos >= this.text.length ? 'end of header' : `character ${JSON.stringify(this.text[this.pos])}`;
  }

  skipSpace(): void {
    while (isSpace(this.text[this.pos])) this.pos++;
  }

  value(depth: number): PyValue {
    const c = this.text[this.pos];
    if (c === '{' || c === '(' || c === '[') {
      if (depth >= this.maxDepth) throw new PyLiteralError(`nesting deeper than ${this.maxDepth} levels`, this.pos, true);
      if (c === '{') return this.dict(depth + 1);
      return this.sequence(depth + 1, c === '(' ? ')' : ']');
    }
    if (c === "'" || c === '"') return this.string();
    if (c === '-' || c === '+' || isDigit(c)) return this.integer();
    for (const [word, v] of [['True', true], ['False', false], ['None', null]] as const) {
      if (this.text.startsWith(word, this.pos) && !/[A-Za-z0-9_]/.test(this.text[this.pos + word.length] ?? '')) {
        this.pos += word.length;
        return v;
      }
    }
    throw new PyLiteralError(`expected a literal (dict, tuple, list, string, integer, True, False or None), got ${this.describe()}`, this.pos);
  }

  private dict(depth: number): PyDict {
    const out: PyDict = new Map();
    this.pos++; // {
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === '}') {
        this.pos++;
        return out;
      }
      const keyAt = this.pos;
      const key = this.value(depth);
      if (typeof key !== 'string') throw new PyLiteralError('expected a string dict key', keyAt);
      if (out.has(key)) throw new PyLiteralError(`duplicate key '${key}'`, keyAt);
      this.skipSpace();
      if (this.text[this.pos] !== ':') throw new PyLiteralError(`expected ':', got ${this.describe()}`, this.pos);
      this.pos++;
      this.skipSpace();
      out.set(key, this.value(depth));
      this.skipSpace();
      const c = this.text[this.pos];
      if (c === ',') this.pos++;
      else if (c !== '}') throw new PyLiteralError(`expected ',' or '}', got ${this.describe()}`, this.pos);
    }
  }

  /** A list, a tuple, or a parenthesised value ('(3)' is 3, '(3,)' a tuple), as in Python. */
  private sequence(depth: number, close: ')' | ']'): PyValue {
    this.pos++;
    const items: PyValue[] = [];
    let sawComma = false;
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === close) {
        this.pos++;
        break;
      }
      items.push(this.value(depth));
      this.skipSpace();
      const c = this.text[this.pos];
      if (c === ',') {
        sawComma = true;
        this.pos++;
      } else if (c !== close) throw new PyLiteralError(`expected ',' or '${close}', got ${this.describe()}`, this.pos);
    }
    if (close === ']') return items;
    if (items.length === 1 && !sawComma) return items[0];
    return new PyTuple(items);
  }

  private integer(): number {
    const start = this.pos;
    if (this.text[this.pos] === '-' || this.text[this.pos] === '+') {
      this.pos++;
      this.skipSpace();
    }
    const digitsAt = this.pos;
    while (isDigit(this.text[this.pos])) this.pos++;
    const digits = this.text.slice(digitsAt, this.pos);
    if (digits.length === 0) throw new PyLiteralError('expected digits', this.pos);
    // Python 3 forbids leading zeros on nonzero decimals; hex, octal, underscores and floats are
    // valid Python but never written by numpy, so they are refused rather than interpreted
    if (/[A-Za-z0-9_.]/.test(this.text[this.pos] ?? '')) throw new PyLiteralError('only plain decimal integers are accepted', this.pos);
    if (digits.length > 1 && digits[0] === '0' && /[1-9]/.test(digits)) throw new PyLiteralError('leading zeros in a decimal integer', digitsAt);
    const value = Number(digits) * (this.text[start] === '-' ? -1 : 1);
    if (!Number.isSafeInteger(value)) throw new PyLiteralError(`integer ${this.text.slice(start, this.pos)} is too large`, start);
    return value === 0 ? 0 : value; // no -0
  }

  private string(): string {
    const quote = this.text[this.pos];
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined || c === '\n' || c === '\r') throw new PyLiteralError('unterminated string', this.pos);
      this.pos++;
      if (c === quote) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = ESCAPES.get(this.text[this.pos] ?? '');
      if (e === undefined) throw new PyLiteralError(`unsupported escape '\\${this.text[this.pos] ?? ''}'`, this.pos - 1);
      out += e;
      this.pos++;
    }
  }
}
