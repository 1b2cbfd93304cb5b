// Checkpoint → GPU buffers, one tensor at a time: read (positioned), convert (f16 bits or f32), upload,
// drop. A 3.6 GB checkpoint thus never sits in JS memory whole. Every weight is an `array<u32>` on
// the GPU: packed f16 pairs (low half = even element) or f32 bit patterns, as the kernels' W_F16 says.
import { weightSpec } from '../../../shared/arch/spec';
import { CancelledError, CheckpointError, GpuUnavailableError } from '../../../shared/errors';
import type { GpuRuntime } from '../gpu/runtime';
import { assertSpec, inspectCheckpoint, type CheckpointInfo } from '../model/loader';
import { TensorReader } from '../model/safetensors';
import type { WeightDtype } from '../arch/types';
import { fusedGroups, partIndex } from './fuse';
import { pairOrderTensors, toPairOrder, usesPairOrder } from './rope_pairs';

export interface GpuWeights {
  dtype: WeightDtype;
  /**
   * By HF name, except the fused projections (fuse.ts) which replace their parts; lm_head.weight is the
   * embedding's buffer when tied. [out, in] row-major.
   */
  tensors: Map<string, GPUBuffer>;
  /** Bytes held on the GPU (a tied head counted once). */
  bytes: number;
  /** q_proj/k_proj rows (and biases) are in rotation-pair order (rope_pairs.ts). */
  pairOrder: boolean;
}

export interface UploadOptions {
  dtype: WeightDtype;
  onProgress?: (p: { done: number; total: number; tensor: string }) => void; // checkpoint bytes read
  signal?: AbortSignal;
}

/** The buffer of `name`; a missing one is a bug in the forward pass (the spec check ran at load). */
export function weight(w: GpuWeights, name: string): GPUBuffer {
  const b = w.tensors.get(name);
  if (!b) throw new Error(`weight ${name} was not uploaded; the forward pass asked for a tensor its spec does not name`);
  return b;
}

export function destroyWeights(w: GpuWeights): void {
  for (const b of new Set(w.tensors.values())) b.destroy();
  w.tensors.clear();
}

function checkFits(rt: GpuRuntime, name: string, bytes: number): void {
  const max = rt.device.limits.maxStorageBufferBindingSize;
  if (bytes > max) {
    throw new GpuUnavailableError(`${name} needs ${bytes.toLocaleString('en-US')} bytes in one buffer, more than this GPU binds (${max.toLocaleString('en-US')}): load the model in f16, or use a GPU with larger buffers`);
  }
}

/** Inspect, check the spec, and upload every tensor of the checkpoint in `dir`. */
export async function uploadCheckpoint(rt: GpuRuntime, dir: string, opts: UploadOptions): Promise<{ info: CheckpointInfo; weights: GpuWeights }> {
  const info = await inspectCheckpoint(dir);
  assertSpec(info.spec);
  const specs = weightSpec(info.config).filter((s) => info.tensors.has(s.name));
  const total = specs.reduce((a, s) => a + info.tensors.get(s.name)!.byteLength, 0);
  const weights: GpuWeights = { dtype: opts.dtype, tensors: new Map(), bytes: 0, pairOrder: usesPairOrder(info.config) };
  const paired = new Map<string, { heads: number; dim: number }>();
  if (weights.pairOrder) for (let L = 0; L < info.config.numLayers; L++) for (const [k, v] of Object.entries(pairOrderTensors(info.config, L))) paired.set(k, v);
  const eb = opts.dtype === 'f16' ? 2 : 4;
  const elems = (name: string): number => info.tensors.get(name)!.shape.reduce((a, b) => a * b, 1);
  const parts = partIndex(fusedGroups(info.config, (n) => info.tensors.has(n)), elems);
  const reader = new TensorReader();
  let done = 0;
  try {
    for (const s of specs) {
      if (opts.signal?.aborted) throw new CancelledError('Loading the checkpoint was cancelled');
      const t = info.tensors.get(s.name)!;
      let data = opts.dtype === 'f16' ? await reader.f16(t) : await reader.f32(t);
      const pair = paired.get(s.name);
      if (pair) data = toPairOrder(data, pair.heads, pair.dim, t.shape.length === 2 ? t.shape[1] : 1);
      const part = parts.get(s.name);
      if (part) {
        // Written in spec order, so a part's padding to 4 bytes is overwritten by the next part.
        if ((part.offset * eb) % 4 !== 0) throw new CheckpointError(`${s.name} starts at element ${part.offset} of ${part.group.name}, not a 4-byte boundary in ${opts.dtype}; load the model in f32`);
        let buf = weights.tensors.get(part.group.name);
        if (!buf) {
          checkFits(rt, part.group.name, part.total * eb);
          buf = rt.buffer(part.total * eb, part.group.name); // [Σ out, in] like its parts
          weights.tensors.set(part.group.name, buf);
          weights.bytes += buf.size;
        }
        rt.write(buf, data, part.offset * eb);
      } else {
        checkFits(rt, s.name, data.byteLength);
        weights.tensors.set(s.name, rt.upload(data, s.name));
        weights.bytes += Math.ceil(data.byteLength / 4) * 4;
      }
      done += t.byteLength;
      opts.onProgress?.({ done, total, tensor: s.name });
    }
  } catch (err) {
    destroyWeights(weights);
    throw err;
  } finally {
    await reader.close();
  }
  tieHead(weights);
  return { info, weights };
}

/** A tied head reads the embedding's buffer under lm_head's name. */
export function tieHead(w: GpuWeights): void {
  if (!w.tensors.has('lm_head.weight')) w.tensors.set('lm_head.weight', weight(w, 'model.embed_tokens.weight'));
}
