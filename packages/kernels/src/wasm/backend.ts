// The WebAssembly backend: lays out one wasm memory per executable as
// [packed weights | activation arena | scratch], packs every weight once at compile time,
// and runs a plan as a list of prepared kernel calls.
import {
  activationCode,
  ShapeError,
  type Backend,
  type Conv2dOp,
  type Executable,
  type ExecutionPlan,
  type PlanOp,
  type Slot,
} from '@cnn/core';
import { checkKernelModule, instantiateKernels, loadKernelModule, type KernelExports, type WasmSource } from './loader.js';

export interface WasmBackendOptions {
  /** The kernels binary: bytes, a URL, or a path/URL string. Defaults to the packaged file. */
  wasm?: WasmSource;
  /** An already compiled kernels module (takes precedence over `wasm`). */
  module?: WebAssembly.Module;
}

const BYTES_PER_FLOAT = 4;
/** Every region starts on a 64-byte boundary. */
const ALIGN_FLOATS = 16;
/** Kernels read (never write) up to 7 floats past a tensor's last channel. */
const SLACK_FLOATS = 16;
const WASM_PAGE_BYTES = 65536;

const alignUp = (x: number, a: number) => Math.ceil(x / a) * a;

/** Bump allocator over float indices of the wasm memory. */
class FloatLayout {
  constructor(public end: number) {}
  reserve(floats: number): number {
    const at = alignUp(this.end, ALIGN_FLOATS);
    this.end = at + floats;
    return at;
  }
}

function fail(where: string, message: string): never {
  throw new ShapeError(`${where}: ${message}`);
}

function isCount(v: number, min: number): boolean {
  return Number.isInteger(v) && v >= min;
}

function checkSlot(where: string, name: string, slot: Slot, arenaSize: number): void {
  const [n, h, w, c] = slot.shape;
  if (![n, h, w, c].every((d) => isCount(d, 1))) {
    fail(where, `${name} shape [${slot.shape.join(', ')}] must have positive integer dimensions`);
  }
  if (slot.size !== n * h * w * c) {
    fail(where, `${name} size ${slot.size} does not match its shape [${slot.shape.join(', ')}] (${n * h * w * c})`);
  }
  if (!isCount(slot.offset, 0) || slot.offset + slot.size > arenaSize) {
    fail(where, `${name} [${slot.offset}, ${slot.offset + slot.size}) lies outside the arena of ${arenaSize} floats`);
  }
}

function checkPair(where: string, name: string, v: readonly number[], min: number): void {
  if (v.length !== 2 || !v.every((x) => isCount(x, min))) {
    fail(where, `${name} must be two integers >= ${min}, got [${v.join(', ')}]`);
  }
}

function checkLength(where: string, name: string, got: number, expected: number, how: string): void {
  if (got !== expected) fail(where, `${name} has ${got} floats, expected ${expected} (${how})`);
}

function checkActivation(where: string, activation: string): number {
  const code = activationCode(activation as never);
  if (code < 0) fail(where, `unknown activation '${activation}'`);
  return code;
}

function isDepthwise(op: Conv2dOp): boolean {
  return op.groups === op.input.shape[3] && op.groups === op.output.shape[3];
}

