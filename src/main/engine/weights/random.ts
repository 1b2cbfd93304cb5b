// Random weights of a config's real shapes, generated on the GPU (a counter-based hash per element),
// so a benchmark of a 1.8B shape uploads nothing from JS. Values are uniform in ±1/sqrt(fan_in) for
// matrices (activations keep their scale through the layers), 1 for norm weights, small for biases.
import type { ModelConfig } from '../../../shared/arch/config';
import { weightSpec } from '../../../shared/arch/spec';
import fillCode from '../../../../kernels/weights_random_fill.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import type { WeightDtype } from '../arch/types';
import { fusedGroups, partIndex } from './fuse';
import { usesPairOrder } from './rope_pairs';
import { tieHead, type GpuWeights } from './upload';

const fillKernel: KernelSource = { name: 'weights_random_fill', code: fillCode };

function fillParams(words: number, seed: number, scale: number, offset: number, strideX: number): ArrayBuffer {
  const buf = new ArrayBuffer(32);
  const dv = new DataView(buf);
  dv.setUint32(0, words, true);
  dv.setUint32(4, seed >>> 0, true);
  dv.setFloat32(8, scale, true);
  dv.setFloat32(12, offset, true);
  dv.setUint32(16, strideX, true);
  return buf;
}

/** Fill `words` u32 words of `buf` with hashed values in ±scale (f16 pairs or f32), on the GPU. */
export function fillRandom(rt: GpuRuntime, buf: GPUBuffer, words: number, seed: number, scale: number, f16: boolean): void {
  const maxX = rt.device.limits.maxComputeWorkgroupsPerDimension;
  const groups = Math.ceil(words / 256);
  const gy = Math.ceil(groups / maxX);
  const gx = Math.ceil(groups / gy);
  rt.dispatch(rt.pipeline(fillKernel, { W_F16: f16 ? 1 : 0 }), [rt.uniform(fillParams(words, seed, scale, 0, gx * 256)), buf], [gx, gy], 'random-fill');
}

/** Every tensor the config's spec names, filled on the GPU; tied heads share the embedding. */
export async function randomWeights(rt: GpuRuntime, c: ModelConfig, dtype: WeightDtype, seed = 1): Promise<GpuWeights> {
  // Random rows have no order to keep: they count as pair order, as a checkpoint's would be uploaded.
  const weights: GpuWeights = { dtype, tensors: new Map(), bytes: 0, pairOrder: usesPairOrder(c) };
  const pipe = rt.pipeline(fillKernel, { W_F16: dtype === 'f16' ? 1 : 0 });
  const maxX = rt.device.limits.maxComputeWorkgroupsPerDimension;
  const specs = weightSpec(c).filter((s) => s.required || s.name !== 'lm_head.weight');
  const shapes = new Map(specs.map((s) => [s.name, s.shape]));
  const parts = partIndex(fusedGroups(c, (n) => shapes.has(n)), (n) => shapes.get(n)!.reduce((a, b) => a * b, 1));
  // A fused group is filled once, under its own name; its parts share one fan-in, hence one scale.
  const tensors = new Map<string, number[]>();
  for (const s of specs) {
    const part = parts.get(s.name);
    if (!part) tensors.set(s.name, s.shape);
    else if (!tensors.has(part.group.name)) tensors.set(part.group.name, s.shape.length === 2 ? [part.total / s.shape[1], s.shape[1]] : [part.total]);
  }
  let i = 0;
  for (const [name, shape] of tensors) {
    const s = { name, shape };
    const elems = s.shape.reduce((a, b) => a * b, 1);
    const words = dtype === 'f16' ? Math.ceil(elems / 2) : elems;
    const buf = rt.buffer(words * 4, s.name);
    const isNorm = /norm\.weight$/.test(s.name);
    const isBias = /\.bias$/.test(s.name);
    const scale = isNorm ? 0 : isBias ? 0.02 : 1 / Math.sqrt(s.shape[s.shape.length - 1]);
    const groups = Math.ceil(words / 256);
    const gy = Math.ceil(groups / maxX);
    const gx = Math.ceil(groups / gy);
    rt.dispatch(pipe, [rt.uniform(fillParams(words, seed * 7919 + i++, scale, isNorm ? 1 : 0, gx * 256)), buf], [gx, gy], 'random-fill');
    weights.tensors.set(s.name, buf);
    weights.bytes += words * 4;
    // Keep one submission's worth of pending work bounded on slow adapters.
    if (i % 64 === 0) await rt.sync();
  }
  await rt.sync();
  tieHead(weights);
  return weights;
}
