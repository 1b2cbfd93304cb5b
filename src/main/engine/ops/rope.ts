// Rotary position embedding in place, Llama rotate-half or GPT-J interleaved, on a slice of each head.
import code from '../../../../kernels/rope.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { withRopeAngle } from './rope_angle';
import { grid2d, opError, requireBytes, requirePositiveInts, uniformStruct } from './uniforms';

const kernel: KernelSource = { name: 'rope', code: withRopeAngle(code) };
const params = uniformStruct({
  n_tokens: 'u32', n_heads: 'u32', head_stride: 'u32', offset: 'u32', rot_dim: 'u32', pos0: 'u32', token_stride: 'u32', base: 'u32',
  theta: 'f32', n_heads2: 'u32', base2: 'u32', offset2: 'u32',
});

export interface RopeShape {
  nTokens: number;
  nHeads: number;
  rotDim: number;
}

export interface RopeArgs extends RopeShape {
  /** f32, element (t, h, d) at t·tokenStride + base + h·headStride + offset + d; rotated in place. */
  x: GPUBuffer;
  headStride: number; // elements between heads (e.g. 192 for PLM query heads)
  offset?: number; // first rotated dim inside a head (e.g. 128 for PLM's q_rope, 512 for k_rope); default 0
  tokenStride?: number; // elements between tokens; default nHeads·headStride
  base?: number; // elements before head 0 of token 0 (e.g. where K starts in a fused QKV row); default 0
  pos0: number; // position of token 0; token t has position pos0 + t
  theta: number; // rope base, e.g. 10000
  interleaved: boolean; // GPT-J pairs (2i, 2i+1) instead of Llama's (i, i + rotDim/2)
  /** More heads rotated in the same dispatch, at their own base and offset (same strides, rotDim). */
  second?: { nHeads: number; base: number; offset: number };
}

export function rope(rt: GpuRuntime, a: RopeArgs): void {
  const offset = a.offset ?? 0;
  const tokenStride = a.tokenStride ?? a.nHeads * a.headStride;
  const base = a.base ?? 0;
  requirePositiveInts('rope', { nTokens: a.nTokens, nHeads: a.nHeads, rotDim: a.rotDim, headStride: a.headStride });
  if (a.rotDim % 2 !== 0) throw opError('rope', `rotary dimension ${a.rotDim} is odd`);
  if (offset + a.rotDim > a.headStride) throw opError('rope', `dims [${offset}, ${offset + a.rotDim}) exceed the head stride ${a.headStride}`);
  if (!Number.isInteger(a.pos0) || a.pos0 < 0) throw opError('rope', `pos0 = ${a.pos0} must be a non-negative integer`);
  requireBytes('rope', 'x', a.x, ((a.nTokens - 1) * tokenStride + base + (a.nHeads - 1) * a.headStride + offset + a.rotDim) * 4);
  const s2 = a.second ?? { nHeads: 0, base: 0, offset: 0 };
  if (a.second) {
    requirePositiveInts('rope', { 'second.nHeads': s2.nHeads });
    if (s2.offset + a.rotDim > a.headStride) throw opError('rope', `second run's dims [${s2.offset}, ${s2.offset + a.rotDim}) exceed the head stride ${a.headStride}`);
    requireBytes('rope', 'x', a.x, ((a.nTokens - 1) * tokenStride + s2.base + (s2.nHeads - 1) * a.headStride + s2.offset + a.rotDim) * 4);
  }
  const u = rt.uniform(params({
    n_tokens: a.nTokens, n_heads: a.nHeads, head_stride: a.headStride, offset, rot_dim: a.rotDim, pos0: a.pos0,
    token_stride: tokenStride, base, theta: a.theta, n_heads2: s2.nHeads, base2: s2.base, offset2: s2.offset,
  }));
  const pairs = a.nTokens * (a.nHeads + s2.nHeads) * (a.rotDim / 2);
  rt.dispatch(rt.pipeline(kernel, { INTERLEAVED: a.interleaved ? 1 : 0 }), [u, a.x], grid2d(rt, Math.ceil(pairs / 256)), 'rope');
}

export function flops(s: RopeShape): number {
  return s.nTokens * s.nHeads * s.rotDim * 3; // 4 mul + 2 add per pair, plus the angle
}

export function bytes(s: RopeShape): number {
  return s.nTokens * s.nHeads * s.rotDim * 8;
}
