// Op: RoPE on a fused projection's query and key heads (in place) and the store of its key and value
// slices into the KV cache, the value slice optionally RMS-normalised (MLA's latent): see
// kernels/rope_store.wgsl. One dispatch where there were a RoPE pass, one or two appends and a norm.
import code from '../../../../kernels/rope_store.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { withRopeAngle } from './rope_angle';
import { kvBytesPerElement, requireEven, type KvFormat } from './attn_common';
import { grid2d, opError, requireBytes, requirePositiveInts, uniformStruct, unusedBinding, weightBytes } from './uniforms';

const kernel: KernelSource = { name: 'rope_store', code: withRopeAngle(code) };
const params = uniformStruct({
  n: 'u32', pos0: 'u32', src_stride: 'u32', rot_dim: 'u32', theta: 'f32', nq: 'u32', q_base: 'u32', q_head_stride: 'u32',
  q_rot_off: 'u32', nk: 'u32', k_base: 'u32', k_head_stride: 'u32', k_rot_off: 'u32', k_dst: 'u32', v_base: 'u32', v_width: 'u32',
  v_dst: 'u32', dst_stride: 'u32', eps: 'f32', vout_stride: 'u32',
});

/** Heads of one row, all `headStride` elements apart from `base`; dims [rotOff, rotOff + rotDim) turn. */
export interface HeadRun {
  heads: number; // may be 0 for the queries (rotated elsewhere)
  base: number;
  headStride: number;
  rotOff: number;
}

export interface RopeStoreShape {
  n: number; // tokens (rows of src)
  pos0: number; // position of row 0; also the first cache row written
  srcStride: number; // elements per src row
  rotDim: number; // rotated dims per head (even)
  interleaved: boolean; // GPT-J pairs (2i, 2i+1) instead of Llama's (i, i + rotDim/2)
  theta: number;
  q: HeadRun;
  /** Key heads: rotated, then src[base, base + heads·headStride) stored at cache column `dst`. */
  k: HeadRun & { dst: number };
  /** Value slice: src[base, base + width) stored at cache column `dst`. */
  v: { base: number; width: number; dst: number };
  dstStride: number; // elements per cache row
  kv: KvFormat;
  /** RMS-normalise the value slice before storing it (weight [v.width], same dtype as the model's weights). */
  vNorm?: { wF16: boolean; eps: number };
}

export interface RopeStoreBuffers {
  src: GPUBuffer; // [n, srcStride] f32
  cache: GPUBuffer; // [n_ctx, dstStride] in `kv` format
  /** vNorm only: the norm weight and the normalised value slice's f32 copy [n, voutStride]. */
  normW?: GPUBuffer;
  vout?: GPUBuffer;
  voutStride?: number;
}

export function recordRopeStore(rt: GpuRuntime, b: RopeStoreBuffers, s: RopeStoreShape): void {
  requirePositiveInts('rope_store', { n: s.n, srcStride: s.srcStride, rotDim: s.rotDim, dstStride: s.dstStride, 'k.heads': s.k.heads, 'v.width': s.v.width });
  if (s.rotDim % 2 !== 0) throw opError('rope_store', `rotary dimension ${s.rotDim} is odd`);
  if (!Number.isInteger(s.pos0) || s.pos0 < 0) throw opError('rope_store', `pos0 = ${s.pos0} must be a non-negative integer`);
  for (const [name, r] of [['q', s.q], ['k', s.k]] as const) {
    if (r.heads > 0 && r.rotOff + s.rotDim > r.headStride) throw opError('rope_store', `${name} heads: dims [${r.rotOff}, ${r.rotOff + s.rotDim}) exceed the head stride ${r.headStride}`);
    if (r.heads > 0 && r.base + r.heads * r.headStride > s.srcStride) throw opError('rope_store', `${name} heads end past the src row of ${s.srcStride}`);
  }
  const kWidth = s.k.heads * s.k.headStride;
  if (s.v.base + s.v.width > s.srcStride) throw opError('rope_store', `the value slice ends past the src row of ${s.srcStride}`);
  if (s.k.dst + kWidth > s.dstStride || s.v.dst + s.v.width > s.dstStride) throw opError('rope_store', `the stored slices end past the cache row of ${s.dstStride}`);
  if (s.kv === 'f16') requireEven('rope_store', { kWidth, vWidth: s.v.width, kBase: s.k.base, vBase: s.v.base, kDst: s.k.dst, vDst: s.v.dst, srcStride: s.srcStride, dstStride: s.dstStride });
  requireBytes('rope_store', 'src', b.src, s.n * s.srcStride * 4);
  requireBytes('rope_store', 'cache', b.cache, (s.pos0 + s.n) * s.dstStride * kvBytesPerElement(s.kv));
  const voutStride = b.voutStride ?? s.v.width;
  if (s.vNorm) {
    if (!b.normW || !b.vout) throw opError('rope_store', 'a normalised value slice needs the norm weight and an output buffer');
    requireBytes('rope_store', 'norm weight', b.normW, weightBytes(s.v.width, s.vNorm.wF16));
    requireBytes('rope_store', 'vout', b.vout, ((s.n - 1) * voutStride + s.v.width) * 4);
  }
  const u = rt.uniform(params({
    n: s.n, pos0: s.pos0, src_stride: s.srcStride, rot_dim: s.rotDim, theta: s.theta,
    nq: s.q.heads, q_base: s.q.base, q_head_stride: s.q.headStride, q_rot_off: s.q.rotOff,
    nk: s.k.heads, k_base: s.k.base, k_head_stride: s.k.headStride, k_rot_off: s.k.rotOff, k_dst: s.k.dst,
    v_base: s.v.base, v_width: s.v.width, v_dst: s.v.dst, dst_stride: s.dstStride, eps: s.vNorm?.eps ?? 0, vout_stride: voutStride,
  }));
  const pipe = rt.pipeline(kernel, {
    INTERLEAVED: s.interleaved ? 1 : 0, KV_F16: s.kv === 'f16' ? 1 : 0, NORM: s.vNorm ? 1 : 0, W_F16: s.vNorm?.wF16 === false ? 0 : 1,
  });
  // Two distinct placeholders: one buffer may not be bound read-only and writable in one dispatch.
  rt.dispatch(pipe, [u, b.src, b.cache, s.vNorm ? b.normW! : unusedBinding(rt), s.vNorm ? b.vout! : unusedBinding(rt, 1)], grid2d(rt, s.n), 'rope_store');
}

export function ropeStoreFlops(s: RopeStoreShape): number {
  const rot = s.n * (s.q.heads + s.k.heads) * s.rotDim * 3;
  return rot + (s.vNorm ? s.n * s.v.width * 4 : 0);
}

/** Rotated elements read and written; stored slices read (f32) and written (cache format); the norm's weight and copy. */
export function ropeStoreBytes(s: RopeStoreShape): number {
  const rot = s.n * (s.q.heads + s.k.heads) * s.rotDim * 8;
  const stored = s.n * (s.k.heads * s.k.headStride + s.v.width) * (4 + kvBytesPerElement(s.kv));
  const norm = s.vNorm ? s.v.width * (s.vNorm.wF16 ? 2 : 4) + s.n * s.v.width * 4 : 0;
  return rot + stored + norm;
}
