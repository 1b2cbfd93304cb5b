// Op: absorbed MLA query, q̃_h = [W_UK_hᵀ·q_nope_h ‖ q_rope_h] (kernels/attn_mla_absorb_q.wgsl).
import code from '../../../../kernels/attn_mla_absorb_q.wgsl?raw';
import { withRowSlices } from './row_slices';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { withRopeAngle } from './rope_angle';
import { kvBytesPerElement, packUniform, requireEven, shapeError, type KvFormat } from './attn_common';
import { requireBytes, unusedBinding, weightBytes } from './uniforms';

const source = withRowSlices(withRopeAngle(code));
const kernel: KernelSource = { name: 'attn_mla_absorb_q', code: source };
const tokensKernel: KernelSource = { name: 'attn_mla_absorb_q', code: source, entryPoint: 'main_tokens' };
const NT = 4; // most tokens per workgroup of `main`
const TOKENS_WG = 64; // main_tokens: threads per workgroup (a column pair each), 4 tokens per workgroup
const TOKENS_NT = 4;
const MAX_NOPE = 256;

/**
 * Work split of the column kernels (absorb_q here, attn_gta_decode_v alike): `rs` row slices × `co`
 * 8-column groups per workgroup (rs·co threads), `nt` tokens per workgroup.
 */
export interface ColumnSplit {
  rs: number;
  co: number;
  nt: number;
  /**
   * Compile the row count into the pipeline so the row loop unrolls. Default: on hardware drivers, off
   * on software ones (lavapipe), where unrolled loops compile slowly; tests force it to cover both.
   */
  unroll?: boolean;
}

/** The kernels keep [rs, co·8·nt] partial sums in workgroup memory: at most 16 KiB (lavapipe has 32). */
export function checkColumnSplit(op: string, sp: ColumnSplit): void {
  const ok = [sp.rs, sp.co, sp.nt].every((v) => Number.isInteger(v) && v >= 1) && sp.nt <= NT && sp.rs * sp.co <= 256 && sp.rs * sp.co * 8 * sp.nt <= 4096;
  if (!ok) throw shapeError(op, `work split ${JSON.stringify(sp)}: want nt 1..${NT}, rs·co ≤ 256 threads, rs·co·8·nt ≤ 4096 partial sums`);
}

/**
 * Decode (one token) reads ~2 MB of weights once and is bound by loads in flight: 64 row slices × 2
 * column groups (128 threads, 2 loads of 16 bytes each at d_nope 128; PLM-1.8B: 512 workgroups).
 * Up to 4 tokens: one workgroup for all, 32 × 4. More: 'tokens', the main_tokens entry (the former
 * kernel: a column pair per thread, 4 tokens per workgroup, the whole sum in the thread).
 * H200, PLM-1.8B shapes, random f16 weights past L2 (small-kbench): n = 1 5.3 µs (32×4: 5.6, 16×8:
 * 7.3; the former kernel 12.5); n = 4: 6.8 µs (former 13.7); n = 32, 512: former 13.3, 71 µs, the
 * best splits of `main` 17, 147.
 */
export function absorbQSplit(n: number): ColumnSplit | 'tokens' {
  if (n === 1) return { rs: 64, co: 2, nt: 1 };
  return n <= NT ? { rs: 32, co: 4, nt: NT } : 'tokens';
}

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
export function recordMlaAbsorbQ(rt: GpuRuntime, b: { q: GPUBuffer; w: GPUBuffer; out: GPUBuffer }, s: MlaShape, fuse?: AbsorbFuse): void {
  recordMlaAbsorbQSplit(rt, b, s, absorbQSplit(s.n), fuse);
}

/**
 * One decode token whose q is still the raw fused projection row [q (nh·(dNope+dRope)) ‖ c (dC) ‖
 * k_rope (dRope)] (no q_lora_rank): the dispatch also does rope_store's work — q_rope turned (GPT-J
 * pairs) as it is copied, and the cache row [RMSNorm(c)·normW ‖ rope(k_rope)] written at cacheBase.
 */
