// Seeded generators of valid .safetensors and .npy files and of their mutations (byte-level and
// structural), shared by the property tests in pnpm test and the long campaign (campaign.mjs).
// Every case is a pure function of its seed, so any failure replays from the seed alone.

/** mulberry32: a small, well-mixed 32-bit generator; enough for choosing mutations. */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return {
    int,
    range: (lo, hi) => lo + int(hi - lo + 1),
    pick: (xs) => xs[int(xs.length)],
    chance: (p) => next() < p,
    bytes: (n) => Uint8Array.from({ length: n }, () => int(256)),
  };
}

const enc = new TextEncoder();
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
const splice = (bytes, at, remove, insert = new Uint8Array(0)) => concat(bytes.subarray(0, at), insert, bytes.subarray(at + remove));

/** Random element bytes, biased towards special float patterns (NaN, inf, denormals, -0). */
function elementBytes(r, count, size) {
  const out = r.bytes(count * size);
  if (size >= 2 && r.chance(0.3)) {
    for (let i = 0; i < count; i++) {
      if (!r.chance(0.2)) continue;
      const hi = i * size + size - 1; // little-endian: top byte last
      out[hi] = r.pick([0x7f, 0xff, 0x00, 0x80]);
      out[hi - 1] = r.pick([0xf0, 0x80, 0xc0, 0x00, 0x7f]);
    }
  }
  return out;
}

// ---------------------------------------------------------------- safetensors

const ST_KEYS = ['a', 'b.weight', 'layer1.0.conv1.weight', 'fc.bias', '__proto__', 'toString', 'constructor', 'ключ', 'k"q', 'tab\tkey', 'z', ''];
const ST_DTYPES = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8 };

/** A JSON text the serializer inserts as is (for spellings JSON.stringify never writes). */
class Raw {
  constructor(text) {
    this.text = text;
  }
}

