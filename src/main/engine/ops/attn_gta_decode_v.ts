// Op: GTA value decoder fused with the sigmoid gate (kernels/attn_gta_decode_v.wgsl).
import code from '../../../../kernels/attn_gta_decode_v.wgsl?raw';
import { withRowSlices } from './row_slices';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { packUniform, requireEven, shapeError } from './attn_common';
import { checkColumnSplit, type ColumnSplit } from './attn_mla_absorb_q';

const source = withRowSlices(code);
const kernel: KernelSource = { name: 'attn_gta_decode_v', code: source };
const tokensKernel: KernelSource = { name: 'attn_gta_decode_v', code: source, entryPoint: 'main_tokens' };
const TOKENS_WG = 64; // main_tokens: threads per workgroup (a column pair each), 4 tokens per workgroup
const TOKENS_NT = 4;
const MAX_DL = 512;

/**
 * Decode (one token; GTA-1B: 0.33 MB of weights, 5 groups × 32 eight-column groups × 128 rows) is bound
 * by latency and loads in flight: 64 row slices × 2 column groups (128 threads, 2 loads of 16 bytes
 * each at d_l 128; 80 workgroups). Up to 32 tokens: 4 per workgroup, 32 × 4. More: 'tokens', the
 * main_tokens entry (the former kernel: a column pair per thread, 4 tokens per workgroup, the whole
 * sum in the thread). H200, GTA-1B shapes, random f16 weights past L2 (small-kbench): n = 1 4.6 µs
 * (32×4: 5.1; the former kernel 9.5); n = 4, 32: 5.6, 6.8 µs (former 11.0, 10.9); n = 512: former
 * 20 µs, the best splits of `main` 34.
 */
export function gtaDecodeVSplit(n: number): ColumnSplit | 'tokens' {
  if (n === 1) return { rs: 64, co: 2, nt: 1 };
  return n <= 32 ? { rs: 32, co: 4, nt: 4 } : 'tokens';
}

/** GTA-1B: nq 5, dl 128, e 2 (H = nq·e·dl = 1280). */
export interface GtaDecodeVShape {
  n: number; // tokens (prefill n, decode 1)
  nq: number; // query groups
  dl: number; // latent width (value_dim)
  e: number; // hidden_size / (nq·dl)
  wF16: boolean; // v_b_proj stored as packed f16 (else f32)
}

/**
 * a: [n, nq, dl] f32 (attention output per group, values = latent); w: v_b_proj's raw [e·dl, nq·dl]
 * tensor as array<u32>, read as [nq, dl, e·dl]; gate: [n, H] f32 (or H columns of wider rows), g_proj output (bias included) BEFORE the
 * sigmoid; out: [n, H] f32 = (tile(a_g, e) + a_g·W_vb[g]) ⊙ sigmoid(gate), the input of o_proj.
 */
export function recordGtaDecodeV(
  rt: GpuRuntime,
  b: { a: GPUBuffer; w: GPUBuffer; gate: GPUBuffer; out: GPUBuffer },
  s: GtaDecodeVShape,
  /** Where the gate sits: rows `stride` elements apart, from column `offset` (default: dense [n, H]). */
  gateAt: { stride?: number; offset?: number } = {},
): void {
  recordGtaDecodeVSplit(rt, b, s, gateAt, gtaDecodeVSplit(s.n));
}

/** recordGtaDecodeV with a chosen work split (tests and tools/bench/small-kbench.ts). */
export function recordGtaDecodeVSplit(
  rt: GpuRuntime,
  b: { a: GPUBuffer; w: GPUBuffer; gate: GPUBuffer; out: GPUBuffer },
  s: GtaDecodeVShape,
  gateAt: { stride?: number; offset?: number },
  split: ColumnSplit | 'tokens',
): void {
  requireEven('attn_gta_decode_v', { width: s.e * s.dl });
  if (s.dl > MAX_DL) throw shapeError('attn_gta_decode_v', `value_dim ${s.dl} exceeds ${MAX_DL}`);
  if (split !== 'tokens') checkColumnSplit('attn_gta_decode_v', split);
  if (s.n < 1) return;
  const H = s.nq * s.e * s.dl;
  const width = s.e * s.dl;
  const gateStride = gateAt.stride ?? H;
  const gateOff = gateAt.offset ?? 0;
  if (gateOff + H > gateStride) throw shapeError('attn_gta_decode_v', `the gate's ${H} values at column ${gateOff} exceed its row of ${gateStride}`);
  const u = rt.uniform(packUniform({ n: s.n, nq: s.nq, dl: s.dl, e: s.e, gateStride, gateOff, pad0: 0, pad1: 0 }));
  if (split === 'tokens') {
    const pipe = rt.pipeline(tokensKernel, { W_F16: s.wF16 ? 1 : 0, DL: s.dl });
    rt.dispatch(pipe, [u, b.a, b.w, b.gate, b.out], [Math.ceil(width / 2 / TOKENS_WG), s.nq, Math.ceil(s.n / TOKENS_NT)], 'attn_gta_decode_v');
    return;
  }
  const vec = width % (s.wF16 ? 8 : 4) === 0;
  const pipe = rt.pipeline(kernel, {
    W_F16: s.wF16 ? 1 : 0, VEC: vec ? 1 : 0, NT: split.nt, RS: split.rs, CO: split.co, KR: (split.unroll ?? !rt.software) ? s.dl : 0,
  });
  rt.dispatch(pipe, [u, b.a, b.w, b.gate, b.out], [Math.ceil(width / 8 / split.co), s.nq, Math.ceil(s.n / split.nt)], 'attn_gta_decode_v');
}

/** Multiply-adds ×2 of a_g·W_vb[g]; the residual add and the gate product counted as one FLOP each, the sigmoid as 4. */
export function gtaDecodeVFlops(s: GtaDecodeVShape): number {
  const H = s.nq * s.e * s.dl;
  return 2 * s.n * s.nq * s.dl * s.e * s.dl + s.n * H * 6;
}

/** W_vb read once per workgroup's tokens (1 for decode, else 4); a, gate in; out. */
export function gtaDecodeVBytes(s: GtaDecodeVShape): number {
  const H = s.nq * s.e * s.dl;
  return Math.ceil(s.n / TOKENS_NT) * s.nq * s.dl * s.e * s.dl * (s.wF16 ? 2 : 4) + 4 * s.n * (s.nq * s.dl + 2 * H);
}
