// cnn convert: any checkpoint we can read (.pth zip or legacy, .safetensors) to .safetensors with
// torchvision keys, in float32, float16 or int8 with per-output-channel scales.
import { parseArgs } from 'node:util';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { decodeWeights, encodeSafetensors, INT8_LAYOUT, type StorageDtype } from '@cnn/core';
import { UsageError } from './registry.js';
import type { Io } from './commands.js';

export const CONVERT_USAGE = `usage: cnn convert IN OUT [--dtype f32|f16|int8] [--json] [--no-crc]

  Reads IN (a PyTorch checkpoint: zip or legacy torch.save, nested under 'state_dict'/'model' and
  'module.'-prefixed ones included; or a .safetensors file) and writes OUT as .safetensors with
  the same torchvision keys.
    --dtype f32    float32 (default)
    --dtype f16    float16: half the size
    --dtype int8   convolution and linear weights as int8 with one float32 scale per output
                   channel (${INT8_LAYOUT}); other tensors float32
    --no-crc       skip the CRC-32 check of zip entries
    --json         print {input, output, inputFormat, dtype, tensors, inputBytes, outputBytes, notes}`;

const DTYPES: readonly StorageDtype[] = ['f32', 'f16', 'int8'];

export async function convertCommand(io: Io, argv: readonly string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { dtype: { type: 'string', default: 'f32' }, json: { type: 'boolean' }, 'no-crc': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    throw new UsageError(`cnn convert: ${(e as Error).message}\n\n${CONVERT_USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(CONVERT_USAGE);
    return;
  }
  if (positionals.length !== 2) throw new UsageError(`cnn convert: expected IN and OUT, got ${positionals.length} path(s)\n\n${CONVERT_USAGE}`);
  const dtype = values.dtype as StorageDtype;
  if (!DTYPES.includes(dtype)) throw new UsageError(`cnn convert: --dtype must be one of ${DTYPES.join(', ')}, got '${values.dtype}'`);
  const [input, output] = positionals;
  let inputBytes: number;
  try {
    inputBytes = (await stat(input)).size;
  } catch (e) {
    throw new Error(`cannot read '${input}': ${(e as Error).message}`);
  }
  // read from disk tensor by tensor while writing: memory is the output and one tensor
  const decoded = await decodeWeights(input, { verifyCrc: !values['no-crc'] });
  const out = encodeSafetensors(decoded, dtype, { format: 'pt', 'cnn.source-format': decoded.format });
  // write beside the target and rename, so a failed conversion never leaves a partial file
  const temp = `${output}.partial-${process.pid}`;
  try {
    await writeFile(temp, out);
    await rename(temp, output);
  } catch (e) {
    await rm(temp, { force: true });
    throw new Error(`cannot write '${output}': ${(e as Error).message}`);
  }
  const report = {
    input,
    output,
    inputFormat: decoded.format,
    dtype,
    tensors: decoded.tensors.size + decoded.integers.size,
    inputBytes,
    outputBytes: out.length,
    notes: decoded.notes,
  };
  if (values.json) return io.out(JSON.stringify(report, null, 2));
  for (const note of decoded.notes) io.out(`note: ${note}`);
  io.out(`${output}: ${report.tensors} tensors from ${decoded.format}, ${dtype}, ${inputBytes.toLocaleString('en-US')} -> ${out.length.toLocaleString('en-US')} bytes`);
}