export interface AbsorbFuse {
  cache: GPUBuffer; // latent cache, array<u32> in `kv` format
  kv: KvFormat;
  cacheBase: number; // elements: pos · row width
  normW: GPUBuffer; // kv_a_layernorm.weight [dC], like kv_b_proj
  pos: number;
  theta: number;
  eps: number;
}

/** recordMlaAbsorbQ with a chosen work split (tests and tools/bench/small-kbench.ts). */
export function recordMlaAbsorbQSplit(rt: GpuRuntime, b: { q: GPUBuffer; w: GPUBuffer; out: GPUBuffer }, s: MlaShape, split: ColumnSplit | 'tokens', fuse?: AbsorbFuse): void {
  checkMla('attn_mla_absorb_q', s);
  if (split !== 'tokens') checkColumnSplit('attn_mla_absorb_q', split);
  if (s.n < 1) return;
  if (fuse) {
    if (s.n !== 1 || split === 'tokens' || split.nt !== 1) throw shapeError('attn_mla_absorb_q', 'the fused cache store takes one token on the split kernel');
    const wgs = split.rs * split.co;
    if (!Number.isInteger(Math.log2(wgs))) throw shapeError('attn_mla_absorb_q', `the fused cache store needs a power-of-two workgroup, not ${wgs}`);
    requireBytes('attn_mla_absorb_q', 'q row', b.q, (s.nh * (s.dNope + s.dRope) + s.dC + s.dRope) * 4);
    requireBytes('attn_mla_absorb_q', 'cache', fuse.cache, (fuse.cacheBase + s.dC + s.dRope) * kvBytesPerElement(fuse.kv));
    requireBytes('attn_mla_absorb_q', 'norm weight', fuse.normW, weightBytes(s.dC, s.wF16));
  }
  const u = rt.uniform(packUniform(
    { n: s.n, nh: s.nh, dNope: s.dNope, dRope: s.dRope, dV: s.dV, dC: s.dC, pos: fuse?.pos ?? 0, cacheBase: fuse?.cacheBase ?? 0, theta: fuse?.theta ?? 0, eps: fuse?.eps ?? 0, pad0: 0, pad1: 0 },
    ['theta', 'eps'],
  ));
  if (split === 'tokens') {
    const pipe = rt.pipeline(tokensKernel, { W_F16: s.wF16 ? 1 : 0, DNOPE: s.dNope });
    const grid: [number, number, number] = [Math.ceil((s.dC + s.dRope) / 2 / TOKENS_WG), s.nh, Math.ceil(s.n / TOKENS_NT)];
    rt.dispatch(pipe, [u, b.q, b.w, b.out], grid, 'attn_mla_absorb_q');
    return;
  }
  const vec = s.dC % (s.wF16 ? 8 : 4) === 0;
  const pipe = rt.pipeline(kernel, {
    W_F16: s.wF16 ? 1 : 0, VEC: vec ? 1 : 0, NT: split.nt, RS: split.rs, CO: split.co, KR: (split.unroll ?? !rt.software) ? s.dNope : 0,
    FUSE: fuse ? 1 : 0, KV_F16: fuse?.kv === 'f32' ? 0 : 1,
  });
  const grid: [number, number, number] = [Math.ceil(s.dC / 8 / split.co), s.nh + (fuse ? 1 : 0), Math.ceil(s.n / split.nt)];
  rt.dispatch(pipe, [u, b.q, b.w, b.out, fuse ? fuse.cache : unusedBinding(rt, 1), fuse ? fuse.normW : unusedBinding(rt)], grid, 'attn_mla_absorb_q');
}

/** Multiply-adds ×2 of the absorption (the rope copy is free). */
export function mlaAbsorbQFlops(s: MlaShape): number {
  return 2 * s.n * s.nh * s.dNope * s.dC;
}

/** W_UK read once per workgroup's tokens (1 for decode, else 4), q in, q̃ out. */
export function mlaAbsorbQBytes(s: MlaShape): number {
  const wBytes = s.wF16 ? 2 : 4;
  return Math.ceil(s.n / TOKENS_NT) * s.nh * s.dNope * s.dC * wBytes + 4 * s.n * s.nh * (s.dNope + s.dRope + s.dC + s.dRope);
}
