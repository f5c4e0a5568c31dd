// Runs the int8 wasm kernels (kernels-wasm/src/q8/, binaries cnn_q8.wasm and
// cnn_q8-relaxed.wasm) with the js reference's parameters (src/js/q8.ts), which also checks
// them: same inputs, bit-identical uint8 outputs. No inference entry point imports this module,
// so fp32 apps never download the int8 binaries; the caller passes the binary's bytes or module.
import { DisposedError, ShapeError } from '@cnn/core';
import { linearAsConv2d, planConv2d, type Q8Conv2dParams, type Q8ConvPlan, type Q8LinearParams, type Q8Tensor } from '../js/q8.js';

/** The words of kernels-wasm/src/q8/mod.rs `ConvArgs`, in order. */
export const CONV_ARGS = [
  'x', 'packed', 'y', 'residual', 'zeros', 'n', 'inH', 'inW', 'inC', 'outH', 'outW', 'outC', 'kernelH', 'kernelW',
  'strideH', 'strideW', 'padTop', 'padLeft', 'dilationH', 'dilationW', 'groups', 'xZero', 'yZero', 'lo', 'hi',
  'residualZero', 'residualMult', 'smallRange',
] as const;
/** Readable bytes the kernels may touch past a tensor's end (channel tails, quads). */
export const SLACK = 64;
/** kernels-wasm/src/q8/igemm.rs MAX_TAPS */
export const MAX_TAPS = 128;
const PAGE = 65536;

export interface Q8Exports {
  memory: WebAssembly.Memory;
  cnn_kernels_features(): number;
  q8_conv2d_packed_bytes(outC: number, inCg: number, taps: number, groups: number): number;
  q8_conv2d_pack(dst: number, weight: number, bias: number, mult: number, outC: number, inCg: number, taps: number, groups: number, xZero: number): void;
  q8_conv2d(args: number): number;
  /** each output pixel's window of args' convolution as one row of kh * kw * inC bytes at args.y */
  q8_im2col(args: number): void;
  q8_dwconv2d_packed_bytes(channels: number, taps: number): number;
  q8_dwconv2d_pack(dst: number, weight: number, bias: number, mult: number, channels: number, taps: number, xZero: number): void;
  q8_dwconv2d(args: number): number;
  q8_add(a: number, b: number, y: number, n: number, aZero: number, aMult: number, bZero: number, bMult: number, yZero: number, lo: number, hi: number): void;
  /** torch.quantize_per_tensor of n floats at x into codes at y (inverse = fround(1 / scale)); 1 when some float is NaN */
  q8_quantize(x: number, y: number, n: number, inverse: number, zero: number): number;
  /** adaptive average pooling to 1 x 1 of n images of cells x c codes (m = fround(inScale / outScale)) */
  q8_global_avgpool(x: number, y: number, n: number, cells: number, c: number, xZero: number, m: number, yZero: number): void;
  /** geometry: 12 u32 words [n, inH, inW, c, outH, outW, kernelH, kernelW, strideH, strideW, padTop, padLeft] */
  q8_maxpool2d(x: number, y: number, geometry: number): void;
  /** 1 when this engine's first tier computes the fused relaxed dot-add right (relaxed binary; 0 otherwise) */
  q8_probe_fused_dot(): number;
  /** turns the fused dot-add on (1) or off (0); returns whether it is on */
  q8_set_fused_dot(on: number): number;
  /** output pixels per q8_conv2d tile with the dot form now set: 4, or 6 with the fused dot-add (absent before 2026-12-05: 4) */
  q8_tile_pixels?(): number;
  __heap_base: WebAssembly.Global;
}

/**
 * Whether this engine computes relaxed SIMD's fused dot-add (i32x4.relaxed_dot_i8x16_i7x16_add_s)
 * right, so that the kernels may take it (`q8_set_fused_dot`). Call it once, right after
 * instantiating, so that the probe runs in the engine's first tier: V8 11.3's Liftoff (Node 20)
 * gets it wrong. Right is not faster everywhere: where V8 has AVX-VNNI it is one vpdpbusd, without
 * it five instructions against the split form's three, so callers time both
 * (`createInt8WasmBackend` does). False for the plain-SIMD binary.
 */