/** Validates an op's shapes and parameters so the kernels never see inconsistent input. */
function validateOp(op: PlanOp, index: number, arenaSize: number): void {
  const where = `plan.ops[${index}] (${op.kind})`;
  const slots: [string, Slot][] =
    op.kind === 'add' ? [['a', op.a], ['b', op.b], ['output', op.output]] : [['input', op.input], ['output', op.output]];
  if (op.kind === 'scaleChannels') slots.push(['scale', op.scale]);
  if ((op.kind === 'conv2d' || op.kind === 'linear') && op.residual) slots.push(['residual', op.residual]);
  for (const [name, slot] of slots) checkSlot(where, name, slot, arenaSize);
  if ('activation' in op) checkActivation(where, op.activation);
  if ((op.kind === 'conv2d' || op.kind === 'linear') && op.residual && op.residual.size !== op.output.size) {
    fail(where, `residual shape [${op.residual.shape.join(', ')}] differs from output [${op.output.shape.join(', ')}]`);
  }
  switch (op.kind) {
    case 'conv2d': {
      const [n, , , inC] = op.input.shape;
      const [on, , , outC] = op.output.shape;
      if (on !== n) fail(where, `output batch ${on} differs from input batch ${n}`);
      checkPair(where, 'kernel', op.kernel, 1);
      checkPair(where, 'stride', op.stride, 1);
      checkPair(where, 'dilation', op.dilation, 1);
      checkPair(where, 'padding', op.padding, 0);
      if (!isCount(op.groups, 1) || inC % op.groups !== 0 || outC % op.groups !== 0) {
        fail(where, `groups ${op.groups} must divide inC ${inC} and outC ${outC}`);
      }
      const [kh, kw] = op.kernel;
      const inCg = inC / op.groups;
      checkLength(where, 'weight', op.weight.length, outC * inCg * kh * kw,
        `[outC ${outC}, inC/groups ${inCg}, ${kh}, ${kw}]`);
      checkLength(where, 'bias', op.bias.length, outC, `outC ${outC}`);
      return;
    }
    case 'linear': {
      const n = op.input.shape[0];
      if (op.output.shape[0] !== n) fail(where, `output batch ${op.output.shape[0]} differs from input batch ${n}`);
      const inF = op.input.size / n;
      const outF = op.output.size / n;
      checkLength(where, 'weight', op.weight.length, outF * inF, `[outF ${outF}, inF ${inF}]`);
      checkLength(where, 'bias', op.bias.length, outF, `outF ${outF}`);
      return;
    }
    case 'pool2d': {
      if (op.output.shape[0] !== op.input.shape[0] || op.output.shape[3] !== op.input.shape[3]) {
        fail(where, `output [${op.output.shape.join(', ')}] must keep the batch and channels of input [${op.input.shape.join(', ')}]`);
      }
      checkPair(where, 'kernel', op.kernel, 1);
      checkPair(where, 'stride', op.stride, 1);
      checkPair(where, 'padding', op.padding, 0);
      if (op.mode !== 'max' && op.mode !== 'avg') fail(where, `mode must be 'max' or 'avg', got '${op.mode}'`);
      return;
    }
    case 'adaptiveAvgPool2d':
      if (op.output.shape[0] !== op.input.shape[0] || op.output.shape[3] !== op.input.shape[3]) {
        fail(where, `output [${op.output.shape.join(', ')}] must keep the batch and channels of input [${op.input.shape.join(', ')}]`);
      }
      return;
    case 'add':
      if (op.a.size !== op.output.size || op.b.size !== op.output.size) {
        fail(where, `a (${op.a.size}), b (${op.b.size}) and output (${op.output.size}) sizes differ`);
      }
      return;
    case 'channelAffine': {
      const c = op.input.shape[3];
      if (op.input.size !== op.output.size) fail(where, `input (${op.input.size}) and output (${op.output.size}) sizes differ`);
      checkLength(where, 'scale', op.scale.length, c, `channels ${c}`);
      checkLength(where, 'shift', op.shift.length, c, `channels ${c}`);
      return;
    }
    case 'activation':
      if (op.input.size !== op.output.size) fail(where, `input (${op.input.size}) and output (${op.output.size}) sizes differ`);
      return;
    case 'copyChannels': {
      const inC = op.input.shape[3];
      const outC = op.output.shape[3];
      if (op.input.size / inC !== op.output.size / outC) {
        fail(where, `input has ${op.input.size / inC} pixels, output ${op.output.size / outC}`);
      }
      if (!isCount(op.channelOffset, 0) || op.channelOffset + inC > outC) {
        fail(where, `channels [${op.channelOffset}, ${op.channelOffset + inC}) do not fit output channels ${outC}`);
      }
      return;
    }
    case 'scaleChannels': {
      const [n, , , c] = op.input.shape;
      if (op.input.size !== op.output.size) fail(where, `input (${op.input.size}) and output (${op.output.size}) sizes differ`);
      if (op.scale.size !== n * c) {
        fail(where, `scale [${op.scale.shape.join(', ')}] must be [${n}, 1, 1, ${c}]`);
      }
      return;
    }
    case 'layerNorm': {
      const c = op.input.shape[3];
      if (op.input.size !== op.output.size) fail(where, `input (${op.input.size}) and output (${op.output.size}) sizes differ`);
      checkLength(where, 'weight', op.weight.length, c, `channels ${c}`);
      checkLength(where, 'bias', op.bias.length, c, `channels ${c}`);
      if (!(op.eps >= 0)) fail(where, `eps must be >= 0, got ${op.eps}`);
      return;
    }
    case 'localResponseNorm':
      if (op.input.size !== op.output.size) fail(where, `input (${op.input.size}) and output (${op.output.size}) sizes differ`);
      if (!isCount(op.size, 1)) fail(where, `size must be a positive integer, got ${op.size}`);
      if (!(op.k > 0)) fail(where, `k must be > 0 (the wasm kernel takes a logarithm of k + ...), got ${op.k}`);
      return;
    default:
      fail(where, `unsupported op kind '${(op as { kind: string }).kind}'`);
  }
}

