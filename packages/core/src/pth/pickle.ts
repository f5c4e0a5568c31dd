// A restricted pickle interpreter: the opcodes a PyTorch state dict uses, and only the globals
// the caller whitelists. It never imports or calls anything else; any other global is refused
// by name before it could be used.
import { UnsafeCheckpointError, WeightsError } from '../errors.js';

/** A whitelisted global, as the pickle named it (`module.name`). */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

export interface UnpickleOptions {
  /** globals that may appear, by `module.name`; a function is what REDUCE calls, `null` a type marker */
  readonly globals: ReadonlyMap<string, ((args: unknown[]) => unknown) | null>;
  /** resolves a persistent id (torch's storages) */
  persistentLoad?(pid: unknown): unknown;
  /** where the pickle is, for messages */
  readonly what: string;
}

/** Runs one pickle starting at `offset`; returns its value and the offset after STOP. */
export function unpickle(bytes: Uint8Array, offset: number, options: UnpickleOptions): { value: unknown; end: number } {
  const m = new PickleMachine(bytes, offset, options);
  for (;;) {
    const op = m.u8();
    if (op === STOP) return { value: m.pop(), end: m.p };
    const run = OPCODES[op];
    if (!run) return m.fail(`opcode 0x${op.toString(16).padStart(2, '0')} ('${String.fromCharCode(op)}') is not one a state dict uses`);
    run(m, op);
  }
}

const STOP = 0x2e;

/** The interpreter state: a cursor over the bytes, the stack, its marks and the memo. */
class PickleMachine {
  readonly stack: unknown[] = [];
  readonly marks: number[] = [];
  readonly memo = new Map<number, unknown>();
  readonly latin1 = new TextDecoder('latin1');
  readonly utf8 = new TextDecoder('utf-8', { fatal: false });
  readonly view: DataView;
  p: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly offset: number,
    readonly options: UnpickleOptions,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.p = offset;
  }

  fail(message: string): never {
    throw new WeightsError(`${this.options.what}: ${message} (pickle byte ${this.p - this.offset})`);
  }

  // --- reading the byte stream; every read checks its length first
  need(n: number): void {
    if (this.p + n > this.bytes.length) {
      this.fail(`truncated: needs ${n} more byte(s), the data ends at byte ${this.bytes.length - this.offset}`);
    }
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.p++];
  }
  u16(): number {
    this.need(2);
    this.p += 2;
    return this.view.getUint16(this.p - 2, true);
  }
  u32(): number {
    this.need(4);
    this.p += 4;
    return this.view.getUint32(this.p - 4, true);
  }
  i32(): number {
    this.need(4);
    this.p += 4;
    return this.view.getInt32(this.p - 4, true);
  }
  /** an 8-byte length, refused before anything is allocated if it exceeds the data */
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.p, true);
    this.p += 8;
    if (v > BigInt(this.bytes.length)) this.fail(`length ${v} is larger than the data`);
    return Number(v);
  }
  f64be(): number {
    this.need(8);
    this.p += 8;
    return this.view.getFloat64(this.p - 8, false);
  }
  take(n: number): Uint8Array {
    this.need(n);
    this.p += n;
    return this.bytes.subarray(this.p - n, this.p);
  }
  line(): string {
    const end = this.bytes.indexOf(0x0a, this.p);
    if (end < 0) this.fail('unterminated text line');
    const s = this.latin1.decode(this.bytes.subarray(this.p, end));
    this.p = end + 1;
    return s;
  }

  // --- the stack
  push(v: unknown): void {
    this.stack.push(v);
  }
  pop(): unknown {
    return this.stack.length === 0 ? this.fail('stack underflow') : this.stack.pop();
  }
  top(): unknown {
    return this.stack.length === 0 ? this.fail('stack underflow') : this.stack[this.stack.length - 1];
  }
  popMark(): unknown[] {
    const m = this.marks.pop();
    if (m === undefined) return this.fail('MARK expected');
    return this.stack.splice(m);
  }
  memoGet(k: number): unknown {
    if (!this.memo.has(k)) this.fail(`memo entry ${k} was never stored`);
    return this.memo.get(k);
  }

  // --- objects: the only place a global is named or called
  resolveGlobal(module: unknown, name: unknown): PickleGlobal {
    if (typeof module !== 'string' || typeof name !== 'string') return this.fail('STACK_GLOBAL needs two strings');
    const key = `${module}.${name}`;
    if (!this.options.globals.has(key)) throw new UnsafeCheckpointError(key, this.options.what);
    return new PickleGlobal(module, name);
  }
  call(callable: unknown, args: unknown): unknown {
    if (!(callable instanceof PickleGlobal)) return this.fail(`REDUCE on a ${describe(callable)}, expected a whitelisted global`);
    const fn = this.options.globals.get(callable.qualifiedName);
    if (!fn) return this.fail(`${callable.qualifiedName} is a type marker, it cannot be called`);
    if (!Array.isArray(args)) return this.fail(`REDUCE arguments must be a tuple, got ${describe(args)}`);
    return fn(args);
  }
  setItems(dict: unknown, items: unknown[]): void {
    if (!(dict instanceof Map)) return this.fail(`SETITEM on a ${describe(dict)}, expected a dict`);
    for (let i = 0; i + 1 < items.length; i += 2) dict.set(items[i], items[i + 1]);
  }
  appendTo(opName: string, list: unknown, items: unknown[]): void {
    if (!Array.isArray(list)) return this.fail(`${opName} on a ${describe(list)}`);
    list.push(...items);
  }
  persistent(pid: unknown): unknown {
    if (!this.options.persistentLoad) return this.fail('a persistent id appears where none is expected');
    return this.options.persistentLoad(pid);
  }
}

