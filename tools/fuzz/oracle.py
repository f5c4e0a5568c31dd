#!/usr/bin/env python3
"""Independent oracles for the reader fuzz campaign: numpy's own np.load for .npy, and a strict
safetensors reader written here from the format's rules (those of the reference Rust crate,
safetensors/src/tensor.rs), since no safetensors package is installable on this machine.

Reads a batch from stdin: records of [u8 kind ('n' npy, 's' safetensors)][u32 le length][bytes].
Writes one JSON line per record: {"ok": true, ...decoded summary} or {"ok": false, "error": "..."}.
Decoded values are summarised as the SHA-256 of their float32 little-endian bytes in C order,
every NaN written as 0x7fc00000, so the two sides compare values bit for bit.
"""
import hashlib
import io
import json
import struct
import sys

import numpy as np

CANONICAL_NAN = np.frombuffer(struct.pack('<I', 0x7FC00000), dtype='<f4')[0]


def digest(values):
    a = np.ascontiguousarray(np.asarray(values, dtype='<f4')).copy()
    a[np.isnan(a)] = CANONICAL_NAN
    return hashlib.sha256(a.tobytes()).hexdigest()


def npy_oracle(data):
    # numpy's reader, as users call it; allow_pickle=False refuses object arrays
    a = np.load(io.BytesIO(data), allow_pickle=False)
    if a.dtype.fields is not None:
        raise ValueError('structured dtype')
    return {'shape': list(a.shape), 'descr': a.dtype.str, 'digest': digest(a)}


# The safetensors dtypes and their widths in bits (Dtype::bitsize in the crate).
BITS = {
    'BOOL': 8, 'U8': 8, 'I8': 8, 'F8_E5M2': 8, 'F8_E4M3': 8, 'F8_E8M0': 8, 'F4': 4, 'F6_E2M3': 6,
    'F6_E3M2': 6, 'I16': 16, 'U16': 16, 'F16': 16, 'BF16': 16, 'I32': 32, 'U32': 32, 'F32': 32,
    'C64': 64, 'F64': 64, 'I64': 64, 'U64': 64,
}
MAX_HEADER_SIZE = 100_000_000


class SafetensorsError(Exception):
    pass


def no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise SafetensorsError('duplicate key')
        out[k] = v
    return out


def reject_constant(name):
    raise SafetensorsError('non-JSON constant ' + name)


def is_usize(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def safetensors_oracle(buf):
    if len(buf) < 8:
        raise SafetensorsError('HeaderTooSmall')
    n = struct.unpack('<Q', buf[:8])[0]
    if n > MAX_HEADER_SIZE:
        raise SafetensorsError('HeaderTooLarge')
    if 8 + n > len(buf):
        raise SafetensorsError('InvalidHeaderLength')
    try:
        text = buf[8:8 + n].decode('utf-8')
    except UnicodeDecodeError:
        raise SafetensorsError('InvalidHeader')
    if not text.startswith('{'):
        raise SafetensorsError('InvalidHeaderStart')
    try:
        header = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=reject_constant)
    except (ValueError, RecursionError) as e:
        raise SafetensorsError('InvalidHeaderDeserialization: ' + type(e).__name__)
    if not isinstance(header, dict):
        raise SafetensorsError('InvalidHeaderDeserialization: not an object')
    metadata = header.pop('__metadata__', None)
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise SafetensorsError('InvalidHeaderDeserialization: metadata')
    infos = []
    for key, info in header.items():
        if not isinstance(info, dict) or not {'dtype', 'shape', 'data_offsets'} <= set(info):
            raise SafetensorsError('InvalidHeaderDeserialization: entry')
        dtype, shape, offsets = info['dtype'], info['shape'], info['data_offsets']
        if not isinstance(dtype, str) or dtype not in BITS:
            raise SafetensorsError('InvalidHeaderDeserialization: dtype')
        if not isinstance(shape, list) or not all(is_usize(d) for d in shape):
            raise SafetensorsError('InvalidHeaderDeserialization: shape')
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(is_usize(o) for o in offsets):
            raise SafetensorsError('InvalidHeaderDeserialization: offsets')
        infos.append((key, dtype, shape, offsets[0], offsets[1]))
    # Metadata::validate: sorted by offsets, each tensor starts where the last ended
    infos.sort(key=lambda t: (t[3], t[4]))
    start = 0
    for key, dtype, shape, s, e in infos:
        if s != start or e < s:
            raise SafetensorsError('InvalidOffset')
        start = e
        nelements = 1
        for d in shape:
            nelements *= d
        if nelements > 2 ** 64 - 1:
            raise SafetensorsError('ValidationOverflow')
        nbits = nelements * BITS[dtype]
        if nbits % 8 != 0:
            raise SafetensorsError('MisalignedSlice')
        if e - s != nbits // 8:
            raise SafetensorsError('TensorInvalidInfo')
    if start + 8 + n != len(buf):
        raise SafetensorsError('MetadataIncompleteBuffer')
    data = buf[8 + n:]
    tensors = {}
    for key, dtype, shape, s, e in infos:
        raw = data[s:e]
        if dtype == 'F32':
            values = np.frombuffer(raw, dtype='<f4')
        elif dtype == 'F64':
            values = np.frombuffer(raw, dtype='<f8')
        elif dtype == 'F16':
            values = np.frombuffer(raw, dtype='<f2')
        elif dtype == 'BF16':
            values = (np.frombuffer(raw, dtype='<u2').astype('<u4') << 16).view('<f4')
        else:
            tensors[key] = {'dtype': dtype, 'shape': shape}
            continue
        tensors[key] = {'dtype': dtype, 'shape': shape, 'digest': digest(values)}
    return {'tensors': tensors, 'metadata': metadata or {}}


def main():
    stream = sys.stdin.buffer
    out = sys.stdout
    while True:
        head = stream.read(5)
        if len(head) < 5:
            break
        kind = head[:1]
        length = struct.unpack('<I', head[1:])[0]
        data = stream.read(length)
        try:
            result = npy_oracle(data) if kind == b'n' else safetensors_oracle(data)
            result['ok'] = True
        except Exception as e:  # the oracle's verdict, whatever numpy raises
            result = {'ok': False, 'error': f'{type(e).__name__}: {str(e)[:120]}'}
        out.write(json.dumps(result) + '\n')
    out.flush()


if __name__ == '__main__':
    sys.setrecursionlimit(10_000)
    main()
