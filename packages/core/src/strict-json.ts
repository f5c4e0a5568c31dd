// A strict RFC 8259 JSON parser for untrusted file headers: objects become Maps (so no key can
// reach Object.prototype), duplicate keys and lone surrogate escapes are errors, numbers keep
// whether they were written as integers, and nesting is bounded before each descent.

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

export interface JsonNumber {
  readonly kind: 'number';
  readonly value: number;
  /** written with digits only (an optional '-', no fraction or exponent) */
  readonly integer: boolean;
  readonly text: string;
}

export function isJsonNumber(v: JsonValue): v is JsonNumber {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map);
}

/** Thrown with the offset of the first offending character; callers wrap it in their error type. */
export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
  constructor(
    message: string,
    readonly offset: number,
    readonly depthExceeded = false,
  ) {
    super(`${message} at character ${offset}`);
  }
}

/** Parses one JSON value filling `text` (surrounding JSON whitespace allowed). */
export function parseStrictJson(text: string, maxDepth: number): JsonValue {
  const p = new Parser(text, maxDepth);
  p.skipWhitespace();
  const value = p.value(0);
  p.skipWhitespace();
  if (p.pos !== text.length) throw new JsonSyntaxError(`unexpected ${p.describe()} after the JSON value`, p.pos);
  return value;
}

