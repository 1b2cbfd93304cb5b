// Op: store f32 activations into a KV cache (any layout) at rows [pos0, pos0 + n).
import code from '../../../../kernels/attn_append.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { kvBytesPerElement, packUniform, requireEven, type KvFormat } from './attn_common';
import { grid2d } from './uniforms';

const kernel: KernelSource = { name: 'attn_append', code };

export interface AttnAppendShape {
  n: number; // rows to store
  width: number; // elements per row to copy
  pos0: number; // first cache row written
  kv: KvFormat;
  srcStride?: number; // elements between source rows (default width)
  srcOff?: number; // first source column (default 0)
  dstStride?: number; // elements per cache row (default width)
  dstOff?: number; // first cache column (default 0)
}

/**
 * src: [n, srcStride] f32; cache: [n_ctx, dstStride] array<u32> in `kv` format. Writes
 * cache[pos0 + i, dstOff + c] = src[i, srcOff + c] for c < width. For f16, width/strides/offsets must be
 * even. The caller keeps pos0 + n ≤ n_ctx.
 */
export function recordAttnAppend(rt: GpuRuntime, b: { src: GPUBuffer; cache: GPUBuffer }, s: AttnAppendShape): void {
  const srcStride = s.srcStride ?? s.width;
  const dstStride = s.dstStride ?? s.width;
  if (s.kv === 'f16') requireEven('attn_append', { width: s.width, srcStride, srcOff: s.srcOff ?? 0, dstStride, dstOff: s.dstOff ?? 0 });
  const u = rt.uniform(packUniform({ n: s.n, width: s.width, pos0: s.pos0, srcStride, srcOff: s.srcOff ?? 0, dstStride, dstOff: s.dstOff ?? 0, pad: 0 }));
  const words = (s.n * s.width) / (s.kv === 'f16' ? 2 : 1);
  const pipe = rt.pipeline(kernel, { KV_F16: s.kv === 'f16' ? 1 : 0 });
  rt.dispatch(pipe, [u, b.src, b.cache], grid2d(rt, Math.ceil(words / 64)), 'attn_append');
}

export function attnAppendFlops(_s: AttnAppendShape): number {
  return 0;
}

export function attnAppendBytes(s: AttnAppendShape): number {
  return s.n * s.width * (4 + kvBytesPerElement(s.kv));
}