type Opcode = (m: PickleMachine, op: number) => void;

const framingOps: Record<number, Opcode> = {
  [0x80]: (m) => {
    // PROTO
    if (m.u8() > 5) m.fail(`pickle protocol ${m.bytes[m.p - 1]} is newer than 5`);
  },
  [0x95]: (m) => void m.take(8), // FRAME: a length hint only
  [0x28]: (m) => void m.marks.push(m.stack.length), // MARK
};

const containerOps: Record<number, Opcode> = {
  [0x7d]: (m) => m.push(new Map()), // EMPTY_DICT
  [0x5d]: (m) => m.push([]), // EMPTY_LIST
  [0x29]: (m) => m.push([]), // EMPTY_TUPLE
  [0x74]: (m) => m.push(m.popMark()), // TUPLE
  [0x6c]: (m) => m.push(m.popMark()), // LIST
  [0x85]: (m) => m.push([m.pop()]), // TUPLE1
  [0x86]: (m) => m.push(popN(m, 2)), // TUPLE2
  [0x87]: (m) => m.push(popN(m, 3)), // TUPLE3
  [0x64]: (m) => {
    // DICT
    const d = new Map();
    m.setItems(d, m.popMark());
    m.push(d);
  },
};

const memoOps: Record<number, Opcode> = {
  [0x71]: (m) => void m.memo.set(m.u8(), m.top()), // BINPUT
  [0x72]: (m) => void m.memo.set(m.u32(), m.top()), // LONG_BINPUT
  [0x94]: (m) => void m.memo.set(m.memo.size, m.top()), // MEMOIZE
  [0x68]: (m) => m.push(m.memoGet(m.u8())), // BINGET
  [0x6a]: (m) => m.push(m.memoGet(m.u32())), // LONG_BINGET
};