export function probeFusedDot(ex: Q8Exports): boolean {
  // (a binary from before the probe has neither export: it runs the split form)
  if (typeof ex.q8_probe_fused_dot !== 'function' || typeof ex.q8_set_fused_dot !== 'function') return false;
  return ex.q8_probe_fused_dot() === 1;
}

/** Output pixels per q8_conv2d tile with the dot form now set (4 on binaries without the export). */
export function q8TilePixels(ex: Q8Exports): number {
  return typeof ex.q8_tile_pixels === 'function' ? ex.q8_tile_pixels() : 4;
}

/** A convolution with its weights packed in wasm memory: write an input, execute, read the output. */
export interface PreparedQ8Conv2d {
  /**
   * 'depthwise' (groups = channels), 'igemm' (dense, grouped, 1x1, linear) or 'im2col' (a k x k
   * stem with few input channels: its windows as rows, then igemm's 1x1 over them)
   */
  readonly kernel: 'depthwise' | 'igemm' | 'im2col';
  /** Copies a new input (and residual) of the prepared shapes and parameters into place. */
  setInput(input: Uint8Array, residual?: Uint8Array): void;
  /**
   * Runs the kernel; returns how many of its `tiles` ran relaxed SIMD's dot product. That takes
   * input codes (and zero point) <= 127: where a few codes are above, only the tiles whose window
   * meets them run the plain-SIMD form (same results). 0 on the plain binary, and for depthwise
   * kernels other than 3x3 without dilation.
   */
  execute(): number;
  /**
   * igemm and im2col: tiles of `Q8WasmKernels.tilePixels` output pixels (as the dot form is set
   * now), per group. Depthwise: output rows times groups of 8 channels (a 3x3 depthwise runs
   * relaxed SIMD's dot by such rows, each row whose three input rows hold no code above 127 in
   * its channels).
   */
  readonly tiles: number;
  /** The output of the last execute(), copied out. */
  output(): Q8Tensor;
}

export interface Q8WasmKernels {
  /** The binary was built with relaxed SIMD (cnn_q8-relaxed.wasm). */
  readonly relaxedSimd: boolean;
  /** The engine computes the fused dot-add right (`probeFusedDot`), so `useFusedDot(true)` may take it. */
  readonly fusedDotSafe: boolean;
  /** Whether igemm takes the fused dot-add (off by default: it is faster only where V8 has AVX-VNNI). */
  readonly fusedDot: boolean;
  /** Turns the fused dot-add on or off where it is safe; returns whether it is on. */
  useFusedDot(on: boolean): boolean;
  /**
   * Output pixels per igemm tile: 6 with the fused dot-add (one instruction where it is fast,
   * so more sums in flight), 4 with the split form and on the plain binary.
   */
  readonly tilePixels: number;
  prepareConv2d(p: Q8Conv2dParams): PreparedQ8Conv2d;
  conv2d(p: Q8Conv2dParams): Q8Tensor;
  linear(p: Q8LinearParams): Q8Tensor;
  /** Forgets every prepared layer, reusing their memory (using one afterwards throws DisposedError). */
  reset(): void;
}

/**
 * A bump allocator over the int8 binary's memory, from its heap base up: every block 16-byte
 * aligned with SLACK readable bytes after it; the memory grows as needed (so views of it are
 * made after allocating, never kept across an allocation).
 */
export class Q8Memory {
  private readonly heapBase: number;
  private top: number;
  constructor(private readonly ex: Q8Exports) {
    this.heapBase = align(ex.__heap_base.value as number);
    this.top = this.heapBase;
  }
  alloc(bytes: number): number {
    const at = this.top;
    this.top = align(at + bytes + SLACK);
    const need = this.top - this.ex.memory.buffer.byteLength;
    if (need > 0) this.ex.memory.grow(Math.ceil(need / PAGE));
    return at;
  }
  put(src: ArrayBufferView): number {
    const at = this.alloc(src.byteLength);
    new Uint8Array(this.ex.memory.buffer, at, src.byteLength).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
    return at;
  }
  /** The next free address. */
  get mark(): number {
    return this.top;
  }
  /** Frees everything allocated. */
  reset(): void {
    this.top = this.heapBase;
  }
}