/** Host-side plan for one op: weight floats to reserve, how to fill them, and the call. */
interface OpPlan {
  /** floats to reserve in the weight region (0 for weightless ops) */
  weightFloats: number;
  /** raw floats staged in scratch for the wasm packer (0 if JS copies directly) */
  stagingFloats: number;
  /** floats the zero row must hold */
  zeroFloats: number;
  /** fills the op's weight region starting at float index `at` */
  fill(k: KernelExports, heap: () => Float32Array, at: number, staging: number): void;
  /** returns the prepared call; `slot` maps a slot to its byte address */
  prepare(k: KernelExports, at: number, slot: (s: Slot) => number, zeros: number): () => void;
}

function planConv(k: KernelExports, op: Conv2dOp): OpPlan {
  const [n, inH, inW, inC] = op.input.shape;
  const [, outH, outW, outC] = op.output.shape;
  const [kh, kw] = op.kernel;
  const [sh, sw] = op.stride;
  const [pt, pl] = op.padding;
  const [dh, dw] = op.dilation;
  const act = activationCode(op.activation);
  const depthwise = isDepthwise(op);
  const inCg = inC / op.groups;
  return {
    weightFloats: depthwise ? k.dwconv2d_packed_len(outC, kh, kw) : k.conv2d_packed_len(outC, inCg, kh, kw, op.groups),
    stagingFloats: alignUp(op.weight.length, ALIGN_FLOATS) + op.bias.length,
    // conv2d_nhwc_f32 reads whole kernel rows (kw * inC floats) from the zero row when groups == 1.
    zeroFloats: depthwise ? 0 : op.groups === 1 ? kw * inC : inCg,
    fill(k, heap, at, staging) {
      const biasAt = staging + alignUp(op.weight.length, ALIGN_FLOATS);
      heap().set(op.weight, staging);
      heap().set(op.bias, biasAt);
      const [dst, w, b] = [at, staging, biasAt].map((f) => f * BYTES_PER_FLOAT);
      if (depthwise) k.dwconv2d_pack_weights(dst, w, b, outC, kh, kw);
      else k.conv2d_pack_weights(dst, w, b, outC, inCg, kh, kw, op.groups);
    },
    prepare(k, at, slot, zeros) {
      const x = slot(op.input);
      const y = slot(op.output);
      const r = op.residual ? slot(op.residual) : 0;
      const w = at * BYTES_PER_FLOAT;
      if (depthwise) {
        return () => k.dwconv2d_nhwc_f32(x, y, r, w, n, inH, inW, inC, outH, outW, kh, kw, sh, sw, pt, pl, dh, dw, act);
      }
      return () =>
        k.conv2d_nhwc_f32(x, y, r, w, zeros, n, inH, inW, inC, outH, outW, outC, kh, kw, sh, sw, pt, pl, dh, dw, op.groups, act);
    },
  };
}