/** the one-character escapes and what they stand for */
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const PLAIN_RUN = /[^"\\\u0000-\u001f]*/y;
const INTEGER = /-?(?:0|[1-9][0-9]*)/y;
const isWhitespace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

class Parser {
  pos = 0;
  constructor(
    readonly text: string,
    readonly maxDepth: number,
  ) {}

  describe(): string {
    if (this.pos >= this.text.length) return 'end of text';
    return `character ${JSON.stringify(this.text[this.pos])}`;
  }

  skipWhitespace(): void {
    while (this.pos < this.text.length && isWhitespace(this.text.charCodeAt(this.pos))) this.pos++;
  }

  value(depth: number): JsonValue {
    const c = this.text.charCodeAt(this.pos);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (depth >= this.maxDepth) throw new JsonSyntaxError(`nesting deeper than ${this.maxDepth} levels`, this.pos, true);
      return c === 0x7b ? this.object(depth + 1) : this.array(depth + 1);
    }
    if (c === 0x22 /* " */) return this.string();
    if (c === 0x2d /* - */ || isDigit(c)) return this.number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    throw new JsonSyntaxError(`expected a JSON value, got ${this.describe()}`, this.pos);
  }

  private expect(ch: string): void {
    if (this.text[this.pos] !== ch) throw new JsonSyntaxError(`expected '${ch}', got ${this.describe()}`, this.pos);
    this.pos++;
  }

  private object(depth: number): JsonObject {
    const out: JsonObject = new Map();
    this.pos++; // {
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') throw new JsonSyntaxError(`expected a string key, got ${this.describe()}`, this.pos);
      const keyAt = this.pos;
      const key = this.string();
      if (out.has(key)) throw new JsonSyntaxError(`duplicate key ${JSON.stringify(key)}`, keyAt);
      this.skipWhitespace();
      this.expect(':');
      this.skipWhitespace();
      out.set(key, this.value(depth));
      this.skipWhitespace();
      if (this.text[this.pos] === ',') {
        this.pos++;
        continue;
      }
      this.expect('}');
      return out;
    }
  }

  private array(depth: number): JsonValue[] {
    const out: JsonValue[] = [];
    this.pos++; // [
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      out.push(this.value(depth));
      this.skipWhitespace();
      if (this.text[this.pos] === ',') {
        this.pos++;
        continue;
      }
      this.expect(']');
      return out;
    }
  }

  private number(): JsonNumber {
    const start = this.pos;
    const t = this.text;
    // fast path: a plain integer (what shapes and offsets are), ended by a delimiter
    INTEGER.lastIndex = start;
    if (INTEGER.test(t)) {
      const next = t.charCodeAt(INTEGER.lastIndex);
      if (next !== 0x2e /* . */ && next !== 0x65 /* e */ && next !== 0x45 /* E */ && !isDigit(next)) {
        this.pos = INTEGER.lastIndex;
        const text = t.slice(start, this.pos);
        return { kind: 'number', value: Number(text), integer: true, text };
      }
    }
    let integer = true;
    if (t[this.pos] === '-') this.pos++;
    if (t[this.pos] === '0') this.pos++;
    else if (isDigit(t.charCodeAt(this.pos))) while (isDigit(t.charCodeAt(this.pos))) this.pos++;
    else throw new JsonSyntaxError('expected a digit', this.pos);
    if (t[this.pos] === '.') {
      integer = false;
      this.pos++;
      if (!isDigit(t.charCodeAt(this.pos))) throw new JsonSyntaxError('expected a digit after the decimal point', this.pos);
      while (isDigit(t.charCodeAt(this.pos))) this.pos++;
    }
    if (t[this.pos] === 'e' || t[this.pos] === 'E') {
      integer = false;
      this.pos++;
      if (t[this.pos] === '+' || t[this.pos] === '-') this.pos++;
      if (!isDigit(t.charCodeAt(this.pos))) throw new JsonSyntaxError('expected a digit in the exponent', this.pos);
      while (isDigit(t.charCodeAt(this.pos))) this.pos++;
    }
    const text = t.slice(start, this.pos);
    return { kind: 'number', value: Number(text), integer, text };
  }

  private string(): string {
    const t = this.text;
    this.pos++; // "
    // fast path: a run without escapes or control characters up to the closing quote
    PLAIN_RUN.lastIndex = this.pos;
    PLAIN_RUN.test(t);
    if (t.charCodeAt(PLAIN_RUN.lastIndex) === 0x22) {
      const plain = t.slice(this.pos, PLAIN_RUN.lastIndex);
      this.pos = PLAIN_RUN.lastIndex + 1;
      return plain;
    }
    let out = '';
    let runStart = this.pos;
    for (;;) {
      if (this.pos >= t.length) throw new JsonSyntaxError('unterminated string', this.pos);
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        out += t.slice(runStart, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) throw new JsonSyntaxError('unescaped control character in a string', this.pos);
      if (c !== 0x5c /* \ */) {
        this.pos++;
        continue;
      }
      out += t.slice(runStart, this.pos);
      out += this.escape();
      runStart = this.pos;
    }
  }

  /** One backslash escape at `pos`; moves past it. */
  private escape(): string {
    const e = this.text[this.pos + 1];
    this.pos += 2;
    if (e !== undefined && Object.hasOwn(SIMPLE_ESCAPES, e)) return SIMPLE_ESCAPES[e];
    if (e === 'u') return this.unicodeEscape();
    throw new JsonSyntaxError(`invalid escape '\\${e ?? ''}'`, this.pos - 1);
  }

  /** The four hex digits after `\u`: a BMP character, or with a second `\uXXXX` a surrogate pair. */
  private unicodeEscape(): string {
    const t = this.text;
    const unit = this.hex4();
    if (unit >= 0xdc00 && unit <= 0xdfff) throw new JsonSyntaxError('lone trailing surrogate in a \\u escape', this.pos);
    if (unit < 0xd800 || unit > 0xdbff) return String.fromCharCode(unit);
    // a high surrogate must be followed by an escaped low one (as serde_json requires)
    if (t[this.pos] !== '\\' || t[this.pos + 1] !== 'u') throw new JsonSyntaxError('lone leading surrogate in a \\u escape', this.pos);
    this.pos += 2;
    const low = this.hex4();
    if (low < 0xdc00 || low > 0xdfff) throw new JsonSyntaxError('lone leading surrogate in a \\u escape', this.pos);
    return String.fromCharCode(unit, low);
  }

  private hex4(): number {
    const h = this.text.slice(this.pos, this.pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) throw new JsonSyntaxError('expected 4 hex digits after \\u', this.pos);
    this.pos += 4;
    return parseInt(h, 16);
  }
}