/** Where a convolution's tensors live in wasm memory (byte addresses; residual 0 for none). */
export interface Q8ConvTensors {
  readonly x: number;
  readonly y: number;
  readonly residual: number;
}

/** Input channels below which a k x k convolution (groups 1) runs as im2col rows and a 1x1 (stems). */
export const IM2COL_BELOW_CHANNELS = 8;
/** Bytes of im2col rows a layer may hold (beyond: the per-tap form). */
const IM2COL_MAX_BYTES = 64 * 2 ** 20;

/** A convolution ready in wasm memory: its argument block and how to run it. */
export interface Q8ConvLayer {
  /** the argument block of q8_conv2d (q8_dwconv2d when `depthwise`) */
  readonly args: number;
  readonly depthwise: boolean;
  /** where set, q8_im2col(im2col) first writes the window rows that `args` (a 1x1) reads */
  readonly im2col: number;
}

/**
 * Runs a layer written by writeQ8Conv; returns q8_conv2d's count of relaxed-SIMD tiles
 * (q8_dwconv2d's count of relaxed-SIMD rows for depthwise).
 */
export function runQ8Conv(ex: Q8Exports, layer: Q8ConvLayer): number {
  if (layer.depthwise) return ex.q8_dwconv2d(layer.args);
  if (layer.im2col) ex.q8_im2col(layer.im2col);
  return ex.q8_conv2d(layer.args);
}

/**
 * Packs one convolution's weights (bias and requantisation multipliers folded in by the binary's
 * packer), its zero-point row and its argument block (kernels-wasm/src/q8/mod.rs ConvArgs) into
 * `memory`, for `plan` (planConv2d of `p`). `where` names the layer in errors; `tensors` says
 * where its input, output and residual live (called once the layer is known to fit the kernels,
 * so a caller may allocate them there). A k x k layer with fewer than IM2COL_BELOW_CHANNELS input
 * channels (a stem) becomes im2col rows and a 1x1 over them: the same sums, with whole quads of
 * 4 codes instead of one mostly empty quad per tap.
 */
export function writeQ8Conv(ex: Q8Exports, memory: Q8Memory, p: Q8Conv2dParams, plan: Q8ConvPlan, where: string, tensors: () => Q8ConvTensors): Q8ConvLayer {
  const taps = plan.kernel[0] * plan.kernel[1];
  if (taps > MAX_TAPS) throw new ShapeError(`${where}: a ${plan.kernel[0]}x${plan.kernel[1]} kernel has ${taps} taps, over the ${MAX_TAPS} the int8 kernels take`, { code: 'unsupported' });
  const depthwise = plan.groups === plan.inC && plan.outC === plan.inC;
  const K = taps * plan.inC;
  const rows = plan.n * plan.outH * plan.outW * K;
  const im2col = !depthwise && plan.groups === 1 && taps > 1 && plan.inC < IM2COL_BELOW_CHANNELS && rows <= IM2COL_MAX_BYTES;
  const at = tensors();
  const xZero = p.input.quant.zeroPoint;
  const weight = memory.put(im2col ? tapMajor(p.weight, plan.outC, plan.inC, taps) : p.weight);
  const bias = memory.put(p.bias ?? new Int32Array(plan.outC));
  const mult = memory.put(plan.mult);
  const inCg = plan.inC / plan.groups;
  const packed = memory.alloc(
    depthwise ? ex.q8_dwconv2d_packed_bytes(plan.outC, taps) : im2col ? ex.q8_conv2d_packed_bytes(plan.outC, K, 1, 1) : ex.q8_conv2d_packed_bytes(plan.outC, inCg, taps, plan.groups),
  );
  if (depthwise) ex.q8_dwconv2d_pack(packed, weight, bias, mult, plan.outC, taps, xZero);
  else if (im2col) ex.q8_conv2d_pack(packed, weight, bias, mult, plan.outC, K, 1, 1, xZero);
  else ex.q8_conv2d_pack(packed, weight, bias, mult, plan.outC, inCg, taps, plan.groups, xZero);
  const zeros = memory.put(new Uint8Array(plan.inC + SLACK).fill(xZero));
  const values: Record<(typeof CONV_ARGS)[number], number> = {
    ...at, packed, zeros, n: plan.n, inH: plan.inH, inW: plan.inW, inC: plan.inC, outH: plan.outH, outW: plan.outW, outC: plan.outC,
    kernelH: plan.kernel[0], kernelW: plan.kernel[1], strideH: plan.stride[0], strideW: plan.stride[1], padTop: plan.padding[0], padLeft: plan.padding[1],
    dilationH: plan.dilation[0], dilationW: plan.dilation[1], groups: plan.groups, xZero, yZero: p.output.zeroPoint, lo: plan.clamp[0], hi: plan.clamp[1],
    residualZero: p.residual?.quant.zeroPoint ?? 0, residualMult: 0, smallRange: smallRange(p.weight, p.bias, plan.mult, xZero, p.residual ? plan.residualMult : 0) ? 1 : 0,
  };
  if (!im2col) return { args: writeArgs(ex, memory, values, plan.residualMult), depthwise, im2col: 0 };
  // the window rows: the layer's own geometry, writing to them; then a 1x1 over them
  const windows = memory.alloc(rows);
  return {
    im2col: writeArgs(ex, memory, { ...values, y: windows }, plan.residualMult),
    args: writeArgs(ex, memory, {
      ...values, x: windows, inH: plan.outH, inW: plan.outW, inC: K, kernelH: 1, kernelW: 1, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, dilationH: 1, dilationW: 1,
    }, plan.residualMult),
    depthwise: false,
  };
}

