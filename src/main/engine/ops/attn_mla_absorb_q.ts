// Op: absorbed MLA query, q̃_h = [W_UK_hᵀ·q_nope_h ‖ q_rope_h] (kernels/attn_mla_absorb_q.wgsl).
import code from '../../../../kernels/attn_mla_absorb_q.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { packUniform, requireEven, shapeError } from './attn_common';

const kernel: KernelSource = { name: 'attn_mla_absorb_q', code };
const WG = 64;
const NT = 4;
const MAX_NOPE = 256;

/** MLA dimensions, PLM-1.8B: nh 16, dNope 128, dRope 64, dV 128, dC 512. */
export interface MlaShape {
  n: number; // tokens
  nh: number;
  dNope: number;
  dRope: number;
  dV: number;
  dC: number; // kv_lora_rank
  wF16: boolean; // kv_b_proj stored as packed f16 (else f32)
}

export function checkMla(op: string, s: MlaShape): void {
  requireEven(op, { dC: s.dC, dRope: s.dRope });
  if (s.dNope > MAX_NOPE) throw shapeError(op, `qk_nope_head_dim ${s.dNope} exceeds ${MAX_NOPE}`);
}

/**
 * q: [n, nh, dNope + dRope] f32 (q_proj output per head [q_nope ‖ q_rope], RoPE applied);
 * w: kv_b_proj [nh·(dNope+dV), dC] array<u32>; out: [n, nh, dC + dRope] f32, the query for
 * attn_prefill / attn_decode over the latent cache (dk = dC + dRope, scale 1/sqrt(dNope + dRope)).
 */
export function recordMlaAbsorbQ(rt: GpuRuntime, b: { q: GPUBuffer; w: GPUBuffer; out: GPUBuffer }, s: MlaShape): void {
  checkMla('attn_mla_absorb_q', s);
  if (s.n < 1) return;
  const u = rt.uniform(packUniform({ n: s.n, nh: s.nh, dNope: s.dNope, dRope: s.dRope, dV: s.dV, dC: s.dC, pad0: 0, pad1: 0 }));
  const pipe = rt.pipeline(kernel, { W_F16: s.wF16 ? 1 : 0, DNOPE: s.dNope });
  rt.dispatch(pipe, [u, b.q, b.w, b.out], [Math.ceil((s.dC + s.dRope) / 2 / WG), s.nh, Math.ceil(s.n / NT)], 'attn_mla_absorb_q');
}

/** Multiply-adds ×2 of the absorption (the rope copy is free). */
export function mlaAbsorbQFlops(s: MlaShape): number {
  return 2 * s.n * s.nh * s.dNope * s.dC;
}

/** W_UK read once per NT tokens, q in, q̃ out. */
export function mlaAbsorbQBytes(s: MlaShape): number {
  const wBytes = s.wF16 ? 2 : 4;
  return Math.ceil(s.n / NT) * s.nh * s.dNope * s.dC * wBytes + 4 * s.n * s.nh * (s.dNope + s.dRope + s.dC + s.dRope);
}