const json = (v) => (v instanceof Raw ? v.text : Array.isArray(v) ? `[${v.map(json).join(',')}]` : v !== null && typeof v === 'object' ? `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${json(x)}`).join(',')}}` : JSON.stringify(v));

/** The header as ordered [key, value] pairs (so '__proto__' and duplicates survive) to text. */
const headerText = (pairs) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${json(v)}`).join(',')}}`;

function stFile(pairs, data, pad, prefix = new Uint8Array(0)) {
  const text = concat(prefix, enc.encode(headerText(pairs) + ' '.repeat(pad)));
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(text.length), true);
  return concat(len, text, data);
}

/** A valid file: tensors laid out contiguously in a random order, header keys in another. */
export function validSafetensors(r) {
  const count = r.int(5);
  const keys = [...new Set(Array.from({ length: count }, () => r.pick(ST_KEYS)))];
  const tensors = keys.map((key) => {
    const dtype = r.pick(Object.keys(ST_DTYPES));
    const shape = Array.from({ length: r.int(4) }, () => (r.chance(0.1) ? 0 : r.range(1, 4)));
    const n = shape.reduce((a, b) => a * b, 1);
    return { key, dtype, shape, data: elementBytes(r, n, ST_DTYPES[dtype]) };
  });
  const layout = [...tensors].sort(() => r.int(3) - 1);
  let offset = 0;
  for (const t of layout) {
    t.offsets = [offset, offset + t.data.length];
    offset += t.data.length;
  }
  const pairs = tensors.map((t) => [t.key, { dtype: t.dtype, shape: t.shape, data_offsets: t.offsets }]);
  if (r.chance(0.5)) pairs.splice(r.int(pairs.length + 1), 0, ['__metadata__', r.chance(0.8) ? { format: 'pt', [r.pick(ST_KEYS)]: 'x' } : null]);
  const model = { pairs, data: concat(...layout.map((t) => t.data)), pad: r.int(9) };
  return { model, bytes: stFile(model.pairs, model.data, model.pad) };
}

const deepArray = (depth) => new Raw('['.repeat(depth) + ']'.repeat(depth));

/** One structural change to the header model, re-serialized with a correct length field. */
function mutateSafetensorsModel(r, model) {
  const pairs = model.pairs.map(([k, v]) => [k, v && typeof v === 'object' && !(v instanceof Raw) ? { ...v } : v]);
  let data = model.data;
  let prefix = new Uint8Array(0);
  const tensorIdx = pairs.map((p, i) => (p[0] === '__metadata__' ? -1 : i)).filter((i) => i >= 0);
  const entry = tensorIdx.length > 0 ? pairs[r.pick(tensorIdx)][1] : undefined;
  const ops = [
    ['offset', () => entry && (entry.data_offsets = entry.data_offsets.map((o, i) => (i === r.int(2) ? Math.max(0, o + r.range(-9, 9)) : o)))],
    ['offsets-swap', () => entry && (entry.data_offsets = [...entry.data_offsets].reverse())],
    ['offsets-form', () => entry && (entry.data_offsets = r.pick([new Raw('[0]'), new Raw('[0,4,8]'), new Raw('[0.0,4]'), new Raw('[0,4e0]'), new Raw('[-0,4]'), new Raw('"0,4"'), new Raw('[0,9007199254740993]'), new Raw('[true,4]')]))],
    ['dtype', () => entry && (entry.dtype = r.pick(['toString', '__proto__', 'constructor', 'valueOf', 'F32', 'F16', 'BF16', 'F64', 'I64', 'I8', 'U8', 'BOOL', 'F4', 'C64', 'Q4', 'f32', '']))],
    ['dtype-form', () => entry && (entry.dtype = r.pick([new Raw('1'), new Raw('null'), new Raw('["F32"]'), new Raw('"F\\u00332"')]))],
    ['shape', () => entry && (entry.shape = r.pick([[...entry.shape, 1], entry.shape.slice(1), [...entry.shape, 0], entry.shape.map((d) => d + 1), [2 ** 40, 2 ** 40], [0, 2 ** 53], new Array(20).fill(1)]))],
    ['shape-form', () => entry && (entry.shape = r.pick([new Raw('[1.0]'), new Raw('[-1]'), new Raw('[1e0]'), new Raw('[true]'), new Raw('[[1]]'), new Raw('{}'), new Raw('"4"'), deepArray(r.pick([20, 3000]))]))],
    ['unknown-field', () => entry && (entry[r.pick(['extra', 'offset', 'Dtype'])] = 1)],
    ['missing-field', () => entry && delete entry[r.pick(['dtype', 'shape', 'data_offsets'])]],
    ['duplicate-key', () => tensorIdx.length > 0 && pairs.splice(r.int(pairs.length + 1), 0, pairs[r.pick(tensorIdx)])],
    ['remove-tensor', () => tensorIdx.length > 0 && pairs.splice(r.pick(tensorIdx), 1)],
    ['zero-length', () => pairs.splice(r.int(pairs.length + 1), 0, [`zero${r.int(3)}`, { dtype: r.pick(['F32', 'F16']), shape: [r.pick([0, 2]), 0], data_offsets: [r.pick([0, data.length, r.int(data.length + 1)]), 0].map((o, i, a) => (i === 1 ? a[0] : o)) }])],
    ['metadata', () => pairs.unshift(['__metadata__', r.pick([{ format: 1 }, { format: null }, [], 'pt', { a: { b: 'c' } }, { '': '' }, deepArray(r.pick([10, 40]))])])],
    ['deep-nesting', () => pairs.push(['deep', deepArray(r.pick([17, 100, 100_000]))])],
    ['trailing-data', () => (data = concat(data, r.bytes(r.range(1, 9))))],
    ['hole-before', () => {
      data = concat(r.bytes(4), data);
      for (const i of tensorIdx) pairs[i][1].data_offsets = pairs[i][1].data_offsets.map((o) => o + 4);
    }],
    ['not-object', () => pairs.splice(0, pairs.length)],
    ['bom', () => (prefix = new Uint8Array([0xef, 0xbb, 0xbf]))],
    ['leading-space', () => (prefix = enc.encode(r.pick([' ', '\n', '\t'])))],
  ];
  const [name, apply] = r.pick(ops);
  apply();
  let bytes = stFile(pairs, data, model.pad, prefix);
  if (name === 'not-object') {
    const text = enc.encode(r.pick(['[]', '"x"', '1', 'null', '']));
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(text.length), true);
    bytes = concat(len, text, data);
  }
  return { mutation: `json:${name}`, bytes };
}

/**
 * The byte-level mutations every format shares, as [name, apply] pairs: `header` (bit flips
 * anywhere, then one header byte replaced, inserted or deleted, drawn from the format's
 * syntax bytes or any byte) and `ends` (truncation, appended bytes). The header spans
 * [start, start + length).
 */
function byteMutations(r, bytes, start, length, { replace, insert }) {
  const inHeader = () => start + r.int(Math.max(1, length));
  const header = [
    ['flip', () => {
      const out = bytes.slice();
      for (let i = r.range(1, 3); i > 0 && out.length > 0; i--) out[r.int(out.length)] ^= 1 << r.int(8);
      return out;
    }],
    ['flip-header', () => {
      const out = bytes.slice();
      out[inHeader()] = r.pick([...replace, r.int(256)]);
      return out;
    }],
    ['insert-header', () => splice(bytes, inHeader(), 0, new Uint8Array([r.pick([...insert, r.int(256)])]))],
    ['delete-header', () => splice(bytes, inHeader(), 1)],
  ];
  const ends = [
    ['truncate', () => bytes.slice(0, r.int(bytes.length))],
    ['append', () => concat(bytes, r.bytes(r.range(1, 16)))],
  ];
  return { header, ends };
}

/** A byte-level or structural mutation of a valid file. */
export function mutateSafetensors(r, valid) {
  const { model, bytes } = valid;
  const headerLength = bytes.length - 8 - model.data.length;
  const { header, ends } = byteMutations(r, bytes, 8, headerLength, {
    replace: [0x22, 0x5b, 0x5d, 0x7b, 0x7d, 0x2c, 0x3a, 0x30, 0x39, 0x20, 0x00, 0xff],
    insert: [0x20, 0x30, 0x22, 0x2c],
  });
  const ops = [
    ...header,
    ['length-field', () => {
      const out = bytes.slice();
      const v = new DataView(out.buffer);
      const k = r.pick([-9, -8, -3, -2, -1, 1, 2, 3, 8, 9, 2 ** 20]);
      v.setBigUint64(0, BigInt(Math.max(0, headerLength + k)), true);
      if (r.chance(0.1)) v.setBigUint64(0, r.pick([2n ** 64n - 1n, 2n ** 53n, 2n ** 32n, 100_000_001n]), true);
      return out;
    }],
    ...ends,
  ];
  if (r.chance(0.5)) return mutateSafetensorsModel(r, model);
  const [name, apply] = r.pick(ops);
  return { mutation: name, bytes: apply() };
}

// ---------------------------------------------------------------- npy

const NPY_DESCRS = { '<f4': 4, '<f8': 8, '>f4': 4, '>f8': 8, '<f2': 2, '|u1': 1, '<i4': 4, '|b1': 1, '<i8': 8, '>i2': 2 };

function npyFile(headerText, data, version = 1, pad = true) {
  let text = headerText;
  const pre = version === 1 ? 10 : 12;
  if (pad) {
    const total = pre + enc.encode(text).length + 1;
    text += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  }
  const h = version === 3 ? enc.encode(text) : Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
  const out = new Uint8Array(pre + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const v = new DataView(out.buffer);
  if (version === 1) v.setUint16(8, h.length & 0xffff, true);
  else v.setUint32(8, h.length, true);
  out.set(h, pre);
  out.set(data, pre + h.length);
  return out;
}

const pyStr = (s, q) => q + s + q;
const pyShape = (shape) => (shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`);

