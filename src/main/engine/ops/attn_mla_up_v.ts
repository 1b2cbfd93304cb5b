// Op: MLA value up-projection o_h = W_UV_h·a_h after attention over the latent (kernels/attn_mla_up_v.wgsl).
import code from '../../../../kernels/attn_mla_up_v.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { checkMla, type MlaShape } from './attn_mla_absorb_q';
import { packUniform, shapeError } from './attn_common';

const kernel: KernelSource = { name: 'attn_mla_up_v', code };
const NT = 4; // tokens per workgroup past one token

/** Work split of attn_mla_up_v: `tpr` lanes per row × `rpw` rows per workgroup, `nt` tokens per workgroup. */
export interface RowSplit {
  tpr: number;
  rpw: number;
  nt: number;
  /** Compile the row's word count into the pipeline so each lane's loads unroll (default: hardware drivers only). */
  unroll?: boolean;
}

/**
 * Decode (one token) reads ~2 MB of weights once and is bound by loads in flight: 32 lanes per row, 4
 * rows per workgroup (128 threads; PLM-1.8B d_c 512: 2 loads of 16 bytes per lane, 512 workgroups).
 * More tokens: 4 per workgroup (the weights re-read from L2 once per 4 tokens), 32 lanes × 4 rows
 * while the grid is small, 8 × 8 from 16 tokens. H200, PLM-1.8B shapes, random f16 weights past L2
 * (small-kbench): n = 1 4.35 µs (16×8: 5.0; not unrolled: 10.8; the former 16-lane one-pair-per-step
 * kernel 10.6); n = 4: 5.8 µs (8×8: 9.0; former 22); n = 32, 512: 12.9, 159 µs (32×4: 22, 289; former 34, 390).
 */
export function upVSplit(n: number): RowSplit {
  if (n === 1) return { tpr: 32, rpw: 4, nt: 1 };
  return n < 16 ? { tpr: 32, rpw: 4, nt: NT } : { tpr: 8, rpw: 8, nt: NT };
}

/**
 * a: [n, nh, dC] f32 (attention output over the latent: attn_prefill/attn_decode with dv = dC);
 * w: kv_b_proj [nh·(dNope+dV), dC] array<u32>; out: [n, nh, dV] f32, ready for o_proj.
 */
export function recordMlaUpV(rt: GpuRuntime, b: { a: GPUBuffer; w: GPUBuffer; out: GPUBuffer }, s: MlaShape): void {
  recordMlaUpVSplit(rt, b, s, upVSplit(s.n));
}

/** recordMlaUpV with a chosen work split (tests and tools/bench/small-kbench.ts). */
export function recordMlaUpVSplit(rt: GpuRuntime, b: { a: GPUBuffer; w: GPUBuffer; out: GPUBuffer }, s: MlaShape, split: RowSplit): void {
  checkMla('attn_mla_up_v', s);
  const ok = [split.tpr, split.rpw, split.nt].every((v) => Number.isInteger(v) && v >= 1) && split.nt <= NT && split.tpr * split.rpw <= 256;
  if (!ok) throw shapeError('attn_mla_up_v', `work split ${JSON.stringify(split)}: want nt 1..${NT}, tpr·rpw ≤ 256 threads`);
  if (s.n < 1) return;
  const u = rt.uniform(packUniform({ n: s.n, nh: s.nh, dNope: s.dNope, dV: s.dV, dC: s.dC, pad0: 0, pad1: 0, pad2: 0 }));
  const perWord = s.wF16 ? 8 : 4;
  const vec = s.dC % perWord === 0;
  const pipe = rt.pipeline(kernel, {
    W_F16: s.wF16 ? 1 : 0, VEC: vec ? 1 : 0, NT: split.nt, TPR: split.tpr, RPW: split.rpw, KW: vec && (split.unroll ?? !rt.software) ? s.dC / perWord : 0,
  });
  rt.dispatch(pipe, [u, b.a, b.w, b.out], [Math.ceil(s.dV / split.rpw), s.nh, Math.ceil(s.n / split.nt)], 'attn_mla_up_v');
}

export function mlaUpVFlops(s: MlaShape): number {
  return 2 * s.n * s.nh * s.dV * s.dC;
}

/** W_UV read once per workgroup's tokens (1 for decode, else NT), a in, o out. */
export function mlaUpVBytes(s: MlaShape): number {
  const wBytes = s.wF16 ? 2 : 4;
  return Math.ceil(s.n / NT) * s.nh * s.dV * s.dC * wBytes + 4 * s.n * s.nh * (s.dC + s.dV);
}
