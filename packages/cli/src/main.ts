// Dispatch for the cnn command.
import { UsageError } from './registry.js';
import { classifyCommand } from './classify.js';
import { convertCommand } from './convert.js';
import { evaluateCommand } from './evaluate.js';
import { COMMAND_OPTIONS, inputCommand, modelsCommand, parseArgs, runCommand, summaryCommand, weightsCommand, type Io } from './commands.js';
import { trainCommand } from './train.js';
import { QUANTIZE_USAGE, quantizeCommand } from './quantize.js';

export const USAGE = `cnn: run classic CNNs with @cnn

  cnn models [MODEL...] [--json] [--bench [--runs N]]
                                            every architecture and variant (or the ones named); --bench: which
                                            backbone? parameters, multiply-adds, weights size (f32/f16/int8),
                                            torchvision top-1 and wasm latency on 1 thread here (generated weights,
                                            median of N runs, default 3); --json: the machine and every row
  cnn summary <model> [--json] [--size H,W] layer table: output shapes, parameters, multiply-adds, receptive field
  cnn run <model> --weights W.pth|W.safetensors --input X.npy --output Y.npy [--backend js|wasm|webgpu] [--outputs NAME]
                                            float32 NCHW .npy in, float32 .npy out (logits [n, classes] by default)
  cnn generate-weights <model> --output W.safetensors [--seed N]
                                            the seeded test weights, written with torchvision keys
  cnn make-input <model> --output X.npy [--batch N] [--size H,W] [--seed N]
  cnn classify <model> [--weights W.safetensors] <image...> [--top K] [--backend js|wasm] [--labels SET] [--json]
                                            top classes of PNG/JPEG images; lenet5 uses its shipped Fashion-MNIST weights (cnn classify --help)
  cnn evaluate lenet5 --dataset fashion-mnist [--weights W.safetensors] [--show N] [--limit N] [--backend js|wasm] [--json]
                                            predictions against true labels, and the accuracy on the whole test set with its time
  cnn quantize <model> --weights W --calibration DIR|X.npy --output W.int8.safetensors [--limit N] [--observer minmax|percentile] [--reduce-range] [--json]
                                            int8 weights and activation scales from calibration images (cnn quantize --help);
                                            run, classify and evaluate take the file as --weights
  cnn convert IN OUT [--dtype f32|f16|int8] [--json]
                                            a .pth (zip or legacy) or .safetensors checkpoint to .safetensors

  cnn train lenet5 --dataset fashion-mnist [--epochs N] [--batch N] [--lr X] [--seed N] [--output DIR] [--resume] [--json]
                                            train with @cnn/train; cnn train --help for every option`;

/** The lines of USAGE about one command, with the flags it takes. */
function commandHelp(command: string): string | undefined {
  const lines = USAGE.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`  cnn ${command} `) || l === `  cnn ${command}`);
  if (start < 0) return undefined;
  let end = start + 1;
  while (end < lines.length && /^ {20,}/.test(lines[end])) end++;
  const flags = Object.keys(COMMAND_OPTIONS[command] ?? {}).map((f) => `--${f}`);
  return `usage:\n${lines.slice(start, end).join('\n')}\n\nflags: ${[...flags, '--help'].join(', ')}\nexit codes: 0 ok, 1 the work failed, 2 usage`;
}

/**
 * Runs the command; returns the process exit code: 0 ok; 1 the work failed (unreadable or unsuitable
 * files or data, no device); 2 usage (unknown command, model, backend or flag; a missing or malformed flag).
 */
export async function main(argv: readonly string[], io: Io = { out: console.log, err: console.error }): Promise<number> {
  try {
    // convert parses its own flags strictly (node:util parseArgs)
    if (argv[0] === 'convert') {
      await convertCommand(io, argv.slice(1));
      return 0;
    }
    // train has its own node:util parser (boolean --resume, strict flags)
    if (argv[0] === 'train') return await trainCommand(io, argv.slice(1));
    const args = parseArgs(argv);
    const [command, ...rest] = args.positionals;
    const sub = { ...args, positionals: rest };
    if (command === 'quantize' && args.flags.has('help')) {
      io.out(`${QUANTIZE_USAGE}\n\nexit codes: 0 ok, 1 the work failed, 2 usage`);
      return 0;
    }
    if (command !== undefined && command !== 'help' && command !== 'classify' && command !== 'evaluate' && args.flags.has('help')) {
      const help = commandHelp(command);
      if (help !== undefined) {
        io.out(help);
        return 0;
      }
    }
    switch (command) {
      case 'models':
        await modelsCommand(io, sub);
        return 0;
      case 'summary':
        summaryCommand(io, sub);
        return 0;
      case 'run':
        await runCommand(io, sub);
        return 0;
      case 'generate-weights':
        await weightsCommand(io, sub);
        return 0;
      case 'make-input':
        await inputCommand(io, sub);
        return 0;
      case 'classify':
        await classifyCommand(io, sub);
        return 0;
      case 'evaluate':
        await evaluateCommand(io, sub);
        return 0;
      case 'quantize':
        await quantizeCommand(io, sub);
        return 0;
      case undefined:
      case 'help':
        io.out(USAGE);
        return command === undefined && !args.flags.has('help') ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'\n\n${USAGE}`);
    }
  } catch (e) {
    const err = e as Error;
    io.err(`cnn: ${err.message}`);
    return err instanceof UsageError ? 2 : 1;
  }
}