/** A valid file in numpy's spelling or a legal variation of it (quotes, spacing, key order). */
export function validNpy(r) {
  const descr = r.chance(0.85) ? r.pick(['<f4', '<f8', '>f4', '>f8', '<f2', '|u1']) : r.pick(Object.keys(NPY_DESCRS));
  const fortran = r.chance(0.2);
  const shape = Array.from({ length: r.int(5) }, () => (r.chance(0.08) ? 0 : r.range(1, 4)));
  const q = r.chance(0.8) ? "'" : '"';
  const sp = r.pick([' ', '', '  ']);
  const fields = [
    [pyStr('descr', q), pyStr(descr, q)],
    [pyStr('fortran_order', q), fortran ? 'True' : 'False'],
    [pyStr('shape', q), pyShape(shape)],
  ];
  if (r.chance(0.3)) fields.sort(() => r.int(3) - 1);
  const header = `{${fields.map(([k, v]) => `${k}:${sp}${v}`).join(`,${sp}`)}${r.chance(0.5) ? ', ' : ''}}`;
  const model = { descr, fortran, shape, fields, q, sp, version: r.pick([1, 1, 1, 2, 3]) };
  const n = shape.reduce((a, b) => a * b, 1);
  model.data = elementBytes(r, n, NPY_DESCRS[descr]);
  return { model, bytes: npyFile(header, model.data, model.version) };
}

