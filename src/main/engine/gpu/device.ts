// Adapter and device acquisition through Dawn (npm `webgpu`). One GPUDevice is made here and passed
// into everything else, so tests, benchmarks and the app own its lifetime.
import { create, globals } from 'webgpu';
import type { AdapterInfo } from '../../../shared/api';
import { GpuUnavailableError } from '../../../shared/errors';

// allow_unsafe_apis: subgroup matrices and timestamp queries; vulkan_enable_f16_on_nvidia: without it
// NVIDIA's Vulkan driver hides shader-f16 from Dawn (../shared/docs/webgpu.md).
// disable_robustness: Dawn otherwise clamps every buffer index in every shader, a guard for untrusted web
// content. The workbench runs only its own kernels, which keep their indices in range themselves (and
// are tested against the CPU reference with the clamps off, as they ship); on the H200 the clamps cost
// 9–20% of a decode step's GPU time (docs/benchmarks.md). WORKBENCH_DAWN_ROBUSTNESS=1 puts them back,
// to tell a kernel's out-of-range read from other trouble.
// WORKBENCH_DAWN_TOGGLES=a,b appends Dawn toggles, only to measure what they cost (e.g. `skip_validation`:
// Dawn stops checking each command; an invalid command is then undefined behaviour). Tests never set it.
const ROBUST = process.env.WORKBENCH_DAWN_ROBUSTNESS === '1';
const EXTRA_TOGGLES = (process.env.WORKBENCH_DAWN_TOGGLES ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
const badToggle = EXTRA_TOGGLES.find((t) => !/^[a-z0-9_]+$/.test(t));
if (badToggle !== undefined) {
  throw new Error(`WORKBENCH_DAWN_TOGGLES: "${badToggle}" is not a Dawn toggle name (lower case, digits and underscores, e.g. skip_validation); fix or unset the variable`);
}
const DAWN_TOGGLES = [
  `enable-dawn-features=${['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia', ...(ROBUST ? [] : ['disable_robustness']), ...EXTRA_TOGGLES].join(',')}`,
];

let gpuSingleton: GPU | null = null;
function gpu(): GPU {
  if (!gpuSingleton) {
    Object.assign(globalThis, globals);
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    gpuSingleton = create(DAWN_TOGGLES) as GPU;
  }
  return gpuSingleton;
}

export async function requestAdapter(): Promise<GPUAdapter> {
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu().requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    throw new GpuUnavailableError(`Dawn could not enumerate GPUs: ${(err as Error).message}. Install a Vulkan (Linux), Metal (macOS) or D3D12 (Windows) driver; on a machine without a GPU install Mesa's lavapipe (mesa-vulkan-drivers ≥ 25).`);
  }
  if (!adapter) {
    throw new GpuUnavailableError('No GPU adapter found. Install a Vulkan (Linux), Metal (macOS) or D3D12 (Windows) driver; on a machine without a GPU install Mesa\'s lavapipe (mesa-vulkan-drivers ≥ 25, e.g. from bookworm-backports), then restart the workbench.');
  }
  return adapter;
}

export function describeAdapter(adapter: GPUAdapter): AdapterInfo {
  const info = adapter.info as GPUAdapterInfo & { backendType?: string; subgroupMinSize?: number; subgroupMaxSize?: number };
  const l = adapter.limits;
  const isSoftware = info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${info.device} ${info.description}`);
  // Dawn's Node binding does not report the backend; it is fixed per platform in its default build.
  const backend = info.backendType ?? ({ darwin: 'metal', win32: 'd3d12' } as Record<string, string>)[process.platform] ?? 'vulkan';
  return {
    vendor: info.vendor || 'unknown',
    architecture: info.architecture || '',
    device: info.device || '',
    description: info.description || '',
    backend,
    isSoftware,
    features: [...adapter.features].map(String).sort(),
    limits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      subgroupMinSize: info.subgroupMinSize,
      subgroupMaxSize: info.subgroupMaxSize,
    },
  };
}

/** Probe without creating a device: what the status bar shows. Never throws. */
export async function probeAdapter(): Promise<{ adapter: AdapterInfo | null; error?: string }> {
  try {
    return { adapter: describeAdapter(await requestAdapter()) };
  } catch (err) {
    return { adapter: null, error: (err as Error).message };
  }
}

/** Optional features the engine uses when the adapter has them (kernels keep a path without each). */
export const OPTIONAL_FEATURES: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query', 'chromium-experimental-subgroup-matrix' as GPUFeatureName];

export interface CreateDeviceOptions {
  /** Features the caller cannot work without; a missing one is an error naming it. */
  requiredFeatures?: GPUFeatureName[];
  label?: string;
}

/**
 * A device with every optional feature the adapter offers and the adapter's maxima for the limits
 * that bound model size (storage binding, buffer size, workgroup storage, invocations), instead of
 * WebGPU's conservative defaults (128 MiB bindings would not hold one embedding table of a 1B model).
 */
export async function createDevice(adapter: GPUAdapter, opts: CreateDeviceOptions = {}): Promise<GPUDevice> {
  const required = opts.requiredFeatures ?? [];
  const missing = required.filter((f) => !adapter.features.has(f));
  if (missing.length > 0) {
    const name = adapter.info.description || adapter.info.device || adapter.info.vendor || 'this GPU';
    throw new GpuUnavailableError(`The GPU adapter (${name}) lacks the feature(s) ${missing.join(', ')}. Update the GPU driver, or choose a model and settings that do not need them.`, { missing });
  }
  const features = [...new Set([...required, ...OPTIONAL_FEATURES.filter((f) => adapter.features.has(f))])];
  const l = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
  };
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ label: opts.label ?? 'workbench', requiredFeatures: features, requiredLimits });
  } catch (err) {
    throw new GpuUnavailableError(`The GPU refused to create a device with features [${features.join(', ')}]: ${(err as Error).message}. Update the GPU driver or restart the workbench.`);
  }
  return device;
}