function writeArgs(ex: Q8Exports, memory: Q8Memory, values: Record<(typeof CONV_ARGS)[number], number>, residualMult: number): number {
  const args = memory.alloc(CONV_ARGS.length * 4);
  const words = new Int32Array(ex.memory.buffer, args, CONV_ARGS.length);
  CONV_ARGS.forEach((name, i) => (words[i] = values[name]));
  new Float32Array(ex.memory.buffer, args, CONV_ARGS.length)[CONV_ARGS.indexOf('residualMult')] = residualMult;
  return args;
}

/**
 * Whether every output channel's requantised sum, bias' + sum(weight * code) times its
 * multiplier (bias' = bias - xZero * sum(weight), as the packers fold it), plus a residual's
 * (code - zero point) * residualMult (0: none), stays below 2^21 in magnitude for any codes
 * 0..255: then the kernels' short epilogue holds (ConvArgs small_range,
 * kernels-wasm/src/q8/requant.rs store8x2_small). Real layers are far inside it; a multiplier
 * of 1 on 8-bit sums is not.
 */
export function smallRange(weight: Int8Array, bias: Int32Array | undefined, mult: Float32Array, xZero: number, residualMult = 0): boolean {
  const k = weight.length / mult.length;
  for (let o = 0; o < mult.length; o++) {
    let sum = 0;
    let abs = 0;
    for (let i = o * k; i < (o + 1) * k; i++) {
      sum += weight[i];
      abs += Math.abs(weight[i]);
    }
    const bound = Math.abs((bias?.[o] ?? 0) - xZero * sum) + 255 * abs;
    if (!(bound * Math.abs(mult[o]) + 255 * Math.abs(residualMult) < 2 ** 21)) return false;
  }
  return true;
}

/** torch's [outC][inC][kh][kw] as [outC][tap][inC]: a 1x1's weights over im2col rows. */
function tapMajor(weight: Int8Array, outC: number, inC: number, taps: number): Int8Array {
  const out = new Int8Array(weight.length);
  for (let o = 0; o < outC; o++) {
    for (let c = 0; c < inC; c++) {
      for (let t = 0; t < taps; t++) out[(o * taps + t) * inC + c] = weight[(o * inC + c) * taps + t];
    }
  }
  return out;
}

