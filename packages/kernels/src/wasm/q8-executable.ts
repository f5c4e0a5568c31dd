// An int8 plan (quantizePlan, useInt8) on the int8 kernel binaries: every q8conv2d, q8linear,
// unfused q8add, max q8pool2d, global average pooling and quantize runs in wasm on an activation
// byte arena that lives in the binary's memory, so no layer copies its input or output; the other
// ops (dequantize at the logits, other average pooling, lookups, and any op the int8 pass left in
// float) run on the js reference over the same bytes.
import { DisposedError, ShapeError, assertPlanChecked, type Backend, type Executable, type ExecutionPlan, type PlanOp, type Q8AdaptiveAvgPool2dOp, type Q8AddOp, type Q8Conv2dOp, type Q8LinearOp, type Q8Pool2dOp, type QuantizeOp, type Slot } from '@cnn/core';
import { runJsOp } from '../js/run-op.js';
import { Q8_MAX_POOL_CELLS, activationBounds, addMultipliers, linearAsConv2d, planConv2d, type Q8Conv2dParams } from '../js/q8.js';
import { Q8Memory, probeFusedDot, runQ8Conv, writeQ8Conv, type Q8ConvLayer, type Q8Exports } from './q8.js';

/** Timed runs of each dot form before an executable keeps the faster (`Q8WasmExecutable.fusedDot`). */
const DOT_TRIALS = 4;

/** One wasm layer (q8.ts writeQ8Conv): its argument blocks and which kernels read them. */
interface Layer extends Q8ConvLayer {
  readonly index: number;
}

function dense(s: Slot, where: string): void {
  if (s.base) throw new ShapeError(`${where}: the int8 wasm kernels read and write dense tensors, got a channel view of slot ${s.base.id}`, { code: 'unsupported' });
}

/** The reference kernels' parameters of a wasm layer, over views of the arena (no copies). */
function layerParams(op: Q8Conv2dOp | Q8LinearOp, bytes: Uint8Array): Q8Conv2dParams {
  const t = (s: Slot) => ({ data: bytes.subarray(s.offset, s.offset + s.size), shape: s.shape, quant: s.quant! });
  const output = op.output.quant!;
  const common = { input: t(op.input), weight: op.weight, weightScales: op.weightScale, bias: op.bias, output, clamp: activationBounds(op.activation, output), residual: op.residual && t(op.residual) };
  if (op.kind === 'q8linear') return linearAsConv2d({ ...common, outFeatures: op.output.size / op.output.shape[0] });
  return { ...common, outChannels: op.output.shape[3], kernel: op.kernel, stride: op.stride, padding: op.padding, dilation: op.dilation, groups: op.groups };
}

/** Packs a q8conv2d or q8linear once (q8.ts writeQ8Conv), over the arena's slots. */
function prepareLayer(ex: Q8Exports, memory: Q8Memory, op: Q8Conv2dOp | Q8LinearOp, index: number, arena: number, bytes: Uint8Array): Layer {
  const where = `plan.ops[${index}] (${op.kind} '${op.name}')`;
  for (const s of [op.input, op.output, ...(op.residual ? [op.residual] : [])]) dense(s, where);
  const p = layerParams(op, bytes);
  const plan = planConv2d(p);
  if (plan.outShape.join() !== op.output.shape.join() && op.kind === 'q8conv2d') {
    throw new ShapeError(`${where}: the int8 kernel makes [${plan.outShape.join(', ')}], the plan's output is [${op.output.shape.join(', ')}]`, { code: 'unsupported' });
  }
  const tensors = () => ({ x: arena + op.input.offset, y: arena + op.output.offset, residual: op.residual ? arena + op.residual.offset : 0 });
  return { index, ...writeQ8Conv(ex, memory, p, plan, where, tensors) };
}

/** An unfused residual add in wasm (q8_add): the reference's arithmetic, q8.ts `add`. */
function prepareAdd(ex: Q8Exports, op: Q8AddOp, arena: number): () => void {
  for (const s of [op.a, op.b, op.output]) dense(s, `q8add`);
  const [a, b, y] = [op.a.quant!, op.b.quant!, op.output.quant!];
  const [lo, hi] = activationBounds(op.activation, y);
  const [ma, mb] = addMultipliers(a, b, y, 'q8add (wasm)');
  const [at, bt, yt] = [arena + op.a.offset, arena + op.b.offset, arena + op.output.offset];
  return () => ex.q8_add(at, bt, yt, op.output.size, a.zeroPoint, ma, b.zeroPoint, mb, y.zeroPoint, lo, hi);
}

/**
 * Quantisation of a float slot in wasm (q8_quantize): the floats are copied from the js arena into
 * `staging` first. A NaN makes the reference run instead, which reports it.
 */