function planOp(k: KernelExports, op: PlanOp): OpPlan {
  const none = { weightFloats: 0, stagingFloats: 0, zeroFloats: 0, fill() {} };
  switch (op.kind) {
    case 'conv2d':
      return planConv(k, op);
    case 'linear': {
      const n = op.input.shape[0];
      const inF = op.input.size / n;
      const outF = op.output.size / n;
      const biasOffset = alignUp(op.weight.length, ALIGN_FLOATS);
      const act = activationCode(op.activation);
      return {
        weightFloats: biasOffset + op.bias.length,
        stagingFloats: 0,
        zeroFloats: 0,
        // [outF, inF] is already the layout linear_f32 reads: no packing.
        fill(_k, heap, at) {
          heap().set(op.weight, at);
          heap().set(op.bias, at + biasOffset);
        },
        prepare(k, at, slot) {
          const [x, y, r] = [slot(op.input), slot(op.output), op.residual ? slot(op.residual) : 0];
          const [w, b] = [at, at + biasOffset].map((f) => f * BYTES_PER_FLOAT);
          return () => k.linear_f32(x, y, r, w, b, n, inF, outF, act);
        },
      };
    }
    case 'pool2d': {
      const [n, inH, inW, c] = op.input.shape;
      const [, outH, outW] = op.output.shape;
      const [kh, kw] = op.kernel;
      const [sh, sw] = op.stride;
      const [pt, pl] = op.padding;
      const act = activationCode(op.activation);
      const countIncludePad = op.countIncludePad ? 1 : 0;
      return {
        ...none,
        prepare(k, _at, slot) {
          const [x, y] = [slot(op.input), slot(op.output)];
          if (op.mode === 'max') return () => k.maxpool2d_nhwc(x, y, n, inH, inW, c, outH, outW, kh, kw, sh, sw, pt, pl, act);
          return () =>
            k.avgpool2d_nhwc(x, y, n, inH, inW, c, outH, outW, kh, kw, sh, sw, pt, pl, countIncludePad, act);
        },
      };
    }
    case 'adaptiveAvgPool2d': {
      const [n, inH, inW, c] = op.input.shape;
      const [, outH, outW] = op.output.shape;
      return {
        ...none,
        prepare(k, _at, slot) {
          const [x, y] = [slot(op.input), slot(op.output)];
          return () => k.adaptive_avgpool2d_nhwc(x, y, n, inH, inW, c, outH, outW);
        },
      };
    }
    case 'add': {
      const act = activationCode(op.activation);
      return {
        ...none,
        prepare(k, _at, slot) {
          const [a, b, y] = [slot(op.a), slot(op.b), slot(op.output)];
          return () => k.add_f32(a, b, y, op.output.size, act);
        },
      };
    }
    case 'channelAffine': {
      const c = op.input.shape[3];
      const shiftOffset = alignUp(c, ALIGN_FLOATS);
      const act = activationCode(op.activation);
      return {
        weightFloats: shiftOffset + c,
        stagingFloats: 0,
        zeroFloats: 0,
        fill(_k, heap, at) {
          heap().set(op.scale, at);
          heap().set(op.shift, at + shiftOffset);
        },
        prepare(k, at, slot) {
          const [x, y] = [slot(op.input), slot(op.output)];
          const [scale, shift] = [at, at + shiftOffset].map((f) => f * BYTES_PER_FLOAT);
          return () => k.channel_affine_f32(x, y, scale, shift, op.input.size / c, c, act);
        },
      };
    }
    case 'activation': {
      const act = activationCode(op.activation);
      return {
        ...none,
        prepare(k, _at, slot) {
          const [x, y] = [slot(op.input), slot(op.output)];
          return () => k.activation_f32(x, y, op.output.size, act);
        },
      };
    }
    case 'scaleChannels': {
      const [n, h, w, c] = op.input.shape;
      return {
        ...none,
        prepare(k, _at, slot) {
          const [x, s, y] = [slot(op.input), slot(op.scale), slot(op.output)];
          return () => k.scale_channels_f32(x, s, y, n, h * w, c);
        },
      };
    }
    case 'layerNorm': {
      const c = op.input.shape[3];
      const biasOffset = alignUp(c, ALIGN_FLOATS);
      const act = activationCode(op.activation);
      return {
        weightFloats: biasOffset + c,
        stagingFloats: 0,
        zeroFloats: 0,
        fill(_k, heap, at) {
          heap().set(op.weight, at);
          heap().set(op.bias, at + biasOffset);
        },
        prepare(k, at, slot) {
          const [x, y] = [slot(op.input), slot(op.output)];
          const [gamma, beta] = [at, at + biasOffset].map((f) => f * BYTES_PER_FLOAT);
          return () => k.layer_norm_f32(x, y, gamma, beta, op.input.size / c, c, op.eps, act);
        },
      };
    }
    case 'localResponseNorm': {
      const c = op.input.shape[3];
      return {
        ...none,
        prepare(k, _at, slot) {
          const [x, y] = [slot(op.input), slot(op.output)];
          return () => k.local_response_norm_f32(x, y, op.input.size / c, c, op.size, op.alpha, op.beta, op.k);
        },
      };
    }
    case 'copyChannels': {
      const inC = op.input.shape[3];
      const outC = op.output.shape[3];
      return {
        ...none,
        prepare(k, _at, slot) {
          const [x, y] = [slot(op.input), slot(op.output)];
          return () => k.copy_channels_nhwc(x, y, op.input.size / inC, inC, outC, op.channelOffset);
        },
      };
    }
  }
}

class WasmExecutable implements Executable {
  readonly weightBytes: number;
  readonly arenaBytes: number;
  private kernels: KernelExports | undefined;
  private readonly calls: (() => void)[];
  private readonly arenaStart: number;
  private view: Float32Array;