function mutateNpyModel(r, model) {
  let fields = model.fields.map((f) => [...f]);
  let data = model.data;
  let version = model.version;
  const set = (k, v) => {
    const f = fields.find((x) => x[0].slice(1, -1) === k);
    if (f) f[1] = v;
  };
  const ops = [
    ['duplicate-key', () => fields.push([...r.pick(fields).slice(0, 1), r.pick(["'<f8'", '(1,)', '(2, 2)', 'True', "'|u1'"])])],
    ['extra-key', () => fields.push([r.pick(["'x'", "'descr '", "'Descr'"]), r.pick(["\"'descr': '<f4'\"", '1', "'shape': (9,)"])])],
    ['descr-in-string', () => fields.splice(r.int(fields.length + 1), 0, ["'note'", `"'descr': '<f8', 'shape': (1,)"`])],
    ['missing-key', () => fields.splice(r.int(fields.length), 1)],
    ['descr', () => set('descr', r.pick(["'<f4 '", "'f4'", "'=f4'", "'|f4'", "'<F4'", "'<f16'", "'float32'", "'<U3'", "'|S4'", "'<c8'", "'|O'", "[('a', '<f4')]", "'>u1'", "'<u1'", "b'<f4'", "'<f4\\x00'", "'<\\u0066\\u0034'", "'<f'", '1', 'None']))],
    ['fortran', () => set('fortran_order', r.pick(['True', 'False', '1', '0', 'None', "'False'", 'true', 'Truee']))],
    ['shape', () => set('shape', r.pick(['(3)', '[3]', '(-1,)', '(True,)', '(False, 2)', '(0x3,)', '(3.0,)', '(1_0,)', '( 3 , )', '()', '(03,)', '(00,)', '(1099511627776,)', '(99999999999999999999,)', '(+2,)', '(- 2,)', '((2,),)', '(2,,)', '(,)', '(2 3)', '((((((((((((((((((((1,),),),),),),),),),),),),),),),),),),),)', '(' .repeat(3000) + ')'.repeat(3000), '{}', "('2',)", '(None,)']))],
    ['not-dict', () => (fields = null)],
    ['trailing', () => fields.push(null)],
    ['comment', () => set('shape', `${pyShape(model.shape)} # note`)],
    ['escape', () => set('descr', r.pick(["'\\x3cf4'", "'\\<f4'", "'<f4\\'", '"<f4\'', "'<f4\"", "u'<f4'", "r'<f4'"]))],
    ['non-ascii', () => set('descr', r.pick(["'<f4é'", "'<ф4'"]))],
    ['data-length', () => (data = r.chance(0.5) ? data.subarray(0, Math.max(0, data.length - r.range(1, 4))) : concat(data, r.bytes(r.range(1, 8))))],
    ['version', () => (version = r.pick([0, 1, 2, 3, 4, 255]))],
  ];
  const [name, apply] = r.pick(ops);
  apply();
  let header;
  if (fields === null) header = r.pick(['[]', "('descr', '<f4')", "'x'", '', 'None']);
  else {
    const trailing = fields.some((f) => f === null);
    header = `{${fields.filter((f) => f !== null).map(([k, v]) => `${k}:${model.sp}${v}`).join(`,${model.sp}`)}}${trailing ? r.pick([' x', ' }', '\x00', '#', ' {}']) : ''}`;
  }
  return { mutation: `header:${name}`, bytes: npyFile(header, data, version === 0 || version > 3 ? 1 : version).map((b, i) => (i === 6 ? version : b)) };
}

export function mutateNpy(r, valid) {
  const { model, bytes } = valid;
  const pre = model.version === 1 ? 10 : 12;
  const headerLength = bytes.length - pre - model.data.length;
  const { header, ends } = byteMutations(r, bytes, pre, headerLength, {
    replace: [0x27, 0x22, 0x28, 0x29, 0x2c, 0x3a, 0x7b, 0x7d, 0x30, 0x39, 0x20, 0x0a, 0x00, 0xff],
    insert: [0x20, 0x30, 0x27, 0x2c],
  });
  const ops = [
    ...header,
    ['length-field', () => {
      const out = bytes.slice();
      const v = new DataView(out.buffer);
      const k = r.pick([-9, -3, -2, -1, 1, 2, 3, 9, 64]);
      if (model.version === 1) v.setUint16(8, Math.max(0, Math.min(65535, headerLength + k)), true);
      else v.setUint32(8, r.chance(0.1) ? 0xffffffff : Math.max(0, headerLength + k), true);
      return out;
    }],
    ...ends,
    ['magic', () => {
      const out = bytes.slice();
      out[r.int(8)] = r.int(256);
      return out;
    }],
  ];
  if (r.chance(0.5)) return mutateNpyModel(r, model);
  const [name, apply] = r.pick(ops);
  return { mutation: name, bytes: apply() };
}