function prepareQuantize(ex: Q8Exports, op: QuantizeOp, arenaAt: number, staging: number, floats: () => Float32Array, bytes: () => Uint8Array): () => void {
  for (const s of [op.input, op.output]) dense(s, 'quantize');
  const q = op.output.quant!;
  const inverse = Math.fround(1 / q.scale);
  const n = op.input.size;
  const y = arenaAt + op.output.offset;
  return () => {
    const arena = floats();
    new Float32Array(ex.memory.buffer, staging, n).set(arena.subarray(op.input.offset, op.input.offset + n));
    if (ex.q8_quantize(staging, y, n, inverse, q.zeroPoint) !== 0) runJsOp(arena, op, bytes());
  };
}

/** Adaptive average pooling to 1 x 1 (global) in wasm (q8_global_avgpool); other output sizes stay on the reference. */
function prepareGlobalAvgPool(ex: Q8Exports, op: Q8AdaptiveAvgPool2dOp, arenaAt: number): (() => void) | undefined {
  const [n, inH, inW, c] = op.input.shape;
  const [, outH, outW] = op.output.shape;
  if (outH !== 1 || outW !== 1 || inH * inW > Q8_MAX_POOL_CELLS) return undefined; // the reference pools (or refuses) these
  for (const s of [op.input, op.output]) dense(s, 'q8adaptiveAvgPool2d');
  const [x, y] = [op.input.quant!, op.output.quant!];
  const m = Math.fround(x.scale / y.scale);
  const [xt, yt] = [arenaAt + op.input.offset, arenaAt + op.output.offset];
  return () => ex.q8_global_avgpool(xt, yt, n, inH * inW, c, x.zeroPoint, m, y.zeroPoint);
}

/** Max pooling in wasm (q8_maxpool2d); average pooling stays on the reference. */
function prepareMaxPool(ex: Q8Exports, memory: Q8Memory, op: Q8Pool2dOp, arena: number): () => void {
  for (const s of [op.input, op.output]) dense(s, 'q8pool2d');
  const [n, inH, inW, c] = op.input.shape;
  const [, outH, outW] = op.output.shape;
  const geometry = memory.put(Uint32Array.of(n, inH, inW, c, outH, outW, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], op.padding[0], op.padding[1]));
  const [x, y] = [arena + op.input.offset, arena + op.output.offset];
  return () => ex.q8_maxpool2d(x, y, geometry);
}

class Q8WasmExecutable implements Executable {
  private arena: Float32Array;
  private disposed = false;
  readonly arenaBytes: number;
  readonly weightBytes: number;
  private readonly layers: (Layer | undefined)[];
  /** per op: an elementwise op or pooling that runs in wasm (q8add, max q8pool2d) */
  private readonly wasmOps: ((() => void) | undefined)[];
  private readonly bytes: () => Uint8Array;

  /** per dot form, its best run time while choosing (`DOT_TRIALS` runs each) */
  private readonly dotBest = { fused: Infinity, split: Infinity };
  private runs = 0;

  constructor(
    private readonly ex: Q8Exports,
    private readonly plan: ExecutionPlan,
    /** the engine computes the fused dot-add right (`probeFusedDot`): the runs then choose the faster form */
    private readonly fusedDotSafe: boolean,
  ) {
    const memory = new Q8Memory(ex);
    // the byte arena first, at a fixed address; packing below may grow the memory, so views are
    // made per run, never kept across a grow
    const arenaAt = memory.alloc(plan.arenaSize);
    this.bytes = () => new Uint8Array(ex.memory.buffer, arenaAt, plan.arenaSize);
    const weightsFrom = memory.mark;
    this.layers = plan.ops.map((op, i) => (op.kind === 'q8conv2d' || op.kind === 'q8linear' ? prepareLayer(ex, memory, op, i, arenaAt, this.bytes()) : undefined));
    this.weightBytes = memory.mark - weightsFrom;
    // one float staging buffer serves every quantize op (a plan's input, usually)
    const quantizeFloats = Math.max(0, ...plan.ops.map((op) => (op.kind === 'quantize' ? op.input.size : 0)));
    const staging = quantizeFloats > 0 ? memory.alloc(quantizeFloats * 4) : 0;
    this.wasmOps = plan.ops.map((op) =>
      op.kind === 'q8add'
        ? prepareAdd(ex, op, arenaAt)
        : op.kind === 'q8pool2d' && op.mode === 'max'
          ? prepareMaxPool(ex, memory, op, arenaAt)
          : op.kind === 'quantize'
            ? prepareQuantize(ex, op, arenaAt, staging, () => this.arena, this.bytes)
            : op.kind === 'q8adaptiveAvgPool2d'
              ? prepareGlobalAvgPool(ex, op, arenaAt)
              : undefined,
    );
    this.arena = new Float32Array(plan.arenaSize);
    this.arenaBytes = plan.arenaSize * 5;
  }