  constructor(module: WebAssembly.Module, private readonly plan: ExecutionPlan) {
    if (!isCount(plan.arenaSize, 0)) fail('plan', `arenaSize must be a non-negative integer, got ${plan.arenaSize}`);
    checkSlot('plan.input', 'input', plan.input, plan.arenaSize);
    plan.outputs.forEach((s, i) => checkSlot(`plan.outputs[${i}]`, 'output', s, plan.arenaSize));
    plan.ops.forEach((op, i) => validateOp(op, i, plan.arenaSize));

    const k = instantiateKernels(module);
    const memory = k.memory;
    const heapBase = Number(k.__heap_base.value);
    const opPlans = plan.ops.map((op) => planOp(k, op));

    const layout = new FloatLayout(Math.ceil(heapBase / BYTES_PER_FLOAT));
    const weightsStart = layout.reserve(0);
    const weightAt = opPlans.map((p) => (p.weightFloats > 0 ? layout.reserve(p.weightFloats) : 0));
    const weightsEnd = layout.end;
    this.arenaStart = layout.reserve(plan.arenaSize);
    const zeros = layout.reserve(Math.max(ALIGN_FLOATS, ...opPlans.map((p) => p.zeroFloats)));
    layout.reserve(SLACK_FLOATS);
    // Raw weights are staged where the arena will be, before the arena is in use.
    const staging = this.arenaStart;
    const maxStaging = Math.max(0, ...opPlans.map((p) => p.stagingFloats));
    const endFloats = Math.max(layout.end, staging + maxStaging + SLACK_FLOATS);

    const needBytes = endFloats * BYTES_PER_FLOAT;
    const havePages = memory.buffer.byteLength / WASM_PAGE_BYTES;
    const needPages = Math.ceil(needBytes / WASM_PAGE_BYTES);
    if (needPages > havePages) {
      try {
        memory.grow(needPages - havePages);
      } catch (e) {
        throw new Error(
          `The wasm backend needs ${(needBytes / 2 ** 20).toFixed(1)} MiB of wasm memory ` +
            `(weights ${(((weightsEnd - weightsStart) * 4) / 2 ** 20).toFixed(1)} MiB, arena ` +
            `${((plan.arenaSize * 4) / 2 ** 20).toFixed(1)} MiB), more than this engine grants ` +
            `(wasm32 allows at most 4 GiB): ${(e as Error).message}`,
        );
      }
    }
    this.view = new Float32Array(memory.buffer);
    const heap = () => this.heap();
    opPlans.forEach((p, i) => {
      if (p.weightFloats > 0) p.fill(k, heap, weightAt[i], staging);
    });
    this.heap().fill(0, this.arenaStart, endFloats);

    const slot = (s: Slot) => (this.arenaStart + s.offset) * BYTES_PER_FLOAT;
    this.calls = opPlans.map((p, i) => p.prepare(k, weightAt[i], slot, zeros * BYTES_PER_FLOAT));
    this.kernels = k;
    this.weightBytes = (weightsEnd - weightsStart) * BYTES_PER_FLOAT;
    this.arenaBytes = plan.arenaSize * BYTES_PER_FLOAT;
  }

  private heap(): Float32Array {
    // A grown memory detaches old views; re-create lazily.
    if (this.view.byteLength === 0 && this.kernels) this.view = new Float32Array(this.kernels.memory.buffer);
    return this.view;
  }

  async run(input: Float32Array): Promise<Float32Array[]> {
    if (!this.kernels) throw new Error('This wasm executable was disposed; compile the plan again.');
    const { plan } = this;
    if (!(input instanceof Float32Array) || input.length !== plan.input.size) {
      throw new ShapeError(
        `run() expects a Float32Array of ${plan.input.size} floats (NHWC [${plan.input.shape.join(', ')}]), ` +
          `got ${input instanceof Float32Array ? `${input.length} floats` : String(input)}`,
      );
    }
    const heap = this.heap();
    heap.set(input, this.arenaStart + plan.input.offset);
    for (const call of this.calls) call();
    const out = this.heap();
    return plan.outputs.map((s) => out.slice(this.arenaStart + s.offset, this.arenaStart + s.offset + s.size));
  }

  dispose(): void {
    this.kernels = undefined;
    this.calls.length = 0;
    this.view = new Float32Array(0);
  }
}

/**
 * Creates the WebAssembly SIMD backend. The kernels module is compiled once, on the first
 * `compile()`, and shared by every executable; each executable gets its own instance and memory.
 */
export function createWasmBackend(options: WasmBackendOptions = {}): Backend {
  let module: Promise<WebAssembly.Module> | undefined;
  const getModule = () => {
    module ??= options.module
      ? Promise.resolve(options.module).then((m) => (checkKernelModule(m, 'options.module'), m))
      : loadKernelModule(options.wasm);
    // Let a later compile() retry after a failed load (e.g. the binary was built meanwhile).
    module.catch(() => (module = undefined));
    return module;
  };
  return {
    name: 'wasm',
    async compile(plan: ExecutionPlan): Promise<Executable> {
      return new WasmExecutable(await getModule(), plan);
    },
  };
}
