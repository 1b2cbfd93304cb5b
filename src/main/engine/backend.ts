// Opening a checkpoint on a backend: the GPU (weights uploaded tensor by tensor, the variant's KV cache
// allocated for n_ctx) or the CPU reference (float64, slow; for machines without a usable adapter).
// 'auto' tries the GPU and falls back to the CPU with the reason in `fallback`.
import { GpuUnavailableError, InvalidRequestError } from '../../shared/errors';
import { CpuBackend } from './arch/cpu';
import { GpuBackend } from './arch/gpu';
import type { BackendKind, InferenceBackend, WeightDtype } from './arch/types';
import { createDevice, describeAdapter, requestAdapter } from './gpu/device';
import { GpuRuntime } from './gpu/runtime';
import { loadWeights, type CheckpointInfo } from './model/loader';
import { f16ToF32Array } from './ops/convert';
import { uploadCheckpoint } from './weights/upload';

export interface BackendOptions {
  backend?: BackendKind | 'auto'; // default 'auto'
  dtype?: WeightDtype; // default f16
  /** Tokens the KV cache holds; default the model's max_position_embeddings. */
  nCtx?: number;
  /** A runtime the caller owns (tests, the app); otherwise one is made on the first adapter. */
  runtime?: GpuRuntime;
  onProgress?: (p: { done: number; total: number; tensor: string }) => void;
  signal?: AbortSignal;
}

export interface OpenedBackend {
  backend: InferenceBackend;
  info: CheckpointInfo;
  /** Why 'auto' fell back to the CPU. */
  fallback?: string;
}

/** The runtime on the first adapter Dawn finds, with every optional feature it offers. */
export async function defaultRuntime(): Promise<{ rt: GpuRuntime; device: string }> {
  const adapter = await requestAdapter();
  const a = describeAdapter(adapter);
  const rt = new GpuRuntime(await createDevice(adapter, { label: 'engine' }));
  return { rt, device: `${a.vendor} / ${a.description || a.device} (${a.backend})` };
}

function contextOf(info: CheckpointInfo, nCtx: number | undefined): number {
  const max = info.config.maxPositions;
  const n = nCtx ?? max;
  if (!Number.isInteger(n) || n < 1) throw new InvalidRequestError(`context length must be a whole number ≥ 1, got ${n}`);
  if (n > max) throw new InvalidRequestError(`context length ${n.toLocaleString('en-US')} exceeds the model's max_position_embeddings (${max.toLocaleString('en-US')}); lower it`);
  return n;
}

async function openGpu(dir: string, o: BackendOptions, dtype: WeightDtype): Promise<OpenedBackend> {
  const { rt, device } = o.runtime ? { rt: o.runtime, device: 'caller-provided device' } : await defaultRuntime();
  const { info, weights } = await uploadCheckpoint(rt, dir, { dtype, onProgress: o.onProgress, signal: o.signal });
  const backend = new GpuBackend(rt, info.config, weights, { nCtx: contextOf(info, o.nCtx), device });
  return { backend, info };
}

async function openCpu(dir: string, o: BackendOptions, dtype: WeightDtype): Promise<OpenedBackend> {
  const loaded = await loadWeights(dir, { dtype, onProgress: o.onProgress, signal: o.signal });
  // f16 on the CPU: the reference computes in float64 on the f16-rounded weights the GPU would hold.
  const map = new Map<string, Float32Array>();
  for (const [k, v] of loaded.tensors) map.set(k, v instanceof Float32Array ? v : f16ToF32Array(v));
  return { backend: new CpuBackend(loaded.info.config, map, dtype, contextOf(loaded.info, o.nCtx)), info: loaded.info };
}

export async function openBackend(dir: string, o: BackendOptions = {}): Promise<OpenedBackend> {
  const dtype = o.dtype ?? 'f16';
  if (dtype !== 'f16' && dtype !== 'f32') throw new InvalidRequestError(`dtype must be f16 or f32, got ${String(dtype)}`);
  const kind = o.backend ?? 'auto';
  if (kind === 'cpu') return openCpu(dir, o, dtype);
  if (kind === 'gpu') return openGpu(dir, o, dtype);
  if (kind !== 'auto') throw new InvalidRequestError(`backend must be gpu, cpu or auto, got ${String(kind)}`);
  try {
    return await openGpu(dir, o, dtype);
  } catch (err) {
    if (!(err instanceof GpuUnavailableError)) throw err;
    return { ...(await openCpu(dir, o, dtype)), fallback: err.message };
  }
}
