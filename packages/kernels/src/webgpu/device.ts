// Getting a GPUDevice from whatever the app has (a GPU object, an adapter, a device, or
// navigator.gpu), with the limits this backend needs raised to what the adapter allows.

/** Why WebGPU could not be used; `reason` is stable for programs, the message is for people. */
export type WebGpuUnavailableReason = 'no-webgpu' | 'no-adapter' | 'device-request-failed' | 'missing-feature' | 'insufficient-limits' | 'device-lost';

export class WebGpuUnavailableError extends Error {
  constructor(
    readonly reason: WebGpuUnavailableReason,
    message: string,
  ) {
    super(message);
    this.name = 'WebGpuUnavailableError';
  }
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
}

export interface GpuAcquireOptions {
  gpu?: GPU;
  adapter?: GPUAdapter;
  device?: GPUDevice;
  powerPreference?: GPUPowerPreference;
  wantF16: boolean;
  /** throw unless the device gets shader-f16 */
  requireF16: boolean;
  /** ask for 'timestamp-query' where the adapter has it */
  profiling?: boolean;
}

export interface AcquiredDevice {
  device: GPUDevice;
  adapter: AdapterSummary;
  f16: boolean;
  /** why f16 is off although it was asked for (precision 'auto') */
  f16Note?: string;
}

/** What every kernel needs, at least (WebGPU's defaults already satisfy these). */
const REQUIRED_LIMITS = {
  maxStorageBuffersPerShaderStage: 3,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupStorageSize: 8192,
} as const;

function summarize(info: GPUAdapterInfo | undefined, isFallback: boolean): AdapterSummary {
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    isFallbackAdapter: isFallback,
  };
}

export function describeAdapter(a: AdapterSummary): string {
  return [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ') || 'unknown adapter';
}

export async function acquireDevice(o: GpuAcquireOptions): Promise<AcquiredDevice> {
  const { device, summary, f16Note } = o.device ? describeGivenDevice(o, o.device) : await requestDeviceFrom(o, await findAdapter(o));
  checkRequiredLimits(device.limits, 'device');
  return { device, adapter: summary, f16: o.wantF16 && device.features.has('shader-f16'), f16Note };
}

interface DeviceAndSummary {
  device: GPUDevice;
  summary: AdapterSummary;
  f16Note?: string;
}

/** A device the app created: we can only report whether it has shader-f16, not ask for it. */
function describeGivenDevice(o: GpuAcquireOptions, device: GPUDevice): DeviceAndSummary {
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  const summary = summarize(info, (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ?? false);
  if (!o.wantF16 || device.features.has('shader-f16')) return { device, summary };
  const f16Note = "the device passed in was created without the 'shader-f16' feature";
  if (o.requireF16) {
    throw new WebGpuUnavailableError('missing-feature', `precision 'f16' needs a device with the 'shader-f16' feature; ${f16Note} (request it in requestDevice, or use precision 'auto' or 'f32')`);
  }
  return { device, summary, f16Note };
}

/** options.adapter, or one requested from options.gpu or navigator.gpu. */
async function findAdapter(o: GpuAcquireOptions): Promise<GPUAdapter> {
  if (o.adapter) return o.adapter;
  const gpu = o.gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) {
    throw new WebGpuUnavailableError(
      'no-webgpu',
      'WebGPU is not available: expected options.gpu, options.adapter, options.device or navigator.gpu, found none ' +
        "(in Node, pass { gpu: create([]) } from the 'webgpu' package; in a browser, WebGPU needs a secure context and a supporting browser)",
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: o.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new WebGpuUnavailableError(
      'no-adapter',
      'WebGPU is present but requestAdapter() returned null: expected a GPU adapter, found none ' +
        '(no supported GPU or driver, or WebGPU is disabled in this browser)',
    );
  }
  return adapter;
}

/** Requests a device with the features asked for and the adapter's full buffer limits. */
async function requestDeviceFrom(o: GpuAcquireOptions, adapter: GPUAdapter): Promise<DeviceAndSummary> {
  const summary = summarize(adapter.info, (adapter.info as { isFallbackAdapter?: boolean })?.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false);
  const hasF16 = adapter.features.has('shader-f16');
  let f16Note: string | undefined;
  if (o.wantF16 && !hasF16) {
    f16Note = `the adapter (${describeAdapter(summary)}) has no 'shader-f16' feature`;
    if (o.requireF16) {
      throw new WebGpuUnavailableError('missing-feature', `precision 'f16' needs the 'shader-f16' feature; ${f16Note} (use precision 'auto' or 'f32')`);
    }
  }
  const l = adapter.limits;
  checkRequiredLimits(l, 'adapter');
  try {
    const device = await adapter.requestDevice({
      requiredFeatures: [
        ...(o.wantF16 && hasF16 ? (['shader-f16'] as const) : []),
        ...(o.profiling && adapter.features.has('timestamp-query') ? (['timestamp-query'] as const) : []),
      ],
      // Defaults cap bindings at 128 MiB; ask for all the adapter has (big arenas, big FC layers).
      requiredLimits: {
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxBufferSize: l.maxBufferSize,
        maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      },
    });
    return { device, summary, f16Note };
  } catch (e) {
    throw new WebGpuUnavailableError('device-request-failed', `WebGPU requestDevice() failed on ${describeAdapter(summary)}: ${(e as Error).message}`);
  }
}

function checkRequiredLimits(limits: GPUSupportedLimits, of: 'adapter' | 'device'): void {
  for (const [name, min] of Object.entries(REQUIRED_LIMITS)) {
    const have = limits[name as keyof GPUSupportedLimits] as number;
    if (have < min) {
      throw new WebGpuUnavailableError('insufficient-limits', `WebGPU ${of} limit ${name} is ${have}; this backend needs at least ${min}`);
    }
  }
}