/** Instantiates cnn_q8.wasm or cnn_q8-relaxed.wasm (its bytes or compiled module). */
export async function instantiateQ8Kernels(binary: BufferSource | WebAssembly.Module): Promise<Q8WasmKernels> {
  const module = binary instanceof WebAssembly.Module ? binary : await WebAssembly.compile(binary);
  const instance = await WebAssembly.instantiate(module, {});
  const ex = instance.exports as unknown as Q8Exports;
  if (typeof ex.q8_conv2d !== 'function') {
    throw new ShapeError('instantiateQ8Kernels: expected an int8 kernel binary (cnn_q8*.wasm, exports q8_conv2d), got one without it');
  }
  return new Kernels(ex);
}

class Kernels implements Q8WasmKernels {
  readonly relaxedSimd: boolean;
  readonly fusedDotSafe: boolean;
  private fused = false;
  private readonly memory: Q8Memory;
  /** bumped by reset(): a prepared layer of an older generation no longer owns its memory */
  private generation = 0;
  constructor(private readonly ex: Q8Exports) {
    this.fusedDotSafe = probeFusedDot(ex);
    this.relaxedSimd = (ex.cnn_kernels_features() & 1) === 1;
    this.memory = new Q8Memory(ex);
  }

  get fusedDot(): boolean {
    return this.fused;
  }

  get tilePixels(): number {
    return q8TilePixels(this.ex);
  }

  useFusedDot(on: boolean): boolean {
    this.fused = this.fusedDotSafe && this.ex.q8_set_fused_dot(on ? 1 : 0) === 1;
    return this.fused;
  }

  reset(): void {
    this.memory.reset();
    this.generation++;
  }

  prepareConv2d(p: Q8Conv2dParams): PreparedQ8Conv2d {
    const plan = planConv2d(p);
    const ySize = plan.outShape.reduce((a, d) => a * d, 1);
    let x = 0;
    let y = 0;
    let residual = 0;
    const layer = writeQ8Conv(this.ex, this.memory, p, plan, 'q8 conv2d (wasm)', () => {
      [x, y, residual] = [this.memory.alloc(p.input.data.length), this.memory.alloc(ySize), p.residual ? this.memory.alloc(ySize) : 0];
      return { x, y, residual };
    });
    const ex = this.ex;
    const generation = this.generation;
    const live = () => {
      if (generation !== this.generation) throw new DisposedError('q8 conv2d (wasm): this layer was prepared before reset(), which freed its memory; prepare it again');
    };
    const prepared: PreparedQ8Conv2d = {
      kernel: layer.depthwise ? 'depthwise' : layer.im2col ? 'im2col' : 'igemm',
      get tiles() {
        return layer.depthwise ? plan.n * plan.outH * Math.ceil(plan.outC / 8) : plan.groups * Math.ceil((plan.n * plan.outH * plan.outW) / q8TilePixels(ex));
      },
      setInput(input, res) {
        live();
        if (input.length !== p.input.data.length) throw new ShapeError(`q8 conv2d (wasm): expected an input of ${p.input.data.length} bytes, got ${input.length}`);
        new Uint8Array(ex.memory.buffer, x, input.length).set(input);
        if (residual) {
          if (res?.length !== ySize) throw new ShapeError(`q8 conv2d (wasm): expected a residual of ${ySize} bytes, got ${res?.length ?? 'none'}`);
          new Uint8Array(ex.memory.buffer, residual, ySize).set(res);
        }
      },
      execute() {
        live();
        return runQ8Conv(ex, layer);
      },
      output() {
        live();
        return { data: new Uint8Array(ex.memory.buffer, y, ySize).slice(), shape: plan.outShape, quant: p.output };
      },
    };
    prepared.setInput(p.input.data, p.residual?.data);
    return prepared;
  }

  conv2d(p: Q8Conv2dParams): Q8Tensor {
    const prepared = this.prepareConv2d(p);
    prepared.execute();
    return prepared.output();
  }

  linear(p: Q8LinearParams): Q8Tensor {
    return this.conv2d(linearAsConv2d(p));
  }
}

function align(n: number): number {
  return Math.ceil(n / 16) * 16;
}

export { createInt8WasmBackend } from './q8-executable.js';
