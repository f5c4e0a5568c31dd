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
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const latin1 = new TextDecoder('latin1');
  const utf8 = new TextDecoder('utf-8', { fatal: false });
  let p = offset;
  const fail = (message: string): never => {
    throw new WeightsError(`${options.what}: ${message} (pickle byte ${p - offset})`);
  };
  const need = (n: number) => {
    if (p + n > bytes.length) fail(`truncated: needs ${n} more byte(s), the data ends at byte ${bytes.length - offset}`);
  };
  const u8 = () => (need(1), bytes[p++]);
  const u16 = () => (need(2), (p += 2), view.getUint16(p - 2, true));
  const u32 = () => (need(4), (p += 4), view.getUint32(p - 4, true));
  const i32 = () => (need(4), (p += 4), view.getInt32(p - 4, true));
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(p, true);
    p += 8;
    if (v > BigInt(bytes.length)) fail(`length ${v} is larger than the data`);
    return Number(v);
  };
  const take = (n: number) => (need(n), (p += n), bytes.subarray(p - n, p));
  const line = () => {
    const end = bytes.indexOf(0x0a, p);
    if (end < 0) fail('unterminated text line');
    const s = latin1.decode(bytes.subarray(p, end));
    p = end + 1;
    return s;
  };
  const pop = () => (stack.length === 0 ? fail('stack underflow') : stack.pop());
  const top = () => (stack.length === 0 ? fail('stack underflow') : stack[stack.length - 1]);
  const popMark = () => {
    const m = marks.pop();
    if (m === undefined) fail('MARK expected');
    return stack.splice(m as number);
  };
  const resolveGlobal = (module: string, name: string) => {
    const key = `${module}.${name}`;
    if (!options.globals.has(key)) throw new UnsafeCheckpointError(key, options.what);
    return new PickleGlobal(module, name);
  };
  const call = (callable: unknown, args: unknown) => {
    if (!(callable instanceof PickleGlobal)) fail(`REDUCE on a ${describe(callable)}, expected a whitelisted global`);
    const fn = options.globals.get((callable as PickleGlobal).qualifiedName);
    if (!fn) fail(`${(callable as PickleGlobal).qualifiedName} is a type marker, it cannot be called`);
    if (!Array.isArray(args)) fail(`REDUCE arguments must be a tuple, got ${describe(args)}`);
    return (fn as (a: unknown[]) => unknown)(args as unknown[]);
  };
  const setItems = (dict: unknown, items: unknown[]) => {
    if (!(dict instanceof Map)) fail(`SETITEM on a ${describe(dict)}, expected a dict`);
    for (let i = 0; i + 1 < items.length; i += 2) (dict as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const long = (raw: Uint8Array): number | bigint => {
    let v = 0n;
    for (let i = raw.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i]);
    if (raw.length > 0 && raw[raw.length - 1] & 0x80) v -= 1n << BigInt(raw.length * 8);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail(`pickle protocol ${bytes[p - 1]} is newer than 5`);
        break;
      case 0x95: // FRAME: a length hint only
        take(8);
        break;
      case 0x2e: // STOP
        return { value: pop(), end: p };
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: // TUPLE
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: {
        // DICT
        const d = new Map();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(`memo entry ${k} was never stored`);
        stack.push(memo.get(k));
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(utf8.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8.decode(take(u64())));
        break;
      case 0x55: // SHORT_BINSTRING (Python 2 str)
        stack.push(latin1.decode(take(u8())));
        break;
      case 0x54: // BINSTRING
        stack.push(latin1.decode(take(u32())));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()));
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()));
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(long(take(u8())));
        break;
      case 0x8b: {
        // LONG4
        const n = i32();
        if (n < 0 || n > 64) fail(`LONG4 of ${n} bytes is not a number a state dict holds`);
        stack.push(long(take(n)));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(view.getFloat64(p, false));
        p += 8;
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        stack.push(resolveGlobal(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x81: {
        // NEWOBJ: cls.__new__(cls, *args), only for whitelisted globals
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x62: {
        // BUILD: object state; a dict's state (OrderedDict's _metadata) is not part of the weights
        const state = pop();
        const obj = top();
        if (!(obj instanceof Map) && !(obj !== null && typeof obj === 'object' && 'torchTensor' in obj)) {
          fail(`BUILD on a ${describe(obj)} with state ${describe(state)}`);
        }
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const list = top();
        if (!Array.isArray(list)) fail(`APPEND on a ${describe(list)}`);
        (list as unknown[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail(`APPENDS on a ${describe(list)}`);
        (list as unknown[]).push(...items);
        break;
      }
      case 0x51: // BINPERSID
      case 0x50: {
        // PERSID
        const pid = op === 0x51 ? pop() : line();
        if (!options.persistentLoad) fail('a persistent id appears where none is expected');
        stack.push(options.persistentLoad!(pid));
        break;
      }
      default:
        fail(`opcode 0x${op.toString(16).padStart(2, '0')} ('${String.fromCharCode(op)}') is not one a state dict uses`);
    }
  }
}

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PickleGlobal) return v.qualifiedName;
  if (v instanceof Map) return 'dict';
  if (Array.isArray(v)) return 'tuple/list';
  if (v instanceof Uint8Array) return 'bytes';
  return typeof v;
}