  async run(input: Float32Array): Promise<Float32Array[]> {
    if (this.disposed) throw new DisposedError('This int8 wasm executable was disposed; compile the plan again.');
    const { plan, arena } = this;
    if (!(input instanceof Float32Array) || input.length !== plan.input.size) {
      throw new ShapeError(`run() expects a Float32Array of ${plan.input.size} floats, got ${input instanceof Float32Array ? `${input.length} floats` : typeof input}`);
    }
    arena.set(input, plan.input.offset);
    const trial = this.dotTrial();
    const started = trial ? performance.now() : 0;
    const bytes = this.bytes();
    plan.ops.forEach((op: PlanOp, i) => this.runOp(op, i, bytes));
    if (trial) this.dotBest[trial] = Math.min(this.dotBest[trial], performance.now() - started);
    return plan.outputs.map((s) => arena.slice(s.offset, s.offset + s.size));
  }

  private runOp(op: PlanOp, i: number, bytes: Uint8Array): void {
    const layer = this.layers[i];
    const wasmOp = this.wasmOps[i];
    if (wasmOp) wasmOp();
    else if (!layer) runJsOp(this.arena, op, bytes);
    else runQ8Conv(this.ex, layer);
  }

  /** One forward pass timed op by op (ms per plan op, as the fp32 wasm executable's profile()). */
  async profile(input: Float32Array): Promise<number[]> {
    await this.run(input);
    const bytes = this.bytes();
    this.arena.set(input, this.plan.input.offset);
    return this.plan.ops.map((op, i) => {
      const t = performance.now();
      this.runOp(op, i, bytes);
      return performance.now() - t;
    });
  }

  /**
   * Whether igemm runs the fused dot-add now. Where the probe allowed it, runs 2 to
   * 1 + 2 * DOT_TRIALS alternate the two forms (bit-identical results) and the faster one by
   * its best run is kept: with AVX-VNNI the fused form is one vpdpbusd (Chromium 156 on an Intel
   * Xeon: ResNet-18 int8 40 ms against 54), without it V8 emits it as five instructions
   * against the split form's three (V8 11.3 without Liftoff: 70 ms against 50).
   */
  get fusedDot(): boolean {
    return this.fusedDotOn;
  }

  private fusedDotOn = false;

  /** The form this run times, or undefined once chosen (or when only the split form is safe). */
  private dotTrial(): 'fused' | 'split' | undefined {
    // runs 1 to 2 * DOT_TRIALS (counting from 0) alternate the forms; the next one chooses
    const n = this.runs++;
    if (!this.fusedDotSafe || n === 0 || n > 2 * DOT_TRIALS + 1) return undefined;
    if (n === 2 * DOT_TRIALS + 1) {
      this.setFusedDot(this.dotBest.fused < this.dotBest.split);
      return undefined;
    }
    const form = n % 2 ? 'fused' : 'split';
    this.setFusedDot(form === 'fused');
    return form;
  }

  private setFusedDot(on: boolean): void {
    this.fusedDotOn = this.ex.q8_set_fused_dot(on ? 1 : 0) === 1;
  }

  dispose(): void {
    this.disposed = true;
    this.arena = new Float32Array(0);
  }
}

/**
 * A backend for int8 plans on the int8 kernel binary `binary` (cnn_q8.wasm, or cnn_q8-relaxed.wasm
 * where relaxed SIMD runs): one instance, and so one memory, per compiled plan. Float plans are
 * refused: they run on createWasmBackend.
 */
export function createInt8WasmBackend(binary: BufferSource | WebAssembly.Module): Backend {
  const module = binary instanceof WebAssembly.Module ? Promise.resolve(binary) : WebAssembly.compile(binary);
  return {
    name: 'wasm-int8',
    async compile(plan: ExecutionPlan): Promise<Executable> {
      assertPlanChecked(plan, 'wasm-int8');
      if (!plan.ops.some((op) => op.kind === 'q8conv2d' || op.kind === 'q8linear')) {
        throw new ShapeError('wasm-int8: expected an int8 plan (quantizePlan or useInt8), got one without int8 layers; float plans run on createWasmBackend', { code: 'unsupported' });
      }
      const instance = await WebAssembly.instantiate(await module, {});
      const ex = instance.exports as unknown as Q8Exports;
      if (typeof ex.q8_conv2d !== 'function') throw new ShapeError('wasm-int8: expected an int8 kernel binary (cnn_q8*.wasm, exports q8_conv2d)');
      // first, so that the probe runs in the engine's first tier
      const fusedDotSafe = probeFusedDot(ex);
      return new Q8WasmExecutable(ex, plan, fusedDotSafe);
    },
  };
}
