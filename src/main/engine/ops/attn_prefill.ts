// Op: causal flash attention for n new tokens over the KV cache (MHA, GQA, GTA keys + latent, absorbed
// MLA), optionally tapping the probabilities. Kernel: kernels/attn_prefill.wgsl.
import code from '../../../../kernels/attn_prefill.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { headUnits, kvBytesPerElement, packUniform, requireEven, resolveView, shapeError, type CacheView, type KvFormat } from './attn_common';
import { unusedBinding } from './uniforms';

const kernel: KernelSource = { name: 'attn_prefill', code };
const BQ = 16; // rows per workgroup, as in the kernel
const MAX_DV = 512;

export interface AttnShape {
  n: number; // new tokens (queries), at positions pos0 .. pos0+n-1
  pos0: number; // keys before them in the cache; the kernel reads rows 0 .. pos0+n-1
  hq: number; // query heads (GTA: query groups)
  hk: number; // key heads
  hv?: number; // value heads (default hk; GTA: latent groups n_c)
  dk: number; // key width; even
  dv: number; // value width; even, ≤ 512
  scale: number; // applied to q·k
  kv: KvFormat;
  kView?: CacheView; // default dense [n_ctx, hk, dk]
  vView?: CacheView; // default dense [n_ctx, hv, dv]
}

export interface AttnPrefillBuffers {
  q: GPUBuffer; // [n, hq, dk] f32
  k: GPUBuffer; // key cache, array<u32> in `kv` format (rows 0 .. pos0+n-1 already written)
  v: GPUBuffer; // value cache (may be the same buffer as k: MLA's latent)
  out: GPUBuffer; // [n, hq, dv] f32
  probs?: GPUBuffer; // [hq, n, pos0+n] f32: when given, the tap variant fills it
}

/** Validated uniform fields shared by prefill and decode. */
export function attnParams(op: string, s: AttnShape): Record<string, number> & { gu: number; units: number } {
  const hv = s.hv ?? s.hk;
  const { hpk, hpv, gu, units } = headUnits(op, s.hq, s.hk, hv);
  if (s.dv > MAX_DV) throw shapeError(op, `value width ${s.dv} exceeds ${MAX_DV}`);
  const k = resolveView(s.kView, s.hk, s.dk);
  const v = resolveView(s.vView, hv, s.dv);
  requireEven(op, { dk: s.dk, dv: s.dv, kRow: k.row, kHead: k.head, kOff: k.off, vRow: v.row, vHead: v.head, vOff: v.off });
  return { gu, units, hpk, hpv, kRow: k.row, kHead: k.head, kOff: k.off, vRow: v.row, vHead: v.head, vOff: v.off };
}

export function recordAttnPrefill(rt: GpuRuntime, b: AttnPrefillBuffers, s: AttnShape): void {
  if (s.n < 1) return;
  const a = attnParams('attn_prefill', s);
  const u = rt.uniform(
    packUniform(
      { n: s.n, pos0: s.pos0, hq: s.hq, gu: a.gu, hpk: a.hpk, hpv: a.hpv, kRow: a.kRow, kHead: a.kHead, kOff: a.kOff, vRow: a.vRow, vHead: a.vHead, vOff: a.vOff, scale: s.scale },
      ['scale'],
    ),
  );
  const tap = b.probs !== undefined;
  const pipe = rt.pipeline(kernel, { KV_F16: s.kv === 'f16' ? 1 : 0, TAP: tap ? 1 : 0, DK: s.dk, DV: s.dv });
  const rowTiles = Math.ceil((s.n * a.gu) / BQ);
  rt.dispatch(pipe, [u, b.q, b.k, b.v, b.out, b.probs ?? unusedBinding(rt, 1)], [rowTiles, a.units], tap ? 'attn_prefill_tap' : 'attn_prefill');
}

/** Real multiply-adds ×2 over the causal triangle only (masked keys are not counted). */
export function attnPrefillFlops(s: AttnShape): number {
  const pairs = s.n * s.pos0 + (s.n * (s.n + 1)) / 2; // visible (query, key) pairs per head
  return 2 * s.hq * pairs * (s.dk + s.dv);
}

/** Cache read once per head unit for the causal rows, plus q, out and the tap when requested. */
export function attnPrefillBytes(s: AttnShape, tap = false): number {
  const hv = s.hv ?? s.hk;
  const t = s.pos0 + s.n;
  const e = kvBytesPerElement(s.kv);
  const units = headUnits('attn_prefill', s.hq, s.hk, hv).units;
  return units * t * (s.dk + s.dv) * e + 4 * s.n * s.hq * (s.dk + s.dv) + (tap ? 4 * s.hq * s.n * t : 0);
}
