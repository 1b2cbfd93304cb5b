// Op: MLA value up-projection o_h = W_UV_h·a_h after attention over the latent (kernels/attn_mla_up_v.wgsl).
import code from '../../../../kernels/attn_mla_up_v.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { checkMla, type MlaShape } from './attn_mla_absorb_q';
import { packUniform } from './attn_common';

const kernel: KernelSource = { name: 'attn_mla_up_v', code };
const RPW = 4;
const NT = 4;

/**
 * a: [n, nh, dC] f32 (attention output over the latent: attn_prefill/attn_decode with dv = dC);
 * w: kv_b_proj [nh·(dNope+dV), dC] array<u32>; out: [n, nh, dV] f32, ready for o_proj.
 */
export function recordMlaUpV(rt: GpuRuntime, b: { a: GPUBuffer; w: GPUBuffer; out: GPUBuffer }, s: MlaShape): void {
  checkMla('attn_mla_up_v', s);
  if (s.n < 1) return;
  const u = rt.uniform(packUniform({ n: s.n, nh: s.nh, dNope: s.dNope, dV: s.dV, dC: s.dC, pad0: 0, pad1: 0, pad2: 0 }));
  const pipe = rt.pipeline(kernel, { W_F16: s.wF16 ? 1 : 0, DCL: s.dC });
  rt.dispatch(pipe, [u, b.a, b.w, b.out], [Math.ceil(s.dV / RPW), s.nh, Math.ceil(s.n / NT)], 'attn_mla_up_v');
}

export function mlaUpVFlops(s: MlaShape): number {
  return 2 * s.n * s.nh * s.dV * s.dC;
}

/** W_UV read once per NT tokens, a in, o out. */
export function mlaUpVBytes(s: MlaShape): number {
  const wBytes = s.wF16 ? 2 : 4;
  return Math.ceil(s.n / NT) * s.nh * s.dV * s.dC * wBytes + 4 * s.n * s.nh * (s.dC + s.dV);
}