const scalarOps: Record<number, Opcode> = {
  [0x58]: (m) => m.push(m.utf8.decode(m.take(m.u32()))), // BINUNICODE
  [0x8c]: (m) => m.push(m.utf8.decode(m.take(m.u8()))), // SHORT_BINUNICODE
  [0x8d]: (m) => m.push(m.utf8.decode(m.take(m.u64()))), // BINUNICODE8
  [0x55]: (m) => m.push(m.latin1.decode(m.take(m.u8()))), // SHORT_BINSTRING (Python 2 str)
  [0x54]: (m) => m.push(m.latin1.decode(m.take(m.u32()))), // BINSTRING
  [0x43]: (m) => m.push(m.take(m.u8())), // SHORT_BINBYTES
  [0x42]: (m) => m.push(m.take(m.u32())), // BINBYTES
  [0x8e]: (m) => m.push(m.take(m.u64())), // BINBYTES8
  [0x4a]: (m) => m.push(m.i32()), // BININT
  [0x4b]: (m) => m.push(m.u8()), // BININT1
  [0x4d]: (m) => m.push(m.u16()), // BININT2
  [0x8a]: (m) => m.push(littleEndianLong(m.take(m.u8()))), // LONG1
  [0x8b]: (m) => {
    // LONG4
    const n = m.i32();
    if (n < 0 || n > 64) m.fail(`LONG4 of ${n} bytes is not a number a state dict holds`);
    m.push(littleEndianLong(m.take(n)));
  },
  [0x47]: (m) => m.push(m.f64be()), // BINFLOAT (big-endian)
  [0x4e]: (m) => m.push(null), // NONE
  [0x88]: (m) => m.push(true), // NEWTRUE
  [0x89]: (m) => m.push(false), // NEWFALSE
};

const objectOps: Record<number, Opcode> = {
  [0x63]: (m) => {
    // GLOBAL
    const module = m.line();
    m.push(m.resolveGlobal(module, m.line()));
  },
  [0x93]: (m) => {
    // STACK_GLOBAL
    const [module, name] = popN(m, 2);
    m.push(m.resolveGlobal(module, name));
  },
  [0x52]: reduce, // REDUCE
  [0x81]: reduce, // NEWOBJ: cls.__new__(cls, *args), only for whitelisted globals
  [0x62]: (m) => {
    // BUILD: object state; a dict's state (OrderedDict's _metadata) is not part of the weights
    const state = m.pop();
    const obj = m.top();
    if (!(obj instanceof Map) && !(obj !== null && typeof obj === 'object' && 'torchTensor' in obj)) {
      m.fail(`BUILD on a ${describe(obj)} with state ${describe(state)}`);
    }
  },
  [0x73]: (m) => {
    // SETITEM
    const kv = popN(m, 2);
    m.setItems(m.top(), kv);
  },
  [0x75]: (m) => {
    // SETITEMS
    const items = m.popMark();
    m.setItems(m.top(), items);
  },
  [0x61]: (m) => {
    // APPEND
    const v = m.pop();
    m.appendTo('APPEND', m.top(), [v]);
  },
  [0x65]: (m) => {
    // APPENDS
    const items = m.popMark();
    m.appendTo('APPENDS', m.top(), items);
  },
  [0x51]: (m) => m.push(m.persistent(m.pop())), // BINPERSID
  [0x50]: (m) => m.push(m.persistent(m.line())), // PERSID
};

/** Every opcode a state dict uses, besides STOP; anything else is refused by the loop. */
const OPCODES: Readonly<Record<number, Opcode | undefined>> = { ...framingOps, ...containerOps, ...memoOps, ...scalarOps, ...objectOps };

function reduce(m: PickleMachine): void {
  const args = m.pop();
  m.push(m.call(m.pop(), args));
}

/** Pops `n` values, returned in the order they were pushed. */
function popN(m: PickleMachine, n: number): unknown[] {
  const out = new Array<unknown>(n);
  for (let i = n - 1; i >= 0; i--) out[i] = m.pop();
  return out;
}

/** A two's-complement little-endian integer (LONG1/LONG4), as a number when it is safe. */
function littleEndianLong(raw: Uint8Array): number | bigint {
  let v = 0n;
  for (let i = raw.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i]);
  if (raw.length > 0 && raw[raw.length - 1] & 0x80) v -= 1n << BigInt(raw.length * 8);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PickleGlobal) return v.qualifiedName;
  if (v instanceof Map) return 'dict';
  if (Array.isArray(v)) return 'tuple/list';
  if (v instanceof Uint8Array) return 'bytes';
  return typeof v;
}
