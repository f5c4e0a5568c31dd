// Dispatch for the cnn command.
import { UsageError } from './registry.js';
import { trainCommand } from './train.js';
import { inputCommand, modelsCommand, parseArgs, runCommand, summaryCommand, weightsCommand, type Io } from './commands.js';

export const USAGE = `cnn: run classic CNNs with @cnn

  cnn models [--json]                       list every architecture and variant
  cnn summary <model> [--json] [--size H,W] layer table: output shapes, parameters, multiply-adds, receptive field
  cnn run <model> --weights W.safetensors --input X.npy --output Y.npy [--backend js|wasm] [--outputs NAME]
                                            float32 NCHW .npy in, float32 .npy out (logits [n, classes] by default)
  cnn generate-weights <model> --output W.safetensors [--seed N]
                                            the seeded test weights, written with torchvision keys
  cnn make-input <model> --output X.npy [--batch N] [--size H,W] [--seed N]
  cnn train lenet5 --dataset fashion-mnist [--epochs N] [--batch N] [--lr X] [--seed N] [--output DIR] [--resume] [--json]
                                            train with @cnn/train; cnn train --help for every option`;

/** Runs the command; returns the process exit code (0 ok, 1 failure, 2 usage). */
export async function main(argv: readonly string[], io: Io = { out: console.log, err: console.error }): Promise<number> {
  try {
    // train has its own node:util parser (boolean --resume, strict flags)
    if (argv[0] === 'train') return await trainCommand(io, argv.slice(1));
    const args = parseArgs(argv);
    const [command, ...rest] = args.positionals;
    const sub = { ...args, positionals: rest };
    switch (command) {
      case 'models':
        modelsCommand(io, sub);
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
